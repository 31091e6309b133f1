"""The goals in the shared database, through the expand/contract example of migrations/.

The schema a release uses follows its version, as the Node sample's does (app/src/store/goalStore.ts): below 2.0.0
the column `title` and the read routine v1 (get_goals_v1 / dbo.GetGoals_v1, migrations/0001); from 2.0.0 on the
column `name` and v2 (migrations/0002, expand), so the contract migration (0004, requires-version 2.0.0) can drop
what 1.x used. The app never changes the schema: the product's runner does.

Drivers (Debian packages, loaded only when chosen): psycopg2 for postgres:// and postgresql://, pymssql (FreeTDS) for
mssql:// and sqlserver://. A small pool of connections per process; reads and the start check are retried on
transient errors with bounds, writes are not (an INSERT whose answer was lost may have committed).
"""
import atexit
import datetime
import os
import re
import tempfile
import threading
import time
from contextlib import contextmanager

from .config import boolean_option

MAX_TITLE_LENGTH = 200
POOL_SIZE = 5

# Azure SQL's transient errors (Microsoft's list, as migrator/transient.ts) and 1205 (deadlock victim).
MSSQL_TRANSIENT = {926, 4060, 40197, 40501, 40613, 49918, 49919, 49920, 4221, 615, 1205}
# FreeTDS's own: server unavailable (20009), timeouts (20002, 20003), read/write to the server failed (20004, 20006).
MSSQL_UNREACHABLE = {20002, 20003, 20004, 20006, 20009}
MSSQL_REFUSED = {18456: "login failed: the user or password in DATABASE_URL is wrong, or the user does not exist in this database",
                 40615: "the server's firewall refuses this VM's address", 40914: "no virtual-network rule admits this VM's subnet"}
PG_TRANSIENT = {"57P03": "the server is starting up", "53300": "too many connections", "40001": "serialization failure", "40P01": "deadlock"}
PG_REFUSED = {"28P01": "password authentication failed: the user or password in DATABASE_URL is wrong",
              "28000": "the server refuses this user or client (role or pg_hba.conf)", "3D000": "the database in DATABASE_URL does not exist"}
# libpq reports a failed connection as text only (psycopg2 gives no SQLSTATE then): the server's FATAL line says which.
PG_CONNECT_MESSAGES = [
    (re.compile(r"password authentication failed"), "28P01"),
    (re.compile(r"no pg_hba\.conf entry|role \".*\" does not exist"), "28000"),
    (re.compile(r"FATAL:\s+database \".*\" does not exist"), "3D000"),
    (re.compile(r"the database system is (starting up|shutting down)"), "57P03"),
    (re.compile(r"too many (clients|connections)"), "53300"),
]


def schema_for(version):
    """(title column, read routine version) for a release version: 2.0.0 and its pre-releases use the new ones."""
    major, minor, patch = (int(x) for x in re.match(r"(\d+)\.(\d+)\.(\d+)", version).groups())
    return ("name", 2) if (major, minor, patch) >= (2, 0, 0) else ("title", 1)


def classify(err):
    """('transient' | 'unreachable' | 'refused' | 'other', code, meaning) of a driver error."""
    module = type(err).__module__ or ""
    pgcode = getattr(err, "pgcode", None)
    if module.startswith("psycopg2") and pgcode is None:
        pgcode = next((code for pattern, code in PG_CONNECT_MESSAGES if pattern.search(str(err))), None)
    if pgcode in PG_REFUSED:
        return "refused", pgcode, PG_REFUSED[pgcode]
    if pgcode in PG_TRANSIENT:
        return "transient", pgcode, PG_TRANSIENT[pgcode]
    if module.startswith("psycopg2") and pgcode is None and type(err).__name__ in ("OperationalError", "InterfaceError"):
        return "unreachable", "connection", "no answer (connection refused, lost or timed out)"
    if module.startswith("pymssql") or module.startswith("_mssql"):
        numbers = _numbers_in(err.args)
        for n in numbers:
            if n in MSSQL_REFUSED:
                return "refused", str(n), MSSQL_REFUSED[n]
        for n in numbers:
            if n in MSSQL_TRANSIENT:
                return "transient", str(n), "Azure SQL transient error"
        for n in numbers:
            if n in MSSQL_UNREACHABLE:
                return "unreachable", str(n), "no answer from the server"
    if isinstance(err, PoolTimeout):
        return "unreachable", "pool", str(err)
    return "other", None, None


def is_driver_error(err):
    """True for an error of psycopg2 or pymssql (a failed query or connection), as opposed to a bug of the app."""
    return isinstance(err, PoolTimeout) or (type(err).__module__ or "").startswith(("psycopg2", "pymssql", "_mssql"))


def _numbers_in(value, depth=0):
    if isinstance(value, bool) or depth > 3:
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, (tuple, list)):
        return [n for v in value for n in _numbers_in(v, depth + 1)]
    if isinstance(value, (bytes, str)):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        return [int(m) for m in re.findall(r"(?:message|Msg)\s+(\d+)", text)]
    return []


