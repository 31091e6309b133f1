import { isIPv4 } from "node:net";

/**
 * Small pure checks used by config validation. Each returns `undefined` when the value is fine,
 * or a short reason ("… is not …") that the caller turns into a message naming the key and the fix.
 */

/** SSH public key types Azure accepts for Linux VM login (it rejects ECDSA and security-key types). */
/** The comment that marks the placeholder SSH key committed in Pulumi.<stack>.yaml. */
export const PLACEHOLDER_KEY_COMMENT = "placeholder-replace-me";

/** The SHA-256 of an empty file: the placeholder artifact checksum committed in Pulumi.<stack>.yaml. */
export const EMPTY_FILE_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** Why an artifact checksum cannot be a real artifact's, or undefined. */
export function artifactSha256Problem(value: string): string | undefined {
    if (!isSha256Hex(value)) return "is not a SHA-256 hex digest";
    if (value.toLowerCase() === EMPTY_FILE_SHA256) {
        return "is the SHA-256 of an empty file (the placeholder committed with this repository): every VM would refuse the artifact";
    }
    return undefined;
}

export const SSH_KEY_TYPES = ["ssh-ed25519", "ssh-rsa"] as const;

/**
 * Why `value` is not an OpenSSH public key line (`<type> <base64 body> [comment]`), or `undefined` if it is one.
 * The body must decode as base64 and start with the same key type as the prefix (the SSH wire format embeds it),
 * which catches a private key, a fingerprint, a truncated paste or a type/body mix-up.
 */
export function sshPublicKeyProblem(value: string): string | undefined {
    const parts = value.trim().split(/\s+/);
    if (parts.includes(PLACEHOLDER_KEY_COMMENT)) {
        return `is the placeholder key committed with this repository (marked ${PLACEHOLDER_KEY_COMMENT}; its private half was deleted, so nobody could log in)`;
    }
    const [type, body] = parts;
    if (parts.length < 2 || !(SSH_KEY_TYPES as readonly string[]).includes(type)) {
        return `is not an OpenSSH public key: it must start with one of ${SSH_KEY_TYPES.join(", ")} followed by the base64 key body`;
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) {
        return `is not an OpenSSH public key: the key body after "${type}" is not base64`;
    }
    const bytes = Buffer.from(body, "base64");
    if (bytes.length < 4) {
        return `is not an OpenSSH public key: the key body is too short`;
    }
    const typeLength = bytes.readUInt32BE(0);
    const embedded = bytes.subarray(4, 4 + typeLength).toString("latin1");
    if (typeLength > bytes.length - 4 || embedded !== type) {
        return `is not an OpenSSH public key: the key body does not encode a "${type}" key`;
    }
    if (type === "ssh-ed25519") {
        const keyOffset = 4 + typeLength;
        const keyLength = bytes.length >= keyOffset + 4 ? bytes.readUInt32BE(keyOffset) : -1;
        if (keyLength !== 32 || bytes.length !== keyOffset + 4 + 32) {
            return `is not an OpenSSH public key: an ssh-ed25519 key body holds exactly 32 key bytes`;
        }
    }
    return undefined;
}

