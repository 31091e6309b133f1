import type { ConfigFiles } from "../../config/smokeChecksFile";
import { validateConfig } from "../../config/validate";
import { DEFAULT_WATCH_THRESHOLDS } from "../../release/postFlipAnalysis";
import { problemsOf, raw } from "../support/configInput";

describe("validateConfig on valid input", () => {
    it("fills defaults for every optional key", () => {
        const config = validateConfig(raw({ stagingAllowedCidrs: undefined, instanceCount: undefined, sqlSku: undefined, protectDatabase: undefined }));
        expect(config).toMatchObject({
            location: "westeurope",
            liveColor: "blue",
            idleColor: "green",
            zones: [],
            adminUsername: "azureops",
            stagingAllowedCidrs: [],
            sqlSku: "S0",
            protectDatabase: true,
            rollbackWindowMinutes: 60,
            allowDeployIntoRollbackWindow: false,
            runContractMigrations: false,
        });
        expect(config.colors.blue).toEqual({
            color: "blue",
            version: "1.0.0",
            artifactSha256: "a".repeat(64),
            instanceCount: 1,
            vmSize: "Standard_B2s",
            image: { publisher: "Debian", offer: "debian-13", sku: "13-gen2", version: "latest" },
            sshPublicKey: config.sshPublicKey,
        });
    });

    it("gives each color the shared SSH key unless it has its own, and checks a per-color key like the shared one", () => {
        const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBqK2yqj3m0HfJjXbq6o3kq8b3l7nq9i6Yc0lX5r8w2Z green";
        const config = validateConfig(raw({ greenSshPublicKey: `  ${key}\n` }));
        expect(config.colors.blue.sshPublicKey).toBe(config.sshPublicKey);
        expect(config.colors.green.sshPublicKey).toBe(key);
        expect(problemsOf(raw({ blueSshPublicKey: "my-key" })).problems.map((p) => p.key)).toEqual(["blueSshPublicKey"]);
    });

    it("lets each color override the shared count, size and image", () => {
        const config = validateConfig(raw({
            instanceCount: "2",
            greenInstanceCount: "3",
            vmSize: "Standard_D2s_v5",
            blueVmSize: "Standard_D4s_v5",
            greenImage: "Canonical:ubuntu-24_04-lts:server:latest",
        }));
        expect(config.colors.blue).toMatchObject({ instanceCount: 2, vmSize: "Standard_D4s_v5", image: { publisher: "Debian" } });
        expect(config.colors.green).toMatchObject({ instanceCount: 3, vmSize: "Standard_D2s_v5", image: { publisher: "Canonical", offer: "ubuntu-24_04-lts" } });
    });

    it("treats an empty per-color override (its Pulumi.yaml default) as not set", () => {
        const config = validateConfig(raw({ blueInstanceCount: "", blueVmSize: "", blueImage: "", blueArtifactUrl: "", blueForceUpdateTag: "" }));
        expect(config.colors.blue).toEqual(validateConfig(raw()).colors.blue);
    });

    it("pins each color's artifact checksum, takes a user artifact URL with it, and the retry tag", () => {
        const sha = "c".repeat(64);
        const config = validateConfig(raw({ greenArtifactUrl: "https://cdn.example.org/app-2.0.0.tgz", greenArtifactSha256: sha, greenForceUpdateTag: "retry-2" }));
        expect(config.colors.green.artifactSha256).toBe(sha);
        expect(config.colors.blue.artifactSha256).toBe("a".repeat(64));
        expect(config.colors.green.artifact).toEqual({ url: "https://cdn.example.org/app-2.0.0.tgz", sha256: sha });
        expect(config.colors.green.forceUpdateTag).toBe("retry-2");
        expect(config.colors.blue.artifact).toBeUndefined();
    });

    it("parses lists given as JSON (how the engine passes YAML lists)", () => {
        const config = validateConfig(raw({ zones: '["1","2","3"]', stagingAllowedCidrs: '["198.51.100.0/24","203.0.113.0/24"]' }));
        expect(config.zones).toEqual(["1", "2", "3"]);
        expect(config.stagingAllowedCidrs).toEqual(["198.51.100.0/24", "203.0.113.0/24"]);
    });

    it("accepts green as the live color, and a rollback window as short as the watch", () => {
        const config = validateConfig(raw({ rollbackWindowMinutes: "1", watchMinutes: "1", liveColor: "green" }));
        expect(config.rollbackWindowMinutes).toBe(1);
        expect(config.watch.watchMinutes).toBe(1);
        expect(config.idleColor).toBe("blue");
    });

    it("gives the post-flip watch its defaults (DEFAULT_WATCH_THRESHOLDS) when no watch key is set", () => {
        expect(validateConfig(raw()).watch).toEqual(DEFAULT_WATCH_THRESHOLDS);
    });

    it("reads every watch key, fractions included (strings in Pulumi.yaml: Pulumi has no decimal type)", () => {
        const config = validateConfig(raw({
            watchMinutes: "30", watchErrorRatio: "0.02", watchLatencyPercentile: "99.9", watchLatencyMs: "500",
            watchMinRequests: "50", watchConsecutiveIntervals: "4", watchIntervalSeconds: "10", watchBaselineFactor: "1.5",
        }));
        expect(config.watch).toEqual({
            watchMinutes: 30, watchErrorRatio: 0.02, watchLatencyPercentile: 99.9, watchLatencyMs: 500,
            watchMinRequests: 50, watchConsecutiveIntervals: 4, watchIntervalSeconds: 10, watchBaselineFactor: 1.5,
        });
    });
});

