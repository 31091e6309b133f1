/**
 * Bad config fails the whole program before any resource is declared, with one error naming every bad
 * key. (Each bad value's message is checked on its own in tests/config/validate.test.ts; here the real
 * program runs, twice, with all of them at once.)
 */
import { baseConfig, runProgram } from "../support/pulumiProgram";

const OTHER_BAD_VALUES = {
    greenVersion: "1.2",
    instanceCount: "0",
    stagingAllowedCidrs: '["office-vpn"]',
    sshPublicKey: "ssh-rsa not-a-key",
    rollbackWindowMinutes: "-10",
    watchErrorRatio: "5",
};

const EXPECTED_MESSAGES = [
    'greenVersion = "1.2" is not a semantic version',
    "pulumi config set greenVersion 1.0.0",
    'instanceCount = "0" is below 1',
    "pulumi config set instanceCount 2",
    'stagingAllowedCidrs[0] = "office-vpn" is not an IPv4 CIDR block',
    "pulumi config set --path 'stagingAllowedCidrs[0]' 203.0.113.0/24",
    'sshPublicKey = "ssh-rsa not-a-key" is not an OpenSSH public key',
    'rollbackWindowMinutes = "-10" is below 0',
    "pulumi config set rollbackWindowMinutes 60",
    'watchErrorRatio = "5" is out of range: it must be a number above 0 and below 1',
    "pulumi config set watchErrorRatio 0.05",
];

describe.each([
    ["liveColor missing", { liveColor: undefined }, "liveColor is not set"],
    ["liveColor purple", { liveColor: "purple" }, 'liveColor = "purple" is not a color'],
])("the program with %s and other bad values", (_label, liveColor, liveColorMessage) => {
    it("throws one error naming every bad key with its fix, and declares no resource", async () => {
        const values: Record<string, string> = { ...baseConfig(), ...OTHER_BAD_VALUES };
        if (liveColor.liveColor === undefined) delete values.liveColor;
        else values.liveColor = liveColor.liveColor;
        const run = await runProgram(values);
        expect(run.error?.message).toMatch(/^Invalid stack configuration \(7 problems\); no resource was declared or changed:/);
        for (const message of [liveColorMessage, "pulumi config set liveColor blue", ...EXPECTED_MESSAGES]) expect(run.error?.message).toContain(message);
        expect(run.resources).toEqual([]);
    });
});
