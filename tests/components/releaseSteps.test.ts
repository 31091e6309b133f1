/**
 * What each release step may touch: an explicit allowlist per step. Each row runs the program before and
 * after the step's config change (under mocks, the "after" update starting from the "before" update's state, as the
 * engine would) and compares what was declared. A resource may be changed,
 * added or removed only if a pattern of the step's `mayTouch` names it; `mustTouch` proves the step did
 * something. To add a step (or a resource a step may touch), add or extend a row.
 *
 * Patterns are `<type>::<name>` with `*` matching any run of characters.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { changedResources, ProgramRun, RegisteredResource, runProgram, stackFileValues, StackValues } from "../support/pulumiProgram";
import { currentVmToolsHash, VM_TOOL_FILES, vmToolsHash } from "../../components/lib/vmTools";
import { readVmScript, VM_SCRIPTS_DIR } from "../../components/lib/vmScripts";

/** This checkout's app-VM files, and the same after a merge that changed deploy-app.sh. */
const TOOLS_NOW = currentVmToolsHash();
const MERGED_SCRIPTS = { "deploy-app.sh": `${fs.readFileSync(path.join(VM_SCRIPTS_DIR, "deploy-app.sh"), "utf8")}\n# a merged change\n` };
const TOOLS_MERGED = vmToolsHash({ ...Object.fromEntries(VM_TOOL_FILES.map((f) => [f, readVmScript(f)])), ...MERGED_SCRIPTS });

/** The dev stack (blue live, both colors on 1.0.0, one VM each) is the "before" of every step. */
const BEFORE: StackValues = stackFileValues("dev");

interface ReleaseStepCase {
    /** What the operator does, in words. */
    readonly step: string;
    /** Config on top of BEFORE for the "before" run (default: BEFORE itself). */
    readonly from?: StackValues;
    /** Config on top of `from` for the "after" run. */
    readonly change: StackValues;
    /** Every resource the step may change, add or remove. */
    readonly mayTouch: readonly string[];
    /** Resources the step must change (proof that the step is not a no-op). */
    readonly mustTouch: readonly string[];
    /** vm-scripts/ files of the "after" checkout, when the step is a merge that changed them. @default none */
    readonly merged?: Readonly<Record<string, string>>;
    /** Builds the "before" state by a sequence of updates (a later step of a roll-out). @default one first deploy of `from` */
    readonly history?: () => Promise<ProgramRun>;
    /** Minutes after the "before" update the step runs (the guard's clock). @default 0 */
    readonly laterMinutes?: number;
    /**
     * Resources the step must never touch, whatever `mayTouch` says.
     * @default NEVER_TOUCHED (no VM, NIC, disk, SQL server or database)
     */
    readonly neverTouch?: readonly string[];
}

const LB = "azure-native:network:LoadBalancer::front-lb";
const ext = (color: string): string => `azure-native:compute:VirtualMachineExtension::${color}-deploy-*`;
/** The release guard's state is the release itself (live color, versions, settings): every step updates it. */
const GUARD = "pulumi-nodejs:dynamic/bluegreen:ReleaseGuard::release-guard";
/** The health gate is named after the live color: a flip replaces the old color's check with the new one's. */
const GATE = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine::*-gate-check";
/**
 * The post-flip watch's run on the agent (components/postFlipWatch.ts), named after the live color: a flip starts the
 * watch, a rollback stops it; a retry or a new copy of its scripts runs it again (the agent's watch resumes).
 */
const WATCH = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine::*-watch-run";
/** A color's migration runs (components/migrationRun.ts): its inputs are that color's version, so a flip touches none. */
const MIGRATE = (color: string): string => `azure-native:compute:VirtualMachineRunCommandByVirtualMachine::${color}-migrate-*`;
const migrateCommand = (color: string, phase: "expand" | "contract"): string =>
    `azure-native:compute:VirtualMachineRunCommandByVirtualMachine::${color}-migrate-${phase}`;