describe("validateConfig on bad watch settings: refused naming the key, the value, why and the fix", () => {
    it.each([
        ["an error ratio given as a percentage", { watchErrorRatio: "5" }, 'watchErrorRatio = "5" is out of range: it must be a number above 0 and below 1', "pulumi config set watchErrorRatio 0.05"],
        ["an error ratio that is not a number", { watchErrorRatio: "5%" }, 'watchErrorRatio = "5%" is not a number', "pulumi config set watchErrorRatio 0.05"],
        ["a percentile of 100", { watchLatencyPercentile: "100" }, 'watchLatencyPercentile = "100" is out of range', "pulumi config set watchLatencyPercentile 95"],
        ["a latency of 0 ms", { watchLatencyMs: "0" }, 'watchLatencyMs = "0" is out of range: it must be an integer from 1 to 600000', "pulumi config set watchLatencyMs 1000"],
        ["a fractional request count", { watchMinRequests: "2.5" }, 'watchMinRequests = "2.5" is not a whole number', "pulumi config set watchMinRequests 20"],
        ["no bad interval needed", { watchConsecutiveIntervals: "0" }, 'watchConsecutiveIntervals = "0" is out of range', "pulumi config set watchConsecutiveIntervals 3"],
        ["an interval of a day", { watchIntervalSeconds: "86400" }, 'watchIntervalSeconds = "86400" is out of range', "pulumi config set watchIntervalSeconds 5"],
        ["a baseline factor that lowers the limits", { watchBaselineFactor: "0.5" }, 'watchBaselineFactor = "0.5" is out of range', "pulumi config set watchBaselineFactor 2"],
        ["a watch of 0 minutes", { watchMinutes: "0" }, 'watchMinutes = "0" is out of range', "pulumi config set watchMinutes 10"],
        ["a watch longer than the rollback window", { watchMinutes: "90" }, 'watchMinutes = "90" is longer than rollbackWindowMinutes (60), after which the old color is no longer a rollback target', "pulumi config set watchMinutes 10 or pulumi config set rollbackWindowMinutes 90"],
        ["a rollback window of 0 with the default watch", { rollbackWindowMinutes: "0" }, 'watchMinutes = "10" is longer than rollbackWindowMinutes (0)', "pulumi config set rollbackWindowMinutes 10"],
        ["a watch shorter than one interval", { watchMinutes: "1", watchIntervalSeconds: "120" }, 'watchMinutes = "1" is shorter than one analysis interval (watchIntervalSeconds 120)', "pulumi config set watchMinutes 10"],
        ["a watch that could never fail", { watchMinutes: "1", watchIntervalSeconds: "30", watchConsecutiveIntervals: "3" }, 'watchMinutes = "1" is shorter than watchConsecutiveIntervals × watchIntervalSeconds', "pulumi config set watchMinutes 10"],
    ])("%s", (_label, overrides, what, fix) => {
        const error = problemsOf(raw(overrides));
        expect(error.message).toContain(what);
        expect(error.message).toContain(fix);
        expect(error.problems).toHaveLength(1);
    });

    it("names the allowed values of a watch key", () => {
        expect(problemsOf(raw({ watchErrorRatio: "1" })).problems[0]).toMatchObject({ key: "watchErrorRatio", value: "1", allowed: "a number above 0 and below 1 (0.05 = 5%)" });
    });
});