def with_retry(fn, attempts, base_delay, max_delay, on_retry):
    """fn(), again after a transient or unreachable error (a fresh connection each time), at most `attempts` times
    in all, waiting base_delay doubling to max_delay seconds; a refusal or any other error is raised at once."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as err:  # noqa: BLE001 - classified below, re-raised unless worth waiting out
            kind, code, _ = classify(err)
            if attempt >= attempts or kind not in ("transient", "unreachable"):
                raise
            delay = min(max_delay, base_delay * 2 ** (attempt - 1))
            on_retry(code=code, attempt=attempt, attempts=attempts, retryInMs=int(delay * 1000), message=str(err).strip()[:300])
            time.sleep(delay)
    raise AssertionError("unreachable")


class PoolTimeout(Exception):
    pass


class Pool:
    """At most `size` connections, reused LIFO; a connection that saw an error is closed, not reused.

    Not psycopg2.pool.ThreadedConnectionPool: it raises PoolError when all connections are out instead of waiting,
    and pymssql has no pool; this one serves both drivers the same way.
    """

    def __init__(self, connect, size=POOL_SIZE, wait_seconds=15):
        self._connect = connect
        self._idle = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)
        self._wait = wait_seconds

    @contextmanager
    def connection(self):
        if not self._slots.acquire(timeout=self._wait):
            raise PoolTimeout(f"no database connection free within {self._wait} s")
        conn = None
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = self._connect()
            yield conn
        except BaseException:
            if conn is not None:
                _close_quietly(conn)
                conn = None
            raise
        finally:
            if conn is not None:
                with self._lock:
                    self._idle.append(conn)
            self._slots.release()


def _close_quietly(conn):
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - the connection is being dropped anyway
        pass


def iso_utc(value):
    """A database timestamp as JavaScript's toISOString writes it: 2026-12-01T19:58:25.123Z."""
    if isinstance(value, bytes):
        value = value.decode("ascii")
    if isinstance(value, str):  # FreeTDS's DB-Library may hand DATETIME2 over as text: 2026-12-01 19:58:25.1230000
        value = datetime.datetime.fromisoformat(value.strip()[:26])
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)  # SQL Server's SYSUTCDATETIME(): UTC without an offset
    return value.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _goal(row):
    return {"id": int(row[0]), "title": str(row[1]), "createdAt": iso_utc(row[2])}


class Store:
    """The goals: ping (start check), list (newest first), add. SQL differs per dialect; the rest is shared."""

    def __init__(self, db, version, log_retry):
        self.dialect = db.dialect
        self.column, self.routine = schema_for(version)
        self._log_retry = log_retry
        self._pool = Pool(_postgres_connect(db) if db.dialect == "postgres" else _mssql_connect(db))

    def _run(self, work):
        with self._pool.connection() as conn:
            cur = conn.cursor()
            try:
                return work(cur)
            finally:
                cur.close()

    def ping(self):
        return self._run(lambda cur: (cur.execute("SELECT 1"), cur.fetchall()))

    def list(self, limit):
        def read(cur):
            if self.dialect == "postgres":
                cur.execute(f'SELECT id, "{self.column}" AS title, created_at FROM get_goals_v{self.routine}(%s)', (limit,))
            else:
                cur.execute(f"EXEC dbo.GetGoals_v{self.routine} @limit = %d", (limit,))
            return [_goal(r) for r in cur.fetchall()]

        return with_retry(lambda: self._run(read), 3, 0.2, 2.0, self._log_retry)

    def add(self, title):
        def write(cur):
            if self.dialect == "postgres":
                cur.execute(f'INSERT INTO goals ("{self.column}") VALUES (%s) RETURNING id, "{self.column}", created_at', (title,))
            else:
                # No OUTPUT clause: SQL Server refuses it on a table with triggers (migrations/0002 adds one).
                cur.execute(
                    f"SET NOCOUNT ON; INSERT INTO dbo.goals ([{self.column}]) VALUES (%s); "
                    f"SELECT id, [{self.column}], created_at FROM dbo.goals WHERE id = SCOPE_IDENTITY();",
                    (title,),
                )
            return _goal(cur.fetchone())

        return self._run(write)


def _postgres_connect(db):
    import psycopg2  # python3-psycopg2

    # Query options (sslmode, connect_timeout, …) go to libpq as they are; it refuses the ones it does not know.
    params = {"connect_timeout": 5, "application_name": "goals-python", **db.options}

    def connect():
        conn = psycopg2.connect(host=db.host, port=db.port, user=db.user, password=db.password, dbname=db.database, **params)
        conn.autocommit = True
        return conn

    return connect


def _mssql_connect(db):
    import pymssql  # python3-pymssql (FreeTDS)

    server = _freetds_section(db)

    def connect():
        return pymssql.connect(server=server, port=str(db.port), user=db.user, password=db.password, database=db.database,
                               login_timeout=15, timeout=15, appname="goals-python", autocommit=True)

    return connect


#: Where Debian keeps the system's CA certificates (package ca-certificates).
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def freetds_conf(db, section):
    """The freetds.conf text for the server of `db`: TLS as the URL asks (encrypt, default true, as Azure SQL needs).

    pymssql 2.2 (Debian 12) has no encryption argument: FreeTDS takes it from its configuration file. encrypt=true
    requires TLS and checks the server's certificate and host name against the system's CAs, unless
    trustServerCertificate=true; encrypt=false still encrypts when the server asks (Azure SQL always does).
    """
    encrypt = boolean_option(db, "encrypt", True)
    trust = boolean_option(db, "trustServerCertificate", False)
    lines = [f"[{section}]", f"host = {db.host}", f"port = {db.port}", "tds version = 7.4",
             f"encryption = {'require' if encrypt else 'request'}"]
    if encrypt and not trust:
        lines += [f"ca file = {CA_BUNDLE}", "check certificate hostname = yes"]
    return "\n".join(lines) + "\n"


def _freetds_section(db):
    section = "goals-db"
    fd, path = tempfile.mkstemp(prefix="goals-freetds-", suffix=".conf")  # PrivateTmp under systemd; holds no secret
    with os.fdopen(fd, "w") as f:
        f.write(freetds_conf(db, section))
    atexit.register(lambda: os.path.exists(path) and os.remove(path))
    os.environ["FREETDSCONF"] = path  # read by FreeTDS at every connect
    return section