const vms = (color: string): string => `azure-native:compute:VirtualMachine::${color}-vm-*`;
/** The release agent's VM (components/releaseAgent.ts). */
const AGENT_VM = "azure-native:compute:VirtualMachine::agent-vm";

/** Resources no release step may ever touch, unless its row says otherwise (`neverTouch`). */
const NEVER_TOUCHED = [
    "azure-native:compute:VirtualMachine::*",
    "azure-native:network:NetworkInterface::*",
    "azure-native:compute:Disk::*",
    "azure-native:sql:Server::*",
    "azure-native:sql:Database::*",
];

/** The allowlist. D and E: append rows here (and extend mayTouch of the steps your resources join). */
const RELEASE_STEPS: readonly ReleaseStepCase[] = [
    {
        step: "flip: liveColor blue → green",
        change: { "azure-bluegreen:liveColor": "green" },
        mayTouch: [LB, GUARD, GATE, WATCH],
        // The gate must run on a flip (green's check is created), the guard must record the flip, the watch must start.
        mustTouch: [LB, GUARD, "azure-native:compute:VirtualMachineRunCommandByVirtualMachine::green-gate-check", "azure-native:compute:VirtualMachineRunCommandByVirtualMachine::green-watch-run"],
    },
    {
        step: "rollback: liveColor green → blue",
        from: { "azure-bluegreen:liveColor": "green" },
        change: { "azure-bluegreen:liveColor": "blue" },
        mayTouch: [LB, GUARD, GATE, WATCH],
        mustTouch: [LB, GUARD, "azure-native:compute:VirtualMachineRunCommandByVirtualMachine::blue-gate-check", "azure-native:compute:VirtualMachineRunCommandByVirtualMachine::blue-watch-run"],
    },
    {
        step: "deploy: the idle color (green) to 1.1.0",
        change: { "azure-bluegreen:greenVersion": "1.1.0", "azure-bluegreen:greenArtifactSha256": "1".repeat(64) },
        // The new version's expand migrations run first, from a green VM (its run command's script carries the version).
        mayTouch: [ext("green"), MIGRATE("green"), GUARD],
        mustTouch: [ext("green"), migrateCommand("green", "expand")],
    },
    {
        // VM size (and image) are per color, so an OS or size change is itself rolled out blue/green: on the idle color only.
        step: "deploy: the idle color's (green) VM size",
        change: { "azure-bluegreen:greenVmSize": "Standard_B2ms" },
        mayTouch: [vms("green"), GUARD],
        mustTouch: [vms("green")],
        neverTouch: [vms("blue"), ...NEVER_TOUCHED.filter((pattern) => !pattern.includes(":VirtualMachine::"))],
    },
    {
        // Azure cannot change a VM's image in place: the program replaces green's VMs (components/colorSet.ts).
        step: "deploy: the idle color's (green) image",
        change: { "azure-bluegreen:greenImage": "Debian:debian-13:13-gen2:0.20251112.2298" }, // e.g. a pinned newer Debian build
        mayTouch: [vms("green"), GUARD],
        mustTouch: [vms("green")],
        neverTouch: [vms("blue"), ...NEVER_TOUCHED.filter((pattern) => !pattern.includes(":VirtualMachine::"))],
    },
    {
        step: "retry a failed deploy: greenForceUpdateTag set",
        change: { "azure-bluegreen:greenForceUpdateTag": "retry-1" },
        mayTouch: [ext("green"), GUARD],
        mustTouch: [ext("green")],
    },
    {
        step: "override set: allowDeployIntoRollbackWindow true",
        change: { "azure-bluegreen:allowDeployIntoRollbackWindow": "true" },
        mayTouch: [GUARD],
        mustTouch: [GUARD],
    },
    {
        // A retry (after a failed gate or migration run, or an empty pool) runs the agent's runs under new names and
        // sends the load balancer again (its gate tag changes): the pools are sent again, the rule stays where it is.
        // The deployments are sent again too (their forceUpdateTag): deploy-app.sh is a no-op on a VM that already runs
        // its release healthy with these settings, so the live color is not restarted (tests/app/deployScript.int.test.ts).
        step: "retry: retryTag 1",
        change: { "azure-bluegreen:retryTag": "1" },
        mayTouch: [GATE, MIGRATE("blue"), MIGRATE("green"), LB, GUARD, ext("blue"), ext("green"), WATCH],
        mustTouch: [GATE, migrateCommand("blue", "expand"), migrateCommand("green", "expand"), LB, ext("blue"), ext("green")],
    },
    {
        // A merge that changes the app-VM files (here deploy-app.sh), with the live color pinned to what it runs
        // (blueVmTools, from the guard's refusal) and the idle color following the checkout: only green's
        // deployment gets them; blue's extensions keep their script (ignoreChanges). The agent's runs use the new
        // copy of the script too (new names: the gate, migration and watch runs again, the load balancer is sent again).
        step: "merge of vm-scripts/, live color pinned: the new files reach the idle color only",
        from: { "azure-bluegreen:blueVmTools": TOOLS_NOW, "azure-bluegreen:greenVmTools": TOOLS_NOW },
        change: { "azure-bluegreen:greenVmTools": "" },
        merged: MERGED_SCRIPTS,
        mayTouch: [ext("green"), GUARD, GATE, MIGRATE("blue"), MIGRATE("green"), LB, WATCH],
        mustTouch: [ext("green"), GUARD],
        neverTouch: [...NEVER_TOUCHED, ext("blue")],
    },
    {
        // After the flip and the window: the old color takes them too.
        // (the merge reached green as the idle color, green was flipped live, the rollback window has passed).
        step: "the old color (blue, idle) unpinned after the window: takes the merged vm-scripts/",
        from: { "azure-bluegreen:liveColor": "green", "azure-bluegreen:blueVmTools": TOOLS_NOW },
        change: { "azure-bluegreen:blueVmTools": "" },
        merged: MERGED_SCRIPTS,
        history: async () => {
            const first = await run(BEFORE);
            const pinned = { ...BEFORE, "azure-bluegreen:blueVmTools": TOOLS_NOW };
            const deployIdle = await runProgram(pinned, { previous: first, azure: first.azure?.clone(), vmScripts: MERGED_SCRIPTS });
            return runProgram({ ...pinned, "azure-bluegreen:liveColor": "green" }, { previous: deployIdle, vmScripts: MERGED_SCRIPTS });
        },
        laterMinutes: 16, // dev's rollbackWindowMinutes is 15
        mayTouch: [ext("blue"), GUARD],
        mustTouch: [ext("blue"), GUARD],
        neverTouch: [...NEVER_TOUCHED, ext("green")],
    },
    {
        // The agent runs no app and is not on the serving path: a new image replaces it, nothing else.
        step: "patch the release agent: agentImage",
        change: { "azure-bluegreen:agentImage": "Debian:debian-13:13-gen2:0.20251112.2298" },
        mayTouch: [AGENT_VM],
        mustTouch: [AGENT_VM],
        neverTouch: [...NEVER_TOUCHED.filter((pattern) => !pattern.includes(":VirtualMachine::")), vms("blue"), vms("green"), LB, GUARD],
    },
    {
        // Whether the versions allow it is the guard's and the runner's decision; here only what the step touches.
        step: "contract: runContractMigrations true",
        // Both colors on 2.0.0: the shipped contract migration requires it (the guard refuses it earlier).
        from: {
            "azure-bluegreen:blueVersion": "2.0.0",
            "azure-bluegreen:greenVersion": "2.0.0",
            "azure-bluegreen:blueArtifactSha256": "2".repeat(64),
            "azure-bluegreen:greenArtifactSha256": "2".repeat(64),
        },
        change: { "azure-bluegreen:runContractMigrations": "true" },
        mayTouch: [MIGRATE("blue"), MIGRATE("green"), GUARD],
        mustTouch: [migrateCommand("blue", "contract"), migrateCommand("green", "contract")],
    },
];


