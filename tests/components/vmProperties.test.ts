/**
 * Every VM property the config can change, and what a change does (the table in docs/infrastructure.md, "What a
 * change does to the VMs"): updated in place, replaces the idle color's VMs, or refused by the release guard. Each row
 * is one update after a first deploy (blue live, green idle), under mocks with the state carried over.
 *
 * "Replaced" means an input changed under one of the VM's `replaceOnChanges` paths (Azure refuses those changes in
 * place: pulumi-azure-native#1117, #577); "in place" means its inputs changed elsewhere only.
 */
import { colorStateOf } from "../../components/releaseGuard";
import { currentVmToolsHash } from "../../components/lib/vmTools";
import { RawConfig, validateConfig } from "../../config/validate";
import { evaluateRelease, ReleaseState } from "../../release/guard";
import { baseConfig, ProgramRun, RegisteredResource, runProgram } from "../support/pulumiProgram";

const VM = "azure-native:compute:VirtualMachine";
const NEW_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBqK2yqj3m0HfJjXbq6o3kq8b3l7nq9i6Yc0lX5r8w2Z new-key";
const OTHER_IMAGE = "Canonical:ubuntu-24_04-lts:server:latest";

/** The dotted paths (arrays as `[i]`) where two values differ. */
function changedPaths(a: unknown, b: unknown, at = ""): string[] {
    if (a === b) return [];
    if (a && b && typeof a === "object" && typeof b === "object") {
        const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
        return [...keys].flatMap((k) => changedPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${at}[${k}]` : at ? `${at}.${k}` : k));
    }
    return [at];
}

type Effect = "untouched" | "in place" | "replaced" | "added" | "removed";

function effectOn(before: ProgramRun, after: ProgramRun, name: string): Effect {
    const was = before.resources.find((r) => r.type === VM && r.name === name);
    const is = after.resources.find((r) => r.type === VM && r.name === name);
    if (!was && !is) throw new Error(`no VM ${name} in either run`);
    if (!was) return "added";
    if (!is) return "removed";
    const ignored = new Set(is.ignoreChanges ?? []);
    const paths = changedPaths(was.inputs, is.inputs).filter((p) => ![...ignored].some((i) => p === i || p.startsWith(`${i}.`)));
    if (paths.length === 0) return "untouched";
    return paths.some((p) => (is.replaceOnChanges ?? []).some((r) => p === r || p.startsWith(`${r}.`) || p.startsWith(`${r}[`))) ? "replaced" : "in place";
}

function vmsOf(run: ProgramRun, prefix: string): RegisteredResource[] {
    return run.resources.filter((r) => r.type === VM && r.name.startsWith(prefix));
}

/** One row of the table: the change (on top of the first deploy) and its effect on each color's VMs and the agent. */
interface Row {
    readonly property: string;
    readonly change: Record<string, string>;
    /** The first deploy's extra config (e.g. per-color keys already set). */
    readonly first?: Record<string, string>;
    /** Effect on blue (live), green (idle) and the agent; or the guard's refusal. */
    readonly expect: { blue: Effect; green: Effect | "added"; agent: Effect } | { refused: RegExp };
    /** A refusal checked through the whole program too (the others ask the guard with what the program passes it). */
    readonly wholeProgram?: boolean;
}

/** The release state the program passes its guard for a config (index.ts: colorStateOf of the validated config). */
function guardStateOf(values: Record<string, string>): ReleaseState {
    const config = validateConfig(values as unknown as RawConfig);
    const tools = currentVmToolsHash();
    return { liveColor: config.liveColor, blue: colorStateOf(config.colors.blue, tools, config), green: colorStateOf(config.colors.green, tools, config) };
}

const ROWS: Row[] = [
    { property: "greenVersion (+ greenArtifactSha256)", change: { greenVersion: "1.1.0", greenArtifactSha256: "c".repeat(64) }, expect: { blue: "untouched", green: "untouched", agent: "untouched" } },
    { property: "greenVmSize", change: { greenVmSize: "Standard_D2s_v5" }, expect: { blue: "untouched", green: "in place", agent: "untouched" } },
    { property: "greenImage", change: { greenImage: OTHER_IMAGE }, expect: { blue: "untouched", green: "replaced", agent: "untouched" } },
    { property: "greenSshPublicKey", change: { greenSshPublicKey: NEW_KEY }, expect: { blue: "untouched", green: "replaced", agent: "untouched" } },
    { property: "agentVmSize", change: { agentVmSize: "Standard_B2s" }, expect: { blue: "untouched", green: "untouched", agent: "in place" } },
    { property: "agentImage", change: { agentImage: OTHER_IMAGE }, expect: { blue: "untouched", green: "untouched", agent: "replaced" } },
    {
        property: "sshPublicKey with both colors' keys kept (rotation, last step)",
        first: { blueSshPublicKey: baseConfig().sshPublicKey, greenSshPublicKey: baseConfig().sshPublicKey },
        change: { sshPublicKey: NEW_KEY },
        expect: { blue: "untouched", green: "untouched", agent: "replaced" },
    },
    { property: "sshPublicKey (both colors at once)", wholeProgram: true, change: { sshPublicKey: NEW_KEY }, expect: { refused: /the SSH key of blue, the live color, would change .*Rotate with no downtime: keep blue's key \(pulumi config set blueSshPublicKey/ } },
    { property: "blueSshPublicKey (the live color)", change: { blueSshPublicKey: NEW_KEY }, expect: { refused: /the SSH key of blue, the live color, would change/ } },
    { property: "vmSize (both colors at once)", change: { vmSize: "Standard_D2s_v5" }, expect: { refused: /refusing to change blue, the live color \(vmSize Standard_B2s → Standard_D2s_v5\)/ } },
    { property: "image (both colors at once)", change: { image: OTHER_IMAGE }, expect: { refused: /refusing to change blue, the live color \(image/ } },
    { property: "blueInstanceCount (the live color)", change: { blueInstanceCount: "2" }, expect: { refused: /refusing to change blue, the live color \(settings.instanceCount 1 → 2\)/ } },
    { property: "adminUsername", change: { adminUsername: "ops" }, expect: { refused: /adminUsername cannot change once the VMs exist \(azureops → ops\).*Put it back: pulumi config set adminUsername azureops/ } },
    { property: "zones", change: { zones: JSON.stringify(["1", "2"]) }, expect: { refused: /zones cannot change once the VMs exist \(\(none\) → 1,2\)/ } },
];

/** First deploys, one per extra config, shared by the rows (each next update talks to its own copy of Azure). */
const firsts = new Map<string, Promise<ProgramRun>>();
function firstDeploy(extra: Record<string, string> = {}): Promise<ProgramRun> {
    const key = JSON.stringify(extra);
    if (!firsts.has(key)) firsts.set(key, runProgram(baseConfig(extra)));
    return firsts.get(key) as Promise<ProgramRun>;
}
async function nextUpdate(first: ProgramRun, values: Record<string, string>, options: { vmScripts?: Record<string, string> } = {}): Promise<ProgramRun> {
    return runProgram(baseConfig(values), { previous: first, azure: first.azure?.clone(), ...options });
}

describe("what a change of each VM property does (docs/infrastructure.md)", () => {
    it.each(ROWS)("$property", async ({ change, first: firstExtra = {}, expect: expected, wholeProgram }) => {
        if ("refused" in expected && !wholeProgram) {
            const verdict = evaluateRelease(guardStateOf(baseConfig(firstExtra)), guardStateOf(baseConfig({ ...firstExtra, ...change })), { now: new Date(), rollbackWindowMinutes: 60 });
            expect(verdict.allowed).toBe(false);
            expect(verdict.reasons.join("\n")).toMatch(expected.refused);
            return;
        }
        const first = await firstDeploy(firstExtra);
        expect(first.failures).toEqual([]);
        const next = await nextUpdate(first, { ...firstExtra, ...change });
        if ("refused" in expected) {
            expect(next.failures?.join("\n")).toMatch(expected.refused);
            return;
        }
        expect({ error: next.error?.message, failures: next.failures }).toEqual({ error: undefined, failures: [] });
        expect(vmsOf(next, "blue-vm").map((vm) => effectOn(first, next, vm.name))).toEqual(vmsOf(first, "blue-vm").map(() => expected.blue));
        expect(effectOn(first, next, "green-vm-0")).toBe(expected.green);
        expect(effectOn(first, next, "agent-vm")).toBe(expected.agent);
    });

    it("greenInstanceCount adds (or removes) the idle color's VMs only", async () => {
        const first = await firstDeploy();
        const next = await nextUpdate(first, { greenInstanceCount: "2" });
        expect(next.failures).toEqual([]);
        expect(effectOn(first, next, "green-vm-1")).toBe("added");
        expect(effectOn(first, next, "green-vm-0")).toBe("untouched");
        expect(effectOn(first, next, "blue-vm-0")).toBe("untouched");
        const back = await runProgram(baseConfig(), { previous: next });
        expect(back.failures).toEqual([]);
        expect(effectOn(next, back, "green-vm-1")).toBe("removed");
    });

    it("a new cloud-init (customData) replaces the idle color's VMs, the live color pinned to the tools it runs", async () => {
        const first = await firstDeploy();
        const next = await nextUpdate(first, { blueVmTools: currentVmToolsHash() }, { vmScripts: { "provision/cloud-init.yaml": "#cloud-config\n# a changed provisioning\n" } });
        expect(next.failures).toEqual([]);
        expect(effectOn(first, next, "green-vm-0")).toBe("replaced");
        expect(effectOn(first, next, "blue-vm-0")).toBe("untouched");
    });

    it("a new cloud-init on both colors is refused, naming the pin", async () => {
        const first = await firstDeploy();
        const next = await nextUpdate(first, {}, { vmScripts: { "provision/cloud-init.yaml": "#cloud-config\n# changed\n" } });
        expect(next.failures?.join("\n")).toMatch(/pin the live color to what it runs \(pulumi config set blueVmTools [0-9a-f]{12}\)/);
    });

    it("a state recorded before the SSH key, administrator and zones were tracked takes them as they are", async () => {
        const { evaluateRelease } = await import("../../release/guard");
        const first = await firstDeploy();
        const guardState = first.state?.get("pulumi-nodejs:dynamic/bluegreen:ReleaseGuard::release-guard")?.outputs.state as import("../../release/guard").ReleaseState;
        const strip = (c: import("../../release/guard").ColorState) => ({ ...c, settings: Object.fromEntries(Object.entries(c.settings ?? {}).filter(([k]) => !["sshKey", "adminUsername", "zones"].includes(k))) });
        const older = { ...guardState, blue: strip(guardState.blue), green: strip(guardState.green) };
        const verdict = evaluateRelease(older, guardState, { now: new Date(), rollbackWindowMinutes: 60 });
        expect(verdict).toMatchObject({ allowed: true, step: "no-change" });
    });
});
