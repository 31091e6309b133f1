// The release guard's dynamic provider, called directly with olds and news: dynamic providers never run under mocks.
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { colorStateOf, contractMigrationsIn, ReleaseGuardInputs, ReleaseGuardOutputs, releaseGuardProvider } from "../../components/releaseGuard";
import type { ColorSettings } from "../../config/validate";
import { colorState, guardInputs } from "./fixtures";

const color = colorState;
const inputs = guardInputs;

const minutesAgo = (m: number): string => new Date(Date.now() - m * 60_000).toISOString();

/** What `create` stored on the first deploy of `inputs()`. */
async function firstDeploy(p = releaseGuardProvider, news = inputs()): Promise<ReleaseGuardOutputs> {
    return (await p.create(news)).outs as ReleaseGuardOutputs;
}

/** The stored state after green (2.0.0) went live `m` minutes ago. */
function flippedAgo(m: number): ReleaseGuardOutputs {
    const news = inputs({ liveColor: "green", green: color("2.0.0") });
    return {
        ...news,
        state: { liveColor: "green", blue: news.blue, green: news.green, runContractMigrations: false, lastFlipAt: minutesAgo(m), previousLiveColor: "blue" },
        step: "flip",
        notices: [],
    };
}

const provider = releaseGuardProvider as Required<pulumi.dynamic.ResourceProvider<ReleaseGuardInputs, ReleaseGuardOutputs>>;

describe("check", () => {
    it("passes well-formed inputs through, adding the agent's (empty) execution ledger", async () => {
        expect(await provider.check(inputs(), inputs())).toEqual({
            inputs: { ...inputs(), executions: [], ledger: { records: {}, counter: 0 }, executionNames: {}, newExecutions: [] },
        });
    });

    it("names the agent's executions from the previous inputs' ledger: unchanged keeps its name, changed gets the next", async () => {
        const first = await provider.check({} as ReleaseGuardInputs, inputs({ executions: [{ key: "gate", digest: "blue@1.0.0" }, { key: "migrate-expand-blue", digest: "m1" }] }));
        expect(first.inputs?.executionNames).toEqual({ gate: "gate-1", "migrate-expand-blue": "migrate-expand-blue-2" });
        const second = await provider.check(first.inputs as ReleaseGuardInputs, inputs({ executions: [{ key: "gate", digest: "green@1.1.0" }, { key: "migrate-expand-blue", digest: "m1" }] }));
        expect(second.inputs?.executionNames).toEqual({ gate: "gate-3", "migrate-expand-blue": "migrate-expand-blue-2" });
        expect(second.inputs?.newExecutions).toEqual(["gate"]);
        // The ledger is part of the inputs, so a new name is a change the guard's update records.
        const diff = await provider.diff!("release-guard", { ...(first.inputs as ReleaseGuardInputs), state: undefined } as unknown as ReleaseGuardOutputs, second.inputs as ReleaseGuardInputs);
        expect(diff.changes).toBe(true);
    });

    it("refuses an execution key Azure would not accept as a run-command name", async () => {
        const result = await provider.check({} as ReleaseGuardInputs, inputs({ executions: [{ key: "Gate/1", digest: "x" }] }));
        expect(result.failures?.[0]).toEqual({ property: "executions", reason: expect.stringMatching(/"Gate\/1" must be lowercase/) });
    });

    it.each([
        ["a liveColor that is not a color", inputs({ liveColor: "purple" as "blue" }), "state", 'liveColor is "purple"'],
        ["a version that is not semver", inputs({ green: color("latest") }), "state", 'greenVersion is "latest"'],
        ["a negative rollback window", inputs({ rollbackWindowMinutes: -5 }), "rollbackWindowMinutes", "pulumi config set rollbackWindowMinutes 60"],
        [
            "a signed URL among the settings (it would sit in plain state)",
            inputs({ green: color("1.0.0", { settings: { artifactUrl: "https://x.blob.core.windows.net/a/app.tgz?sv=1&sig=abc" } }) }),
            "green.settings.artifactUrl",
            "SAS",
        ],
    ])("fails %s, naming the property", async (_what, news, property, reason) => {
        const result = await provider.check(inputs(), news);
        expect(result.inputs).toBeUndefined();
        expect(result.failures).toEqual(expect.arrayContaining([expect.objectContaining({ property, reason: expect.stringContaining(reason) })]));
    });
});

describe("create (the first deploy: nothing live yet)", () => {
    it("records the state without a flip and says it is the first deploy", async () => {
        const outs = await firstDeploy();
        expect(outs.step).toBe("first-deploy");
        expect(outs.state).toEqual({ liveColor: "blue", blue: color("1.0.0"), green: color("1.0.0"), runContractMigrations: false });
        expect(outs.notices.join()).toContain("first deploy");
    });

    it("refuses contract migrations on the first deploy when a color runs an older version", async () => {
        const news = inputs({ runContractMigrations: true, contractMigrations: [{ name: "0009_drop", requiresVersion: "2.0.0" }] });
        await expect(provider.create(news)).rejects.toThrow(/0009_drop requires 2.0.0 or newer, but blue runs 1.0.0/);
    });
});

