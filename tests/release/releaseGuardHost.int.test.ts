// The release guard's provider as Pulumi's dynamic provider host runs it: serialized here, then loaded from its text
// and called in a separate plain `node` process (no ts-node registered, no jest), the way the host does it
// (`requireFromString(text).handler()`, in @pulumi/pulumi/cmd/dynamic-provider).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { releaseGuardProvider } from "../../components/releaseGuard";
import { colorState, guardInputs } from "./fixtures";

const REPO = path.join(__dirname, "../..");

/** Runs `calls` (JavaScript using `provider`) in a plain node process against the serialized provider. */
function inHost(providerText: string, calls: string): { status: number | null; stdout: string; stderr: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "guard-host-"));
    try {
        fs.writeFileSync(path.join(dir, "provider.js"), providerText);
        const script = `
            const requireFromString = require(require.resolve("require-from-string", { paths: [${JSON.stringify(REPO)}] }));
            const provider = requireFromString(require("fs").readFileSync(${JSON.stringify(path.join(dir, "provider.js"))}, "utf8")).handler();
            (async () => { ${calls} })().catch((e) => { console.log(JSON.stringify({ error: e.message })); });
        `;
        const r = spawnSync(process.execPath, ["-e", script], { cwd: REPO, encoding: "utf8", timeout: 60_000, env: { ...process.env, NODE_OPTIONS: "" } });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const color = colorState;
const inputs = guardInputs;

let text: string;
beforeAll(async () => {
    text = (await pulumi.runtime.serializeFunction(() => releaseGuardProvider, { allowSecrets: true })).text;
});

it("records the first deploy, then a flip, in a plain node process", () => {
    const r = inHost(text, `
        const first = await provider.create(${JSON.stringify(inputs({ green: color("2.0.0") }))});
        const flip = await provider.update("release-guard", first.outs, ${JSON.stringify(inputs({ liveColor: "green", green: color("2.0.0") }))});
        console.log(JSON.stringify({ first: first.outs.step, flip: flip.outs.step, previous: flip.outs.state.previousLiveColor }));
    `);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout.trim().split("\n").pop() as string)).toEqual({ first: "first-deploy", flip: "flip", previous: "blue" });
});

it("refuses a change of the live color in diff, with the safe sequence, in a plain node process", () => {
    const r = inHost(text, `
        const first = await provider.create(${JSON.stringify(inputs())});
        await provider.diff("release-guard", first.outs, ${JSON.stringify(inputs({ blue: color("2.0.0") }))});
        console.log(JSON.stringify({ error: null }));
    `);
    const out = JSON.parse(r.stdout.trim().split("\n").pop() as string) as { error: string | null };
    expect(out.error).toContain("refusing to change blue, the live color");
    expect(out.error).toContain("pulumi config set greenVersion 2.0.0");
});