describe("validateConfig on bad input: every bad value names the key, the value, what is allowed and the fix", () => {
    it.each([
        ["liveColor missing", { liveColor: undefined }, "liveColor is not set", "blue | green", "pulumi config set liveColor blue"],
        ["liveColor purple", { liveColor: "purple" }, 'liveColor = "purple" is not a color', "blue | green", "pulumi config set liveColor blue"],
        ["a version that is not semver", { greenVersion: "1.2" }, 'greenVersion = "1.2" is not a semantic version', "MAJOR.MINOR.PATCH", "pulumi config set greenVersion 1.0.0"],
        ["a version with a leading v", { blueVersion: "v1.2.3" }, 'blueVersion = "v1.2.3" is not a semantic version', "MAJOR.MINOR.PATCH", "pulumi config set blueVersion 1.0.0"],
        ["a count of 0", { instanceCount: "0" }, 'instanceCount = "0" is below 1', "a whole number from 1 to 30", "pulumi config set instanceCount 2"],
        ["a per-color count of 0", { blueInstanceCount: "0" }, 'blueInstanceCount = "0" is below 1', "from 1 to 30", "pulumi config set blueInstanceCount 2"],
        ["a count above the address plan", { greenInstanceCount: "31" }, 'greenInstanceCount = "31" is above 30', "from 1 to 30", "pulumi config set greenInstanceCount 2"],
        ["a count that is not a number", { instanceCount: "two" }, 'instanceCount = "two" is not a whole number', "a whole number", "pulumi config set instanceCount 2"],
        ["a CIDR that does not parse", { stagingAllowedCidrs: '["203.0.113.0/24","office-vpn"]' }, 'stagingAllowedCidrs[1] = "office-vpn" is not an IPv4 CIDR block', "an IPv4 CIDR block", "pulumi config set --path 'stagingAllowedCidrs[1]' 203.0.113.0/24"],
        ["CIDRs that are not a list", { stagingAllowedCidrs: "203.0.113.0/24" }, "stagingAllowedCidrs = \"203.0.113.0/24\" is not a list of strings", "a YAML list", "pulumi config set --path 'stagingAllowedCidrs[0]' 203.0.113.0/24"],
        ["a key that is not an SSH public key", { sshPublicKey: "my-key" }, 'sshPublicKey = "my-key" is not an OpenSSH public key', "ssh-ed25519 AAAA", 'pulumi config set sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)"'],
        ["a missing SSH key", { sshPublicKey: undefined }, "sshPublicKey is not set", "OpenSSH public key", "pulumi config set sshPublicKey"],
        ["a negative window", { rollbackWindowMinutes: "-5" }, 'rollbackWindowMinutes = "-5" is below 0', "a whole number >= 0", "pulumi config set rollbackWindowMinutes 60"],
        ["a boolean that is not one", { allowDeployIntoRollbackWindow: "yes" }, 'allowDeployIntoRollbackWindow = "yes" is not true or false', "true | false", "pulumi config set allowDeployIntoRollbackWindow true"],
        ["a missing location", { "azure-native:location": undefined }, "azure-native:location is not set", "an Azure region name", "pulumi config set azure-native:location westeurope"],
        ["an unknown SQL SKU", { sqlSku: "Gold" }, 'sqlSku = "Gold" is not an Azure SQL Database SKU name', "GP_Gen5_<n>", "pulumi config set sqlSku S0"],
        ["an image that is not a URN", { image: "debian-13" }, 'image = "debian-13" is not an image URN with four parts', "Publisher:Offer:Sku:Version", "pulumi config set image"],
        ["a zone that is not a number", { zones: '["westeurope-1"]' }, 'zones[0] = "westeurope-1" is not an availability zone number', "availability zone", "pulumi config set --path 'zones[0]' 1"],
        ["a missing artifact checksum", { blueArtifactSha256: undefined }, "blueArtifactSha256 is not set", "the first field of dist/app-<version>.tgz.sha256", `pulumi config set blueArtifactSha256 "$(cut -d' ' -f1 dist/app-1.0.0.tgz.sha256)"`],
        ["a checksum that is not SHA-256", { greenArtifactSha256: "abc123" }, 'greenArtifactSha256 = "abc123" is not a SHA-256 hex digest', "64 lowercase hex digits", "pulumi config set greenArtifactSha256"],
        ["an artifact URL over plain http", { blueArtifactUrl: "http://cdn.example.org/app.tgz" }, 'blueArtifactUrl = "http://cdn.example.org/app.tgz" is not an https:// URL', "an https:// URL", "pulumi config set blueArtifactUrl"],
        ["a reserved admin name", { adminUsername: "root" }, 'adminUsername = "root" is reserved by Azure', "a Linux user name", "pulumi config set adminUsername azureops"],
    ])("%s", (_label, overrides, what, allowed, fix) => {
        const error = problemsOf(raw(overrides));
        expect(error.message).toContain(what);
        expect(error.message).toContain(allowed);
        expect(error.message).toContain(fix);
        expect(error.problems).toHaveLength(1);
    });

    it("lists every bad key in one error, not just the first", () => {
        const error = problemsOf(raw({ liveColor: "purple", blueVersion: "latest", instanceCount: "0", stagingAllowedCidrs: '["10.0.0.1/8"]', sshPublicKey: "x", rollbackWindowMinutes: "-1" }));
        expect(error.problems.map((p) => p.key)).toEqual(["liveColor", "instanceCount", "blueVersion", "sshPublicKey", "stagingAllowedCidrs[0]", "rollbackWindowMinutes"]);
        expect(error.message).toMatch(/^Invalid stack configuration \(6 problems\); no resource was declared or changed:/);
        expect(error.message).toContain("has host bits set; the block is 10.0.0.0/8");
    });
});