function matches(pattern: string, resource: string): boolean {
    const regex = new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    return regex.test(resource);
}

const runs = new Map<string, Promise<ProgramRun>>();
/** Runs the program once per distinct config (steps share their "before"): a first deploy. */
function run(values: StackValues): Promise<ProgramRun> {
    const key = JSON.stringify(values);
    if (!runs.has(key)) runs.set(key, runProgram(values));
    return runs.get(key) as Promise<ProgramRun>;
}

describe.each(RELEASE_STEPS)("release step: $step", ({ from, change, merged, history, laterMinutes = 0, mayTouch, mustTouch, neverTouch = NEVER_TOUCHED }) => {
    let touched: string[];
    beforeAll(async () => {
        const beforeValues = { ...BEFORE, ...from };
        const before = history ? await history() : await run(beforeValues);
        // The step is the next update: it starts from the state the "before" update left (the guard's included).
        const after = await runProgram({ ...beforeValues, ...change }, {
            previous: before,
            azure: before.azure?.clone(),
            now: new Date(Date.now() + laterMinutes * 60_000),
            ...(merged ? { vmScripts: merged } : {}),
        });
        for (const r of [before, after]) if (r.error) throw r.error;
        for (const r of [before, after]) expect(r.failures).toEqual([]);
        const changes = changedResources(before, after);
        touched = [...changes.changed, ...changes.added, ...changes.removed];
    });

    it("touches only resources on its allowlist", () => {
        expect(touched.filter((resource) => !mayTouch.some((pattern) => matches(pattern, resource)))).toEqual([]);
    });

    it("touches what it must (it is not a no-op)", () => {
        for (const pattern of mustTouch) expect({ pattern, touched: touched.some((r) => matches(pattern, r)) }).toEqual({ pattern, touched: true });
    });

    it("never touches a VM, NIC, disk or the database (beyond what its row allows: the idle color's VMs)", () => {
        expect(neverTouch.length).toBeGreaterThanOrEqual(NEVER_TOUCHED.length);
        expect(touched.filter((resource) => neverTouch.some((pattern) => matches(pattern, resource)))).toEqual([]);
    });
});