describe("diff", () => {
    it("reports no change when nothing changed", async () => {
        const olds = await firstDeploy();
        expect(await provider.diff("release-guard", olds, inputs())).toEqual({ changes: false });
    });

    it("reports a change for a deploy to the idle color", async () => {
        const olds = await firstDeploy();
        expect(await provider.diff("release-guard", olds, inputs({ green: color("2.0.0") }))).toEqual({ changes: true });
    });

    it("refuses a version change of the live color (so the preview already fails)", async () => {
        const olds = await firstDeploy();
        await expect(provider.diff("release-guard", olds, inputs({ blue: color("2.0.0") }))).rejects.toThrow(
            /refusing to change blue, the live color[\s\S]*pulumi config set greenVersion 2.0.0/,
        );
    });

    it("refuses a flip together with a version change", async () => {
        const olds = await firstDeploy();
        await expect(provider.diff("release-guard", olds, inputs({ liveColor: "green", green: color("2.0.0") }))).rejects.toThrow(
            /refusing to flip blue → green together with other changes/,
        );
    });

    it("refuses a deploy onto the color that was live 5 minutes ago", async () => {
        await expect(provider.diff("release-guard", flippedAgo(5), inputs({ liveColor: "green", blue: color("2.0.0"), green: color("2.0.0") }))).rejects.toThrow(
            /refusing to deploy onto blue[\s\S]*allowDeployIntoRollbackWindow true/,
        );
    });

    it("waits for the update when an input is not known yet during a preview", async () => {
        const news = inputs({ green: color("04da6b54-80e4-46f7-96ec-b56ff0331ba9") });
        expect(await provider.diff("release-guard", await firstDeploy(), news)).toEqual({ changes: true });
    });

    it("compares with the recorded state even when it lacks the old inputs (older state format)", async () => {
        const olds = { state: (await firstDeploy()).state } as ReleaseGuardOutputs;
        await expect(provider.diff("release-guard", olds, inputs({ blue: color("2.0.0") }))).rejects.toThrow(/the live color/);
    });
});

describe("update", () => {
    it("stamps the time of a flip and the color that was live", async () => {
        const olds = await firstDeploy(provider, inputs({ green: color("2.0.0") }));
        const before = Date.now();
        const { outs } = await provider.update("release-guard", olds, inputs({ liveColor: "green", green: color("2.0.0") }));
        expect(outs?.step).toBe("flip");
        expect(outs?.state.previousLiveColor).toBe("blue");
        expect(Date.parse(outs?.state.lastFlipAt as string)).toBeGreaterThanOrEqual(before - 1000);
    });

    it("refuses a deploy into the rollback window and leaves the state to the caller unchanged", async () => {
        const olds = flippedAgo(5);
        const snapshot = JSON.stringify(olds);
        await expect(provider.update("release-guard", olds, inputs({ liveColor: "green", blue: color("2.0.0"), green: color("2.0.0") }))).rejects.toThrow(
            /The release guard refused this update/,
        );
        expect(JSON.stringify(olds)).toBe(snapshot);
    });

    it("allows it with allowDeployIntoRollbackWindow and puts the notice in the outputs", async () => {
        const news = inputs({ liveColor: "green", blue: color("2.0.0"), green: color("2.0.0"), allowDeployIntoRollbackWindow: true });
        const olds = flippedAgo(5);
        const { outs } = await provider.update("release-guard", olds, news);
        expect(outs?.step).toBe("deploy-idle");
        expect(outs?.notices.join()).toContain("allowDeployIntoRollbackWindow is set");
        expect(outs?.state).toMatchObject({ lastFlipAt: olds.state.lastFlipAt, previousLiveColor: "blue", blue: { version: "2.0.0" } });
    });

    it("classifies a flip back inside the window as a rollback and records it", async () => {
        const { outs } = await provider.update("release-guard", flippedAgo(5), inputs({ liveColor: "blue", green: color("2.0.0") }));
        expect(outs?.step).toBe("rollback");
        expect(outs?.state).toMatchObject({ liveColor: "blue", previousLiveColor: "green", lastFlipWasRollback: true });
    });

    it("allows the old color's deploy after the window", async () => {
        const news = inputs({ liveColor: "green", blue: color("2.0.0"), green: color("2.0.0") });
        const { outs } = await provider.update("release-guard", flippedAgo(61), news);
        expect(outs?.step).toBe("deploy-idle");
        expect(outs?.notices).toEqual([]);
    });
});