/** Parses an IPv4 address into a 32-bit unsigned number; `undefined` when it is not one. */
export function ipv4ToNumber(address: string): number | undefined {
    if (!isIPv4(address)) return undefined;
    return address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** Formats a 32-bit unsigned number as a dotted IPv4 address. */
export function numberToIpv4(value: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** An IPv4 CIDR block split into its network address (as a number) and prefix length. */
export interface Ipv4Cidr {
    readonly network: number;
    readonly prefix: number;
}

/** Parses `a.b.c.d/n`; `undefined` unless the address is IPv4, 0 ≤ n ≤ 32 and no host bits are set. */
export function parseIpv4Cidr(value: string): Ipv4Cidr | undefined {
    const match = /^([0-9.]+)\/(\d{1,2})$/.exec(value);
    if (!match) return undefined;
    const network = ipv4ToNumber(match[1]);
    const prefix = Number(match[2]);
    if (network === undefined || prefix > 32) return undefined;
    const size = 2 ** (32 - prefix);
    if (network % size !== 0) return undefined;
    return { network, prefix };
}

/** Why `value` is not an IPv4 CIDR block such as `203.0.113.0/24`, suggesting the intended block where it can. */
export function ipv4CidrProblem(value: string): string | undefined {
    if (parseIpv4Cidr(value)) return undefined;
    const match = /^([0-9.]+)\/(\d{1,2})$/.exec(value);
    const address = match ? ipv4ToNumber(match[1]) : undefined;
    if (match && address !== undefined && Number(match[2]) <= 32) {
        const size = 2 ** (32 - Number(match[2]));
        return `has host bits set; the block is ${numberToIpv4(address - (address % size))}/${match[2]}`;
    }
    if (isIPv4(value)) return `is an address, not a block; write ${value}/32 for a single address`;
    return "is not an IPv4 CIDR block (a.b.c.d/n)";
}

/** True for a lowercase hex SHA-256 digest (64 hex digits). */
export function isSha256Hex(value: string): boolean {
    return /^[0-9a-f]{64}$/.test(value);
}

/**
 * Azure SQL Database SKU names this program accepts: DTU tiers (`Basic`, `S0`–`S12`, `P1`–`P15`) and
 * vCore tiers (`GP_Gen5_2`, serverless `GP_S_Gen5_1`, `BC_Gen5_4`, `HS_Gen5_2`).
 */
export function isSqlSkuName(value: string): boolean {
    return /^(Basic|S\d{1,2}|P\d{1,2}|(GP|BC|HS)_(S_)?Gen5_\d{1,3})$/.test(value);
}

/** Names Azure refuses as the VM administrator (a subset of its reserved list, plus the Linux rule). */
const RESERVED_ADMIN_NAMES = new Set([
    "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123", "a",
    "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner", "root", "server",
    "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5",
]);

/** Why `value` cannot be the Linux administrator user name of an Azure VM, or `undefined`. */
export function adminUsernameProblem(value: string): string | undefined {
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(value)) {
        return "is not a Linux user name (lowercase letters, digits, _ and -, starting with a letter or _, at most 32)";
    }
    if (RESERVED_ADMIN_NAMES.has(value)) return "is reserved by Azure for VM administrators";
    return undefined;
}

/** An existing Azure SQL database, from its resource ID. */
export interface SqlDatabaseId {
    readonly subscriptionId: string;
    readonly resourceGroupName: string;
    readonly serverName: string;
    readonly databaseName: string;
}

const SQL_DATABASE_ID = /^\/subscriptions\/([0-9a-fA-F-]{36})\/resourceGroups\/([-\w.()]{1,90})\/providers\/Microsoft\.Sql\/servers\/([a-z0-9][a-z0-9-]{0,61}[a-z0-9]|[a-z0-9])\/databases\/([^/\s]{1,128})$/i;

/**
 * Parses `/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Sql/servers/<server>/databases/<db>` (what
 * `az sql db show --query id -o tsv` prints); `undefined` when it is not one. The server name is lower-cased as
 * Azure stores it.
 */
export function parseSqlDatabaseId(value: string): SqlDatabaseId | undefined {
    const m = SQL_DATABASE_ID.exec(value.trim());
    if (!m || m[4] === "master") return undefined;
    return { subscriptionId: m[1].toLowerCase(), resourceGroupName: m[2], serverName: m[3].toLowerCase(), databaseName: m[4] };
}

/** Why `value` is not an Azure SQL database resource ID, or `undefined`. */
export function sqlDatabaseIdProblem(value: string): string | undefined {
    if (/\/databases\/master$/i.test(value.trim())) return "names the master database; name the app's own database";
    return parseSqlDatabaseId(value) ? undefined : "is not an Azure SQL database resource ID";
}

/** Why `value` is not a SQL login name the runner can use, or `undefined` (letters, digits, _ . -, not starting with a digit). */
export function sqlLoginProblem(value: string): string | undefined {
    return /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/.test(value) ? undefined : "is not a SQL login name (letters, digits, _ . -; not starting with a digit)";
}