describe("a merge of vm-scripts/ never reaches the live color by itself", () => {
    it("is refused by the guard while both colors follow the checkout, naming the pin that keeps the live color as it is", async () => {
        const before = await run(BEFORE);
        const after = await runProgram(BEFORE, { previous: before, azure: before.azure?.clone(), vmScripts: MERGED_SCRIPTS });
        const text = `${after.error?.message ?? ""}\n${(after.failures ?? []).join("\n")}`;
        expect(text).toContain(`differ from what blue runs (${TOOLS_NOW})`);
        expect(text).toContain(`pulumi config set blueVmTools ${TOOLS_NOW}`);
        expect(TOOLS_MERGED).not.toBe(TOOLS_NOW);
        expect(after.resources.some((r) => r.type === "azure-native:compute:VirtualMachineExtension")).toBe(false);
    });

    it("refuses a new version on a color pinned to older VM tools (the program could not send them), naming the fix", async () => {
        const from = { ...BEFORE, "azure-bluegreen:greenVmTools": "0123456789ab" };
        const before = await run(from);
        const after = await runProgram({ ...from, "azure-bluegreen:greenVersion": "1.1.0", "azure-bluegreen:greenArtifactSha256": "1".repeat(64) }, { previous: before, azure: before.azure?.clone() });
        const text = `${after.error?.message ?? ""}\n${(after.failures ?? []).join("\n")}`;
        expect(text).toContain("green is pinned to VM tools 0123456789ab (greenVmTools)");
        expect(text).toContain("pulumi config rm greenVmTools");
    });
});