describe("after an automatic flip-back (the program passes what serves and the agent's record from the load balancer's tag)", () => {
    const provider = releaseGuardProvider;
    const flipped = flippedAgo(5);
    const record = { flipId: String(flipped.state.lastFlipAt), at: minutesAgo(2), from: "green" as const, to: "blue" as const, reason: "green: error ratio 20%" };
    const read = { serving: "blue" as const, flipBack: record };

    it("diff refuses liveColor still green, so pulumi preview already fails, naming the record", async () => {
        await expect(provider.diff!("release-guard", flipped, inputs({ liveColor: "green", green: color("2.0.0"), ...read }))).rejects.toThrow(
            /production was flipped back automatically: at .* sent production back from green to blue .*error ratio 20%.*pulumi config set liveColor blue && pulumi up/s,
        );
    });

    it("update accepting it (liveColor blue) records it in the state like a rollback", async () => {
        const { outs } = await provider.update!("release-guard", flipped, inputs({ liveColor: "blue", green: color("2.0.0"), ...read }));
        expect(outs?.step).toBe("rollback");
        expect(outs?.state).toMatchObject({ liveColor: "blue", previousLiveColor: "green", lastFlipWasRollback: true, lastFlipAt: record.at, autoFlipBacks: [record] });
    });

    it("refuses every update when what serves could not be read, naming why", async () => {
        const why = "reading load balancer front-lb1 in resource group rg failed: (TooManyRequests) throttled";
        await expect(provider.update!("release-guard", flipped, inputs({ liveColor: "green", green: color("2.0.0"), servingUnreadable: why }))).rejects.toThrow(why);
        await expect(provider.diff!("release-guard", flipped, inputs({ liveColor: "green", green: color("2.0.0"), servingUnreadable: why }))).rejects.toThrow(why);
    });

    it("a changed read alone is no update of the guard (what serves is read by every update)", async () => {
        const accepted = (await provider.update!("release-guard", flipped, inputs({ liveColor: "blue", green: color("2.0.0"), ...read }))).outs as ReleaseGuardOutputs;
        const again = await provider.diff!("release-guard", accepted, { ...inputs({ liveColor: "blue", green: color("2.0.0") }), serving: "blue" });
        expect(again.changes).toBe(false);
    });
});

describe("serialization (how the Pulumi CLI ships the provider to its dynamic provider host)", () => {
    it("is a small shim that loads the implementation by absolute path (the run is tested in releaseGuardHost.int.test.ts)", async () => {
        const { text } = await pulumi.runtime.serializeFunction(() => releaseGuardProvider, { allowSecrets: true });
        expect(text).toContain(JSON.stringify(path.join(__dirname, "../../components/releaseGuardProvider")));
        expect(text).not.toContain("semver");
        expect(text).not.toContain("evaluateRelease");
        expect(text.length).toBeLessThan(8000);
    });
});

describe("colorStateOf (config → what the guard compares)", () => {
    const base = {
        color: "green",
        version: "2.0.0",
        instanceCount: 2,
        vmSize: "Standard_B2s",
        image: { publisher: "Debian", offer: "debian-13", sku: "13-gen2", version: "latest" },
    } as ColorSettings;

    it("records version, size, image URN and instance count", () => {
        expect(colorStateOf(base)).toEqual({ version: "2.0.0", vmSize: "Standard_B2s", image: "Debian:debian-13:13-gen2:latest", settings: { instanceCount: "2" } });
    });

    it("records the pinned artifact SHA-256, so other bytes on the live color are refused", () => {
        expect(colorStateOf({ ...base, artifactSha256: "ef".repeat(32) }).settings).toEqual({ instanceCount: "2", artifactSha256: "ef".repeat(32) });
    });

    it("records the user's own artifact and the retry tag, so changing them on the live color is refused", () => {
        const s = colorStateOf({ ...base, artifact: { url: "https://cdn.example.com/app-2.0.0.tgz", sha256: "ab".repeat(32) }, forceUpdateTag: "retry-1" });
        expect(s.settings).toEqual({ instanceCount: "2", artifactUrl: "https://cdn.example.com/app-2.0.0.tgz", artifactSha256: "ab".repeat(32), forceUpdateTag: "retry-1" });
    });

    it("never records a URL with a query string (a SAS signature) in plain text", () => {
        const url = "https://x.blob.core.windows.net/a/app.tgz?sv=2024&sig=SECRET";
        const s = colorStateOf({ ...base, artifact: { url, sha256: "cd".repeat(32) } });
        expect(JSON.stringify(s)).not.toContain("SECRET");
        expect(s.settings?.artifactUrl).toMatch(/^sha256:[0-9a-f]{64}$/);
    });
});

describe("contractMigrationsIn", () => {
    let dir: string;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "guard-migrations-"));
        fs.writeFileSync(path.join(dir, "0001_add_title.expand.sql"), "ALTER TABLE goals ADD title NVARCHAR(200) NULL;\n");
        fs.writeFileSync(path.join(dir, "0002_drop_name.contract.sql"), "-- migrate:requires-version 2.0.0\nALTER TABLE goals DROP COLUMN name;\n");
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("lists only the contract migrations, with their requires-version", () => {
        expect(contractMigrationsIn(dir)).toEqual([{ name: "0002_drop_name.contract.sql", requiresVersion: "2.0.0" }]);
    });

    it("finds none where there is no migrations folder", () => {
        expect(contractMigrationsIn(path.join(dir, "nope"))).toEqual([]);
    });
});
