"""The app's settings, read once from the environment the product gives (docs/app-contract.md, section 5).

read_config(env) returns a Config, or raises ConfigError naming every bad variable, its value (a URL with its
password masked) and the fix; the process then exits before it listens.
"""
import json
import os
import re
import urllib.parse
from dataclasses import dataclass, field

COLORS = ("blue", "green")
FAULTS = ("unhealthy", "wrong-version", "crash-on-start", "errors-after-flip")
DEFAULT_PORT = 8080
#: The address the app listens on: the product's local proxy on the VM connects there.
HOST = "127.0.0.1"

_SCHEMES = {"postgres": "postgres", "postgresql": "postgres", "mssql": "mssql", "sqlserver": "mssql"}
_DEFAULT_DB_PORTS = {"postgres": 5432, "mssql": 1433}
_EXAMPLES = "e.g. postgres://user:password@127.0.0.1:5432/app or mssql://user:password@myserver.database.windows.net:1433/app?encrypt=true"
# Semantic Versioning 2.0.0 (semver.org), as release/versions.ts accepts it.
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


class ConfigError(Exception):
    """One or more bad settings; str() lists each with its fix."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("the app's settings are invalid:\n  - " + "\n  - ".join(self.problems))


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed DATABASE_URL. `masked` is safe to print; the password is never printed."""

    dialect: str  # "postgres" or "mssql"
    host: str
    port: int
    database: str
    user: str
    password: str = field(repr=False)
    options: dict = field(default_factory=dict)
    masked: str = ""


@dataclass(frozen=True)
class Config:
    color: str
    #: The release's version (APP_VERSION, else the manifest's): decides the schema the app reads and writes.
    version: str
    port: int
    database: DatabaseUrl
    fault: str = None
    #: Under APP_FAULT=errors-after-flip: the file whose existence means "this build takes production traffic".
    fault_marker: str = None

    @property
    def reported_version(self):
        """What /version and x-served-by say: the version, or a wrong one under APP_FAULT=wrong-version."""
        return "0.0.0-wrong-version" if self.fault == "wrong-version" else self.version

    @property
    def served_by(self):
        return f"{self.color}@{self.reported_version}"


def mask_url(url):
    """The URL with its password replaced by ***; what cannot be parsed is reduced to its scheme."""
    try:
        parts = urllib.parse.urlsplit(url)
        netloc = parts.netloc
    except ValueError:
        return f"{url.split(':', 1)[0]}://…"
    if "@" in netloc:
        userinfo, hostport = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{hostport}"
    elif re.search(r":(?![0-9]*$)", netloc):
        # user:password with the @host forgotten: mask everything after the first ":".
        netloc = netloc.split(":", 1)[0] + ":***"
    query = re.sub(r"((?:^|&)(?:password|pwd)=)[^&]*", r"\1***", parts.query, flags=re.I)
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def parse_database_url(url):
    """Parses DATABASE_URL (user, password and database URL-decoded). Raises ValueError with the fix; never the password."""
    if not url:
        raise ValueError(f"DATABASE_URL is not set; set it to the app user's connection URL ({_EXAMPLES}).")
    masked = mask_url(url)
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    dialect = _SCHEMES.get(scheme)
    if dialect is None:
        raise ValueError(f'DATABASE_URL has scheme "{scheme}", which no driver of this app handles; use postgres://, postgresql://, mssql:// or sqlserver:// ({_EXAMPLES}).')
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        # Not the parser's message: it can quote a piece of the password ("Port could not be cast … 'secret'").
        raise ValueError(f'DATABASE_URL "{masked}" is not a valid URL: its port is not a number, or the password holds an unencoded character (percent-encode it: @ → %40, : → %3A, / → %2F; {_EXAMPLES}).') from None
    database = urllib.parse.unquote(parts.path.lstrip("/"))
    if not parts.hostname or not database or "/" in database:
        raise ValueError(f'DATABASE_URL "{masked}" must name a host and one database ({_EXAMPLES}).')
    options = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    return DatabaseUrl(
        dialect=dialect,
        host=parts.hostname,
        port=port or _DEFAULT_DB_PORTS[dialect],
        database=database,
        user=urllib.parse.unquote(parts.username or ""),
        password=urllib.parse.unquote(parts.password or ""),
        options=options,
        masked=masked,
    )


def boolean_option(db, name, fallback):
    """A true/false option of the URL in any letter case; anything else is refused (a typo must not turn TLS off)."""
    value = db.options.get(name)
    if value is None:
        return fallback
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f'DATABASE_URL "{db.masked}" has {name}={value}: use {name}=true or {name}=false.')


def manifest_version(release_dir):
    """The version app:pack wrote into the release's bluegreen.json, or None."""
    try:
        with open(os.path.join(release_dir, "bluegreen.json"), encoding="utf-8") as f:
            return json.load(f).get("version")
    except (OSError, ValueError, AttributeError):
        return None


def read_config(env, release_dir):
    """Reads and checks the settings; raises ConfigError listing every problem."""
    problems = []
    color = env.get("APP_COLOR", "")
    if color not in COLORS:
        problems.append(f'APP_COLOR={json.dumps(color)} must be "blue" or "green"; the product writes it to /etc/bluegreen/app.env (APP_COLOR=blue).')

    version = env.get("APP_VERSION") or manifest_version(release_dir) or ""
    if not _SEMVER.match(version):
        problems.append(f"APP_VERSION={json.dumps(version)} is not a semantic version; the product sets it to the release's version (APP_VERSION=1.4.2).")

    raw_port = env.get("PORT", "")
    port = DEFAULT_PORT
    if raw_port != "":
        if not re.fullmatch(r"[0-9]{1,5}", raw_port) or not 1 <= int(raw_port) <= 65535:
            problems.append(f"PORT={json.dumps(raw_port)} is not a port from 1 to 65535; the product sets it (PORT={DEFAULT_PORT}).")
        else:
            port = int(raw_port)

    database = None
    try:
        database = parse_database_url(env.get("DATABASE_URL", ""))
        if database.dialect == "mssql":
            boolean_option(database, "encrypt", True)
            boolean_option(database, "trustServerCertificate", False)
            if "authentication" in database.options:
                raise ValueError(f'DATABASE_URL "{database.masked}" has authentication={database.options["authentication"]}; this app logs in with the user and password of the URL only: remove the option.')
    except ValueError as e:
        problems.append(str(e))

    fault = env.get("APP_FAULT") or None
    if fault is not None and fault not in FAULTS:
        problems.append(f"APP_FAULT={json.dumps(fault)} is not a fault; use one of {', '.join(FAULTS)}, or leave it unset.")
    fault_marker = env.get("APP_FAULT_MARKER") or None
    if fault == "errors-after-flip" and fault_marker is None:
        problems.append("APP_FAULT=errors-after-flip needs APP_FAULT_MARKER, the file whose existence turns the errors on; "
                        "set e.g. APP_FAULT_MARKER=/tmp/bluegreen-production.")

    if problems:
        raise ConfigError(problems)
    return Config(color=color, version=version, port=port, database=database, fault=fault,
                  fault_marker=fault_marker if fault == "errors-after-flip" else None)