describe("the allowlist check itself", () => {
    const resource = (type: string, name: string, inputs: Record<string, unknown>): RegisteredResource =>
        ({ type, name, inputs, custom: true, protect: false, parent: "", dependencies: [], urn: `${type}::${name}` });
    const vm = (size: string) => resource("azure-native:compute:VirtualMachine", "green-vm-0", { hardwareProfile: { vmSize: size } });
    const lb = resource("azure-native:network:LoadBalancer", "front-lb", { sku: { name: "Standard" } });
    const programRun = (...resources: RegisteredResource[]): ProgramRun => ({ resources, outputs: {}, secretOutputs: [] });

    it("notices a change outside the allowlist (a VM size change touches a VM)", () => {
        const changes = changedResources(programRun(vm("Standard_B1ms"), lb), programRun(vm("Standard_B2s"), lb));
        expect(changes).toEqual({ changed: ["azure-native:compute:VirtualMachine::green-vm-0"], added: [], removed: [] });
        expect(changes.changed.filter((r) => NEVER_TOUCHED.some((p) => matches(p, r)))).toHaveLength(1);
        expect(changes.changed.filter((r) => !RELEASE_STEPS[0].mayTouch.some((p) => matches(p, r)))).toHaveLength(1);
    });

    const flips = RELEASE_STEPS.filter((row) => /^(flip|rollback):/.test(row.step));
    it.each([
        ["a VM", "azure-native:compute:VirtualMachine::green-vm-0"],
        ["a NIC", "azure-native:network:NetworkInterface::green-vm-0-nic"],
        ["a disk", "azure-native:compute:Disk::green-vm-0-os"],
        ["the SQL server", "azure-native:sql:Server::sql-server"],
        ["the database", "azure-native:sql:Database::sql-db"],
        ["an app deployment (VM extension)", "azure-native:compute:VirtualMachineExtension::green-deploy-0"],
        ["a migration run", "azure-native:compute:VirtualMachineRunCommandByVirtualMachine::green-migrate-expand"],
    ])("fails a flip or rollback that touched %s", (_what, resource) => {
        expect(flips.map((row) => row.step)).toHaveLength(2);
        for (const row of flips) expect({ step: row.step, allowed: row.mayTouch.some((pattern) => matches(pattern, resource)) }).toEqual({ step: row.step, allowed: false });
    });

    it("notices a resource that moved under another component (a new URN: Pulumi would replace it)", () => {
        const moved = { ...vm("Standard_B2s"), parent: "urn:pulumi:test::azure-bluegreen::bluegreen:healthGate:HealthGate::green-gate" };
        expect(changedResources(programRun(vm("Standard_B2s"), lb), programRun(moved, lb)).changed).toEqual(["azure-native:compute:VirtualMachine::green-vm-0"]);
    });

    it("reports added and removed resources, and ignores key order and unchanged secrets", () => {
        const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "pw" };
        const a = resource("t:m:A", "a", { x: 1, y: secret });
        const aReordered = resource("t:m:A", "a", { y: { ...secret }, x: 1 });
        const changes = changedResources(programRun(a, lb), programRun(aReordered, vm("S")));
        expect(changes).toEqual({ changed: [], added: ["azure-native:compute:VirtualMachine::green-vm-0"], removed: ["azure-native:network:LoadBalancer::front-lb"] });
    });

    it("matches * in patterns across any characters, and nothing else", () => {
        expect(matches(ext("green"), "azure-native:compute:VirtualMachineExtension::green-deploy-12")).toBe(true);
        expect(matches(ext("green"), "azure-native:compute:VirtualMachineExtension::blue-deploy-0")).toBe(false);
        expect(matches(LB, "azure-native:network:LoadBalancer::front-lb-2")).toBe(false);
    });
});
