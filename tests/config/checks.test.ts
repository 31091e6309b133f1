import * as fc from "fast-check";
import {
    artifactSha256Problem,
    adminUsernameProblem,
    ipv4CidrProblem,
    isSqlSkuName,
    numberToIpv4,
    ipv4ToNumber,
    parseIpv4Cidr,
    parseSqlDatabaseId,
    sqlDatabaseIdProblem,
    sqlLoginProblem,
    sshPublicKeyProblem,
} from "../../config/checks";

// Generated with ssh-keygen for these tests (private halves deleted).
const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINHMgOva0K3avEY6muGcHgI+mWLNWPCZrgzX/mFZYZM6 ops@example.org";

/** An ssh-rsa public key line built in the SSH wire format (type, exponent, modulus). */
function rsaKeyLine(): string {
    const field = (b: Buffer): Buffer => {
        const length = Buffer.alloc(4);
        length.writeUInt32BE(b.length);
        return Buffer.concat([length, b]);
    };
    const body = Buffer.concat([field(Buffer.from("ssh-rsa")), field(Buffer.from([1, 0, 1])), field(Buffer.alloc(257, 7))]);
    return `ssh-rsa ${body.toString("base64")} ops@example`;
}

describe("sshPublicKeyProblem", () => {
    it.each([
        ["an ed25519 key with a comment", ED25519],
        ["an ed25519 key without a comment", ED25519.split(" ").slice(0, 2).join(" ")],
        ["an rsa key", rsaKeyLine()],
        ["a key with surrounding whitespace", `  ${ED25519}\n`],
    ])("accepts %s", (_label, key) => {
        expect(sshPublicKeyProblem(key)).toBeUndefined();
    });

    it.each([
        ["a private key header", "-----BEGIN OPENSSH PRIVATE KEY-----", /must start with one of ssh-ed25519, ssh-rsa/],
        ["a fingerprint", "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", /must start with/],
        ["an ECDSA key (Azure refuses it)", "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY=", /must start with/],
        ["a type with no body", "ssh-ed25519", /must start with/],
        ["a body that is not base64", "ssh-ed25519 not*base64!", /not base64/],
        ["an rsa prefix on an ed25519 body", `ssh-rsa ${ED25519.split(" ")[1]}`, /does not encode a "ssh-rsa" key/],
        ["a truncated ed25519 body", `ssh-ed25519 ${ED25519.split(" ")[1].slice(0, 40)}`, /./],
        ["the placeholder committed in Pulumi.<stack>.yaml", `ssh-ed25519 ${ED25519.split(" ")[1]} placeholder-replace-me`, /placeholder key committed with this repository/],
    ])("refuses %s", (_label, key, reason) => {
        expect(sshPublicKeyProblem(key)).toMatch(reason);
    });
});

describe("artifactSha256Problem", () => {
    it("accepts a SHA-256 hex digest", () => expect(artifactSha256Problem("1".repeat(64))).toBeUndefined());
    it("refuses the SHA-256 of an empty file (the committed placeholder)", () =>
        expect(artifactSha256Problem("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")).toMatch(/SHA-256 of an empty file/));
    it("refuses what is not a digest", () => expect(artifactSha256Problem("abc")).toMatch(/not a SHA-256/));
});

describe("IPv4 CIDR parsing", () => {
    it.each(["203.0.113.0/24", "10.0.0.0/8", "0.0.0.0/0", "198.51.100.7/32"])("accepts %s", (cidr) => {
        expect(ipv4CidrProblem(cidr)).toBeUndefined();
    });

    it.each([
        ["203.0.113.5/24", /host bits set; the block is 203.0.113.0\/24/],
        ["198.51.100.7", /write 198.51.100.7\/32/],
        ["300.1.1.0/24", /not an IPv4 CIDR block/],
        ["10.0.0.0/33", /not an IPv4 CIDR block/],
        ["2001:db8::/32", /not an IPv4 CIDR block/],
        ["office", /not an IPv4 CIDR block/],
    ])("refuses %s and says why", (cidr, reason) => {
        expect(ipv4CidrProblem(cidr)).toMatch(reason);
    });

    it("round-trips every address through its number", () => {
        fc.assert(fc.property(fc.ipV4(), (address) => numberToIpv4(ipv4ToNumber(address) as number) === address));
    });

    it("parses the network and prefix of any aligned block", () => {
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }), (n, prefix) => {
                const size = 2 ** (32 - prefix);
                const network = n - (n % size);
                expect(parseIpv4Cidr(`${numberToIpv4(network)}/${prefix}`)).toEqual({ network, prefix });
            }),
        );
    });
});

describe("isSqlSkuName", () => {
    it.each(["Basic", "S0", "S12", "P1", "GP_Gen5_2", "GP_S_Gen5_1", "BC_Gen5_4", "HS_Gen5_2"])("accepts %s", (sku) => {
        expect(isSqlSkuName(sku)).toBe(true);
    });
    it.each(["", "basic", "Standard", "GP_Gen4_2", "S0 "])("refuses %j", (sku) => {
        expect(isSqlSkuName(sku)).toBe(false);
    });
});

describe("adminUsernameProblem", () => {
    it("accepts a plain Linux user name", () => {
        expect(adminUsernameProblem("azureops")).toBeUndefined();
    });
    it.each([
        ["root", /reserved/],
        ["admin", /reserved/],
        ["Azure Ops", /not a Linux user name/],
        ["1ops", /not a Linux user name/],
    ])("refuses %s", (name, reason) => {
        expect(adminUsernameProblem(name)).toMatch(reason);
    });
});

describe("Azure SQL database resource IDs", () => {
    const SUB = "11111111-2222-3333-4444-555555555555";
    const id = (rest: string) => `/subscriptions/${SUB}/resourceGroups/legacy-rg/providers/${rest}`;

    it("reads subscription, resource group, server (lower-cased, as Azure stores it) and database", () => {
        expect(parseSqlDatabaseId(id("Microsoft.Sql/servers/Contoso-SQL/databases/Goals_2026"))).toEqual({
            subscriptionId: SUB, resourceGroupName: "legacy-rg", serverName: "contoso-sql", databaseName: "Goals_2026",
        });
    });

    it.each([
        ["a server, not a database", id("Microsoft.Sql/servers/contoso-sql"), /is not an Azure SQL database resource ID/],
        ["a Managed Instance database (not Azure SQL Database)", id("Microsoft.Sql/managedInstances/mi-1/databases/goals"), /is not an Azure SQL database resource ID/],
        ["the master database", id("Microsoft.Sql/servers/contoso-sql/databases/master"), /names the master database/],
        ["a name instead of an ID", "goals", /is not an Azure SQL database resource ID/],
        ["a server name with an underscore", id("Microsoft.Sql/servers/contoso_sql/databases/goals"), /is not an Azure SQL database resource ID/],
    ])("refuses %s", (_label, value, reason) => {
        expect(sqlDatabaseIdProblem(value)).toMatch(reason);
    });

    it.each([["sqladmin", undefined], ["db_owner.2", undefined], ["2admin", /is not a SQL login name/], ["sa; DROP", /is not a SQL login name/]])(
        "login %s", (login, problem) => {
            const result = sqlLoginProblem(login);
            if (problem === undefined) expect(result).toBeUndefined();
            else expect(result).toMatch(problem);
        },
    );
});