describe("validateConfig on a bad watch key beside other bad keys", () => {
    it("still checks the watch's ranges when the rollback window itself is bad", () => {
        const error = problemsOf(raw({ rollbackWindowMinutes: "-1", watchErrorRatio: "5" }));
        expect(error.problems.map((p) => p.key)).toEqual(["rollbackWindowMinutes", "watchErrorRatio"]);
    });

    it("reports a key that is not a number once, and still checks the others", () => {
        const error = problemsOf(raw({ watchIntervalSeconds: "five", watchMinutes: "0" }));
        expect(error.problems.map((p) => `${p.key}: ${p.reason}`)).toEqual([
            "watchIntervalSeconds: is not a whole number",
            "watchMinutes: is out of range: it must be a number above 0 (minutes)",
        ]);
    });
});

describe("validateConfig: the smoke checks file (smokeChecksFile)", () => {
    const files = (texts: Record<string, string>): ConfigFiles => ({ read: (p) => texts[p] });
    const GOOD = "- name: home\n  path: /\n- name: goals list\n  path: /goals?limit=1\n  expectBodyContains: '\"goals\"'\n";

    it("has no smoke checks unless a file is named", () => {
        expect(validateConfig(raw(), files({})).smokeChecks).toEqual([]);
    });

    it("reads the named file of the repository, with each check's defaults", () => {
        const config = validateConfig(raw({ smokeChecksFile: "checks/smoke.yaml" }), files({ "checks/smoke.yaml": GOOD }));
        expect(config.smokeChecksFile).toBe("checks/smoke.yaml");
        expect(config.smokeChecks.map((c) => [c.name, c.method, c.path, c.expectStatus])).toEqual([["home", "GET", "/", 200], ["goals list", "GET", "/goals?limit=1", 200]]);
    });

    it("does not read the file without files to read from (release:check replays stack files from git history)", () => {
        expect(validateConfig(raw({ smokeChecksFile: "checks/smoke.yaml" })).smokeChecks).toEqual([]);
    });

    it.each([
        ["a file that does not exist", { smokeChecksFile: "smoke.yaml" }, {}, 'smokeChecksFile (smoke.yaml) = "smoke.yaml" names a file that does not exist in the repository', "create smoke.yaml (e.g. copy app/smoke-checks.yaml), or pulumi config rm smokeChecksFile"],
        ["an absolute path", { smokeChecksFile: "/etc/smoke.yaml" }, {}, 'smokeChecksFile = "/etc/smoke.yaml" is an absolute path', "pulumi config set smokeChecksFile app/smoke-checks.yaml"],
        ["a path out of the repository", { smokeChecksFile: "../smoke.yaml" }, {}, "leaves the repository", "pulumi config set smokeChecksFile app/smoke-checks.yaml"],
        ["a file that is not YAML", { smokeChecksFile: "smoke.yaml" }, { "smoke.yaml": "- name: home\n  path: [/\n" }, 'smokeChecksFile (smoke.yaml) = "smoke.yaml" is not valid YAML', "edit smoke.yaml (line"],
        ["a check with a quoted status", { smokeChecksFile: "smoke.yaml" }, { "smoke.yaml": "- name: home\n  path: /\n  expectStatus: '200'\n" }, 'smokeChecksFile (smoke.yaml)[0].expectStatus (check "home") = "200" is not an HTTP status', "edit smoke.yaml: expectStatus: 200 (docs/smoke-checks.md)"],
        ["a check without a path", { smokeChecksFile: "smoke.yaml" }, { "smoke.yaml": "- name: home\n" }, 'smokeChecksFile (smoke.yaml)[0].path (check "home") is not set.\n      allowed: a path and query starting with /', "edit smoke.yaml: path: /goals?limit=1"],
    ])("refuses %s, naming the key, the value and the fix, before any resource", (_label, overrides, texts, what, fix) => {
        const error = problemsOf(raw(overrides), files(texts));
        expect(error.message).toContain(what);
        expect(error.message).toContain(fix);
        expect(error.problems).toHaveLength(1);
    });
});
