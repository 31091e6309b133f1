/**
 * The database URL: which dialect it names and how to print it without its password.
 *
 *   postgres://user:password@127.0.0.1:5432/app          (also postgresql://)
 *   mssql://user:password@myserver.database.windows.net:1433/app?encrypt=true   (also sqlserver://)
 *
 * Special characters in the user name or password must be percent-encoded (`@` → `%40`, `:` → `%3A`, `/` → `%2F`).
 */

/** The two database engines the runner speaks. */
export type Dialect = "postgres" | "mssql";

/** A parsed database URL. */
export interface DatabaseUrl {
    readonly dialect: Dialect;
    /** The URL as given, for the driver. Never print it: print `masked`. */
    readonly url: string;
    /** The URL with the password replaced by `***`, safe to print. */
    readonly masked: string;
    readonly host: string;
    /** The port, or undefined for the dialect's default (5432 / 1433). */
    readonly port?: number;
    readonly database: string;
    readonly user: string;
    readonly password: string;
    /** Query-string options, e.g. `{ encrypt: "true", trustServerCertificate: "false" }`. */
    readonly options: Readonly<Record<string, string>>;
}

/** A missing or unusable database URL (the message shows it with the password masked). */
export class DatabaseUrlError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "DatabaseUrlError";
    }
}

const SCHEMES: Readonly<Record<string, Dialect>> = {
    "postgres:": "postgres",
    "postgresql:": "postgres",
    "mssql:": "mssql",
    "sqlserver:": "mssql",
};

const EXAMPLES =
    "e.g. postgres://user:password@127.0.0.1:5432/app or mssql://user:password@myserver.database.windows.net:1433/app";

/** A password given as an option: `?password=…` (libpq), `;password=…` / `;pwd=…` (JDBC / ADO.NET style). */
const PASSWORD_OPTION = /([?&;](?:password|pwd|sslpassword)=)[^&;]*/gi;

/** Schemes a URL may start with; anything else before a ":" may be a user name, so it is not taken for a scheme. */
const KNOWN_SCHEME = /^(?:postgres|postgresql|mssql|sqlserver|mysql|memory):/i;

/**
 * The URL with its password (in the user info or as an option) replaced by `***`, whatever the URL's shape: also
 * `postgres//user:pw@h`, `postgres:/user:pw@h`, `postgres:user:pw@h`, `mssql:\\user:pw@h`, `user:pw@h` (no scheme) and
 * `postgres://user:pw` (no host). What follows the first ":" of the user info up to the last "@" is the password; with
 * no "@", everything from the first ":" that does not start a port number.
 */
export function maskUrl(url: string): string {
    const masked = url.replace(PASSWORD_OPTION, "$1***");
    // A known scheme, or any scheme followed by "//" or "\\" (an unknown one, e.g. oracle://, still shows the user).
    const scheme = KNOWN_SCHEME.exec(masked)?.[0] ?? /^[A-Za-z][A-Za-z0-9+.-]*:(?=\/\/|\\\\)/.exec(masked)?.[0] ?? "";
    const slashes = /^[/\\]*/.exec(masked.slice(scheme.length))?.[0] ?? "";
    const prefix = scheme + slashes;
    const rest = masked.slice(prefix.length);
    const at = rest.lastIndexOf("@");
    if (at >= 0) {
        const colon = rest.indexOf(":");
        if (colon < 0 || colon > at) return masked;
        return `${prefix}${rest.slice(0, colon)}:***${rest.slice(at)}`;
    }
    // No "@": a password with the "@host" forgotten, or a host:port. Mask from the first ":" that does not start a
    // port, to the end (the password may hold a "/").
    const colon = rest.search(/:(?!\d*(?:[/\\?#;]|$))/);
    return colon < 0 ? masked : `${prefix}${rest.slice(0, colon)}:***`;
}

/**
 * Parses a database URL, taking the dialect from its scheme. Throws an error that prints the URL with the password
 * masked and says what to fix when the URL is missing, unparseable, of an unknown scheme or without a database name.
 */
export function parseDatabaseUrl(url: string | undefined): DatabaseUrl {
    if (url === undefined || url.trim() === "") {
        throw new DatabaseUrlError(`No database URL: pass --url <url> or set DATABASE_URL (${EXAMPLES}).`);
    }
    const masked = maskUrl(url);
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        throw new DatabaseUrlError(`The database URL "${masked}" is not a valid URL (${EXAMPLES}; percent-encode special characters in the password).`);
    }
    const dialect = SCHEMES[parsed.protocol];
    if (!dialect) {
        throw new DatabaseUrlError(
            `The database URL "${masked}" has the scheme "${parsed.protocol}//", which the runner does not know: ` +
                `use postgres://, postgresql://, mssql:// or sqlserver:// (${EXAMPLES}).`,
        );
    }
    const decode = (part: string): string => {
        try {
            return decodeURIComponent(part);
        } catch {
            throw new DatabaseUrlError(
                `The database URL "${masked}" has a % that does not start a percent-encoded character: write % itself as %25 (${EXAMPLES}).`,
            );
        }
    };
    const database = decode(parsed.pathname.replace(/^\//, ""));
    if (!parsed.hostname || !database || database.includes("/")) {
        throw new DatabaseUrlError(`The database URL "${masked}" must name a host and one database, ${EXAMPLES}.`);
    }
    const options: Record<string, string> = {};
    parsed.searchParams.forEach((value, key) => {
        options[key] = value;
    });
    return {
        dialect,
        url,
        masked,
        host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
        ...(parsed.port ? { port: Number(parsed.port) } : {}),
        database,
        user: decode(parsed.username),
        password: decode(parsed.password),
        options,
    };
}

/**
 * A true/false query option of a parsed URL, in any letter case (`encrypt=True` means true). Anything else is
 * refused, naming the option, the value and the fix: a typo must not quietly turn encryption off.
 */
export function booleanOption(db: DatabaseUrl, key: string, fallback: boolean): boolean {
    const value = db.options[key];
    if (value === undefined) return fallback;
    if (/^true$/i.test(value)) return true;
    if (/^false$/i.test(value)) return false;
    throw new DatabaseUrlError(`The database URL "${db.masked}" has ${key}=${value}: use ${key}=true or ${key}=false.`);
}
