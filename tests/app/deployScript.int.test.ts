// vm-scripts/deploy-app.sh run locally against stand-ins: an HTTP server on 127.0.0.1 playing IMDS, blob storage and
// Key Vault (tests/support/keyVaultStandIn.ts: the app's connection URL is a secret there), a temp dir as the root of /opt and /etc, and a stand-in systemctl that (re)starts the real packed app as a process.
import { execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { packApp } from "../../app/pack";
import { readVmScript } from "../../components/lib/vmScripts";
import { findHaproxy } from "../../rehearsal/haproxy";
import { KeyVaultStandIn, VAULT_RESOURCE, VAULT_TOKEN } from "../../rehearsal/keyVaultStandIn";
import { LocalVm, stopVm } from "../../rehearsal/localVm";
import { parseSlotMap, Slot } from "../../release/localProxy";
import { freePort } from "../support/postgres";
import { isRefused, request } from "./httpClient";

jest.setTimeout(180_000);

const SCRIPT = path.resolve(__dirname, "..", "..", "vm-scripts", "deploy-app.sh");
const STUBBORN_APP = path.resolve(__dirname, "..", "fixtures", "stubborn-app");
const TOKEN = "token-for-storage";

/** The stand-in for systemctl (the rehearsal's too): it runs the units deploy-app.sh writes as processes. */
const SYSTEMCTL = path.resolve(__dirname, "..", "..", "rehearsal", "stand-ins", "systemctl.sh");
const HAPROXY = findHaproxy() ?? "/usr/sbin/haproxy";

/** dpkg-query and apt-get stand-ins: a package is installed once apt-get installed it (listed in STANDIN_STATE/installed). */
const DPKG_QUERY = `#!/usr/bin/env bash
grep -qx "$3" "$STANDIN_STATE/installed" 2>/dev/null && printf 'install ok installed' || exit 1
`;
const APT_GET = `#!/usr/bin/env bash
echo "$*" >>"$STANDIN_STATE/apt.log"
for a in "$@"; do case "$a" in -*|install) ;; *) echo "$a" >>"$STANDIN_STATE/installed" ;; esac; done
`;

interface Artifact {
    readonly file: string;
    readonly sha256: string;
}

interface BlobRequest {
    readonly path: string;
    readonly authorization?: string;
    readonly msVersion?: string;
}

let work: string;
let contractScript: string;
let proxyScript: string;
let server: http.Server;
let serverPort: number;
const artifacts = new Map<string, Artifact>(); // blob path → artifact
const blobRequests: BlobRequest[] = [];
/** IMDS token requests for storage (Key Vault's are in `vault.tokenRequests`). */
let tokenRequests = 0;
const vault = new KeyVaultStandIn();
/** How many blob requests the stand-in still answers 403, as storage does until a new role assignment applies. */
let denyNext = 0;

/**
 * Another release of the same build: its manifest (and the sample's own stamp) say `version`, or `edit` changes the
 * unpacked tree (a hostile or broken artifact). Cheaper than a second real pack.
 */
function repack(source: string, version: string, edit?: (dir: string) => string[]): Artifact {
    const dir = fs.mkdtempSync(path.join(work, "repack-"));
    execFileSync("tar", ["-xzf", source, "-C", dir]);
    for (const file of ["build-info.json", "bluegreen.json"]) {
        const stamp = path.join(dir, file);
        fs.writeFileSync(stamp, JSON.stringify({ ...JSON.parse(fs.readFileSync(stamp, "utf8")), version }, null, 2) + "\n");
    }
    const extraTarArgs = edit ? edit(dir) : [];
    const file = path.join(work, `app-${version}-${path.basename(dir)}.tgz`);
    execFileSync("tar", ["-czf", file, "-C", dir, ".", ...extraTarArgs]);
    fs.rmSync(dir, { recursive: true, force: true });
    return { file, sha256: crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex") };
}

/** tests/fixtures/stubborn-app as the artifact of `version`. */
function packStubborn(version: string): Artifact {
    const dir = fs.mkdtempSync(path.join(work, "stubborn-"));
    fs.cpSync(STUBBORN_APP, dir, { recursive: true });
    const manifest = path.join(dir, "bluegreen.json");
    fs.writeFileSync(manifest, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifest, "utf8")), version }, null, 2) + "\n");
    const file = path.join(work, `stubborn-${version}.tgz`);
    execFileSync("tar", ["-czf", file, "-C", dir, "."]);
    return { file, sha256: crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex") };
}

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "bg-deploy-test-"));
    const packed = await packApp({ version: "1.0.0", distDir: path.join(work, "dist"), allowDirty: true }); // this checkout may have work in progress
    artifacts.set("/artifacts/app-1.0.0.tgz", { file: packed.artifact, sha256: packed.sha256 });
    artifacts.set("/artifacts/app-1.1.0.tgz", repack(packed.artifact, "1.1.0"));
    // Hostile or broken releases, each refused before anything on the VM changes.
    artifacts.set("/artifacts/app-1.2.0.tgz", repack(packed.artifact, "1.2.0", (dir) => {
        fs.symlinkSync("/etc", path.join(dir, "etc-link"));
        return [];
    }));
    artifacts.set("/artifacts/app-1.3.0.tgz", repack(packed.artifact, "1.3.0", (dir) => {
        fs.writeFileSync(path.join(dir, "bluegreen.json"), JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(dir, "bluegreen.json"), "utf8")), start: ["/usr/bin/node", "x.js"] }));
        return [];
    }));
    artifacts.set("/artifacts/app-1.4.0.tgz", repack(packed.artifact, "1.4.0", (dir) => {
        const outside = path.join(work, "outside.txt");
        fs.writeFileSync(outside, "x");
        fs.rmSync(path.join(dir, "bluegreen.json"));
        return ["-P", outside]; // an absolute path in the archive
    }));
    // A contract app that ignores SIGTERM and never closes a connection (tests/fixtures/stubborn-app), two versions.
    for (const version of ["5.0.0", "5.1.0"]) artifacts.set(`/artifacts/app-${version}.tgz`, packStubborn(version));
    contractScript = path.join(work, "app-contract.js");
    fs.writeFileSync(contractScript, readVmScript("app-contract.js")); // what the program ships
    proxyScript = path.join(work, "local-proxy.js");
    fs.writeFileSync(proxyScript, readVmScript("local-proxy.js"));

    server = http.createServer((req, res) => {
        if (vault.handle(req, res)) return;
        const url = new URL(req.url ?? "/", "http://standin");
        if (url.pathname === "/metadata/identity/oauth2/token") {
            tokenRequests++;
            const ok = req.headers.metadata === "true" && url.searchParams.get("resource") === "https://storage.azure.com/";
            res.writeHead(ok ? 200 : 400, { "content-type": "application/json" });
            res.end(ok ? JSON.stringify({ access_token: TOKEN, expires_in: "3599", token_type: "Bearer" }) : '{"error":"invalid_request"}');
            return;
        }
        blobRequests.push({ path: url.pathname, authorization: req.headers.authorization, msVersion: req.headers["x-ms-version"] as string | undefined });
        const roleNotYetApplied = denyNext > 0;
        if (roleNotYetApplied) denyNext--;
        if (roleNotYetApplied || req.headers.authorization !== `Bearer ${TOKEN}` || !req.headers["x-ms-version"]) {
            res.writeHead(403).end("AuthorizationPermissionMismatch");
            return;
        }
        const artifact = artifacts.get(url.pathname);
        if (!artifact) {
            res.writeHead(404).end("BlobNotFound");
            return;
        }
        res.writeHead(200, { "content-type": "application/octet-stream" });
        fs.createReadStream(artifact.file).pipe(res);
    });
    serverPort = await freePort();
    await new Promise<void>((r) => server.listen(serverPort, "127.0.0.1", r));
});

afterAll(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(work, { recursive: true, force: true });
});

/** One VM: its root, its local proxy's ports (the load balancer's backend ports), its slots' ports, its stand-in state. */
type Vm = Pick<LocalVm, "root" | "state" | "port" | "stagingPort" | "slotPorts" | "metricsPort">;

const vms: Vm[] = [];
async function newVm(): Promise<Vm> {
    const root = fs.mkdtempSync(path.join(work, "vm-"));
    const state = path.join(root, "standin");
    fs.mkdirSync(state);
    fs.writeFileSync(path.join(state, "dpkg-query"), DPKG_QUERY, { mode: 0o755 });
    fs.writeFileSync(path.join(state, "apt-get"), APT_GET, { mode: 0o755 });
    fs.writeFileSync(path.join(state, "cloud-init"), '#!/usr/bin/env bash\necho "$*" >>"$STANDIN_STATE/cloud-init.log"\n', { mode: 0o755 });
    const vm = { root, state, port: await freePort(), stagingPort: await freePort(), slotPorts: { a: await freePort(), b: await freePort() }, metricsPort: await freePort() };
    vms.push(vm);
    return vm;
}

/** Stops everything the stand-in systemctl started on the VM: the apps of both slots and the local proxy. */
const stopApp = stopVm;

/** The slot the VM's local proxy sends requests to (its map file). */
function activeSlot(vm: Vm): Slot | undefined {
    const map = path.join(vm.root, "etc/bluegreen/proxy/slot.map");
    return parseSlotMap(fs.existsSync(map) ? fs.readFileSync(map, "utf8") : undefined);
}
/** The main process of a slot's unit, as the stand-in systemctl recorded it. */
function slotPid(vm: Vm, slot = activeSlot(vm)): string {
    return fs.readFileSync(path.join(vm.state, `bluegreen-app-${slot}.service.pid`), "utf8").trim();
}
/** The env file of the serving slot. */
const envPath = (vm: Vm): string => path.join(vm.root, `etc/bluegreen/app-${activeSlot(vm) ?? "a"}.env`);
afterAll(() => vms.forEach(stopApp));

interface Run {
    readonly code: number | null;
    readonly output: string;
}

/** The app's connection URL the stand-in Key Vault holds unless a test sets another (`deploy(..., databaseUrl)`). */
const DEFAULT_DATABASE_URL = "memory:?password=kv-default-s3cret";

/**
 * Runs deploy-app.sh with the app's connection URL in the stand-in Key Vault as secret app-database-url, and checks
 * that the value appears in none of the script's output, whatever the outcome.
 */
async function deploy(vm: Vm, inputs: Record<string, string>, databaseUrl = DEFAULT_DATABASE_URL): Promise<Run> {
    vault.secrets.set("app-database-url", databaseUrl);
    const run = await runScript(vm, inputs);
    expect(run.output).not.toContain(databaseUrl);
    return run;
}

function runScript(vm: Vm, inputs: Record<string, string>): Promise<Run> {
    const env = {
        PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}`,
        BG_ROOT: vm.root,
        STANDIN_STATE: vm.state,
        SYSTEMCTL,
        HAPROXY,
        LOCAL_PROXY: proxyScript,
        PROXY_USER: "",
        PROXY_SERVED_BY: "green-vm-0",
        SLOT_PORT_A: String(vm.slotPorts.a),
        SLOT_PORT_B: String(vm.slotPorts.b),
        PROXY_METRICS_PORT: String(vm.metricsPort),
        CLOUD_INIT: path.join(vm.state, "cloud-init"),
        DPKG_QUERY: path.join(vm.state, "dpkg-query"),
        APT_GET: path.join(vm.state, "apt-get"),
        APP_CONTRACT: contractScript,
        IMDS_URL: `http://127.0.0.1:${serverPort}`,
        APP_PORT: String(vm.port),
        APP_STAGING_PORT: String(vm.stagingPort),
        WAIT_SECONDS: "20",
        AUTH_WAIT_SECONDS: "5",
        AUTH_RETRY_INTERVAL: "1",
        APP_COLOR: "green",
        KEYVAULT_URL: `http://127.0.0.1:${serverPort}/`,
        ...inputs,
    };
    return new Promise((resolve) => {
        const child = spawn("bash", [SCRIPT], { env, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (d: Buffer) => (output += d.toString()));
        child.stderr.on("data", (d: Buffer) => (output += d.toString()));
        child.on("close", (code) => resolve({ code, output }));
    });
}

function release(version: string, sha256?: string): Record<string, string> {
    const blob = `/artifacts/app-${version}.tgz`;
    return {
        APP_VERSION: version,
        ARTIFACT_URL: `http://127.0.0.1:${serverPort}${blob}`,
        ARTIFACT_SHA256: sha256 ?? artifacts.get(blob)?.sha256 ?? "0".repeat(64),
    };
}

const current = (vm: Vm): string | undefined => {
    try {
        return fs.readlinkSync(path.join(vm.root, "opt/app/current"));
    } catch {
        return undefined;
    }
};
const restarts = (vm: Vm): number =>
    fs.existsSync(path.join(vm.state, "systemctl.log"))
        ? fs.readFileSync(path.join(vm.state, "systemctl.log"), "utf8").split("\n").filter((l) => l.startsWith("start bluegreen-app-")).length
        : 0;

describe("deploy-app.sh", () => {
    describe("on one VM, release after release", () => {
        let vm: Vm;
        beforeAll(async () => (vm = await newVm()));

        it("deploys a good artifact: URL from Key Vault, token from IMDS, download with x-ms-version, verify, unpack, env file, switch, healthy", async () => {
            blobRequests.length = 0;
            tokenRequests = 0;
            vault.reset();
            const run = await deploy(vm, release("1.0.0"), "memory:?password=s3cret");
            expect(run.code).toBe(0);
            expect(run.output).toMatch(/switched to slot a and serving 1\.0\.0 in \d+ ms \(the app's own start: \d+ ms; the product's part: \d+ ms\)/);
            expect(activeSlot(vm)).toBe("a");
            const pid = slotPid(vm);
            expect(run.output.trim().split("\n").pop()).toBe(
                `deploy-app: release-proof {"color":"green","version":"1.0.0","sha256":"${artifacts.get("/artifacts/app-1.0.0.tgz")?.sha256}","release":"releases/1.0.0","pid":${pid}}`,
            );
            expect(run.output).not.toContain("s3cret");
            expect(run.output).not.toContain(TOKEN);
            expect(run.output).not.toContain(VAULT_TOKEN);
            expect(tokenRequests).toBe(1);
            expect(vault.tokenRequests).toEqual([{ resource: VAULT_RESOURCE, metadata: "true", clientId: null }]);
            expect(vault.vaultRequests).toEqual([{ secret: "app-database-url", apiVersion: "7.4", authorization: `Bearer ${VAULT_TOKEN}` }]);
            expect(blobRequests).toEqual([{ path: "/artifacts/app-1.0.0.tgz", authorization: `Bearer ${TOKEN}`, msVersion: "2021-08-06" }]);
            expect(current(vm)).toBe("releases/1.0.0");
            expect(fs.readFileSync(path.join(vm.state, "cloud-init.log"), "utf8")).toBe("status --wait\n");
            const envFile = envPath(vm);
            expect(fs.statSync(envFile).mode & 0o777).toBe(0o600);
            expect(fs.readFileSync(envFile, "utf8")).toBe(`APP_COLOR='green'\nAPP_VERSION='1.0.0'\nPORT='${vm.slotPorts.a}'\nDATABASE_URL='memory:?password=s3cret'\n`);
            expect((await request(vm.port, "/version")).body).toEqual({ version: "1.0.0", color: "green" });
        });

        it("starts the release by its manifest: the unit runs bin/start from the release directory, its runtime package installed first", () => {
            const unit = fs.readFileSync(path.join(vm.root, "etc/systemd/system/bluegreen-app-a.service"), "utf8");
            const releaseDir = path.join(vm.root, "opt/app/releases/1.0.0");
            expect(unit).toContain(`ExecStart=${releaseDir}/bin/start\n`);
            expect(unit).toContain(`WorkingDirectory=${releaseDir}\n`);
            expect(unit).toContain("TimeoutStopSec=60\n");
            expect(fs.readFileSync(path.join(vm.state, "apt.log"), "utf8")).toBe("install -y --no-install-recommends nodejs haproxy\n");
            // The app is started and healthy in its slot before the local proxy starts in front of it.
            expect(fs.readFileSync(path.join(vm.state, "systemctl.log"), "utf8")).toMatch(/^start bluegreen-app-a.service\n(show -p MainPID --value bluegreen-app-a.service\n)+enable bluegreen-app-a.service\ndaemon-reload\nenable bluegreen-proxy.service\nrestart bluegreen-proxy.service\n/m);
            // The proof: the unit's process runs from the release directory.
            const pid = slotPid(vm);
            expect(fs.realpathSync(`/proc/${pid}/cwd`)).toBe(fs.realpathSync(releaseDir));
        });

        it("is a no-op when run again with the same version and secret: no download, no restart", async () => {
            blobRequests.length = 0;
            tokenRequests = 0;
            const before = restarts(vm);
            const run = await deploy(vm, release("1.0.0"), "memory:?password=s3cret");
            expect(run.code).toBe(0);
            expect(run.output).toContain("already runs 1.0.0");
            expect(run.output).toMatch(/deploy-app: release-proof \{"color":"green","version":"1.0.0",.*\}\n$/);
            expect(blobRequests).toEqual([]);
            expect(tokenRequests).toBe(0);
            expect(restarts(vm)).toBe(before);
        });

        it("reloads the running local proxy when only its latency script changed (a product upgrade), and installs the new one", async () => {
            const script = path.join(vm.root, "etc/bluegreen/proxy/latency.lua");
            const wanted = fs.readFileSync(script, "utf8");
            fs.writeFileSync(script, `${wanted}-- an older release of the product\n`);
            const run = await deploy(vm, release("1.0.0"), "memory:?password=s3cret");
            expect(run.code).toBe(0);
            expect(run.output).toContain("the local proxy's configuration changed: reloading it");
            expect(fs.readFileSync(path.join(vm.state, "systemctl.log"), "utf8")).toMatch(/^reload bluegreen-proxy.service$/m);
            expect(fs.readFileSync(script, "utf8")).toBe(wanted);
            expect((await request(vm.port, "/version")).body).toEqual({ version: "1.0.0", color: "green" });
        });

        it("rewrites the env file and restarts the app when the secret changed (a rotated password), same version", async () => {
            const before = restarts(vm);
            const run = await deploy(vm, release("1.0.0"), "memory:?password=rotated-s3cret");
            expect(run.code).toBe(0);
            expect(restarts(vm)).toBe(before + 1);
            expect(fs.readFileSync(envPath(vm), "utf8")).toContain("DATABASE_URL='memory:?password=rotated-s3cret'\n");
        });

        it("switches to the next version and restarts the app, which then reports it, keeping the KEEP_RELEASES newest old releases", async () => {
            // three older releases, installed 1 to 3 days ago
            for (const [version, days] of [["0.9.0", 1], ["0.8.0", 2], ["0.7.0", 3]] as const) {
                const dir = path.join(vm.root, "opt/app/releases", version);
                fs.mkdirSync(dir, { recursive: true });
                const t = new Date(Date.now() - days * 86_400_000);
                fs.utimesSync(dir, t, t);
            }
            const run = await deploy(vm, { ...release("1.1.0"), KEEP_RELEASES: "2" }, "memory:?password=s3cret");
            expect(run.code).toBe(0);
            expect(current(vm)).toBe("releases/1.1.0");
            expect(fs.existsSync(path.join(vm.root, "opt/app/releases/1.0.0/dist/app/src/main.js"))).toBe(true);
            expect(fs.readdirSync(path.join(vm.root, "opt/app/releases")).sort()).toEqual(["0.9.0", "1.0.0", "1.1.0"]);
            expect(run.output).toMatch(/removing old release 0\.7\.0/);
            expect((await request(vm.port, "/version")).body).toEqual({ version: "1.1.0", color: "green" });
            expect(fs.readFileSync(path.join(vm.state, "apt.log"), "utf8").split("\n").filter(Boolean)).toHaveLength(1); // nodejs is installed now
        });

        it.each([
            ["a link resolving outside the release directory", "1.2.0", /link "\.\/etc-link" → "\/etc" resolves outside the release directory/],
            ["a start command outside the release directory", "1.3.0", /start\[0\] is "\/usr\/bin\/node", which is outside the release directory/],
            ["an absolute path and no manifest", "1.4.0", /absolute path, "\/.*outside\.txt"[\s\S]*has no bluegreen.json at its root/],
        ])("refuses an artifact with %s before unpacking it: the running release keeps serving", async (_what, version, message) => {
            const envBefore = fs.readFileSync(envPath(vm), "utf8");
            const unitPath = path.join(vm.root, `etc/systemd/system/bluegreen-app-${activeSlot(vm)}.service`);
            const unitBefore = fs.readFileSync(unitPath, "utf8");
            const before = restarts(vm);
            const run = await deploy(vm, release(version), "memory:?password=s3cret");
            expect(run.code).toBe(1);
            expect(run.output).toMatch(message);
            expect(run.output).toMatch(new RegExp(`the artifact of ${version} was refused \\(see above\\); green keeps running releases/1.1.0`));
            expect(current(vm)).toBe("releases/1.1.0");
            expect(fs.existsSync(path.join(vm.root, `opt/app/releases/${version}`))).toBe(false);
            expect(fs.readFileSync(envPath(vm), "utf8")).toBe(envBefore);
            expect(fs.readFileSync(unitPath, "utf8")).toBe(unitBefore);
            expect(restarts(vm)).toBe(before);
            expect((await request(vm.port, "/version")).body).toEqual({ version: "1.1.0", color: "green" });
        });

        it("refuses an artifact whose SHA-256 is wrong and leaves current, the env file and the running app untouched", async () => {
            const envBefore = fs.readFileSync(envPath(vm), "utf8");
            const before = restarts(vm);
            const wrong = "ab".repeat(32);
            const run = await deploy(vm, { ...release("1.0.0"), ARTIFACT_URL: release("1.1.0").ARTIFACT_URL.replace("1.1.0", "1.0.0"), APP_VERSION: "1.2.0", ARTIFACT_SHA256: wrong });
            expect(run.code).not.toBe(0);
            expect(run.output).toMatch(new RegExp(`checksum mismatch .*expected ${wrong}, got ${artifacts.get("/artifacts/app-1.0.0.tgz")?.sha256}. Nothing was changed`));
            expect(current(vm)).toBe("releases/1.1.0");
            expect(fs.existsSync(path.join(vm.root, "opt/app/releases/1.2.0"))).toBe(false);
            expect(fs.readFileSync(envPath(vm), "utf8")).toBe(envBefore);
            expect(restarts(vm)).toBe(before);
            expect((await request(vm.port, "/version")).body).toEqual({ version: "1.1.0", color: "green" });
        });
    });

    describe("side by side behind the local proxy, for an app that ignores SIGTERM and never closes a connection", () => {
        let vm: Vm;
        beforeAll(async () => (vm = await newVm()));
        afterAll(() => stopApp(vm));
        const PROXY = { PROXY_MAX_CONNECTION_AGE_MS: "1000" };

        it("redeploys under keep-alive load with 0 failed requests: the new release starts in the other slot, the proxy switches, the old one finishes its requests and is stopped", async () => {
            const first = await deploy(vm, { ...release("5.0.0"), ...PROXY });
            expect(first.code).toBe(0);
            expect(activeSlot(vm)).toBe("a");
            const oldPid = slotPid(vm, "a");

            // Load: 8 keep-alive clients in a loop, every 5th request slow (300 ms), until the deploy has ended.
            const results: { status: number; body: string; error?: string; startedAt: number }[] = [];
            let stop = false;
            const t0 = Date.now();
            const client = async (i: number): Promise<void> => {
                const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
                for (let n = 0; !stop; n++) {
                    const startedAt = Date.now() - t0;
                    try {
                        const r = await request(vm.port, n % 5 === i % 5 ? "/slow?ms=300" : "/", { agent });
                        results.push({ status: r.status, body: String(r.body), startedAt });
                    } catch (e) {
                        results.push({ status: 0, body: "", error: (e as Error).message, startedAt });
                    }
                }
                agent.destroy();
            };
            const clients = Array.from({ length: 8 }, (_, i) => client(i));
            await new Promise((r) => setTimeout(r, 300));
            const second = await deploy(vm, { ...release("5.1.0"), ...PROXY });
            await new Promise((r) => setTimeout(r, 300));
            stop = true;
            await Promise.all(clients);

            expect(second.code).toBe(0);
            expect(second.output).toMatch(/starting 5\.1\.0 in slot b .* beside slot a \(releases\/5\.0\.0\)/);
            expect(second.output).toMatch(/switched to slot b and serving 5\.1\.0 in \d+ ms/);
            expect(second.output).toMatch(/local-proxy: slot a drained: \d+ request\(s\) in flight at the switch, none after \d+ ms/);
            expect(activeSlot(vm)).toBe("b");
            const failed = results.filter((r) => r.status !== 200);
            expect(failed).toEqual([]);
            expect(results.length).toBeGreaterThan(50);
            expect(results.some((r) => r.body.startsWith("5.0.0"))).toBe(true);
            expect(results[results.length - 1].body).toMatch(/^5\.1\.0 /);
            expect((await request(vm.port, "/")).body).toMatch(/^5\.1\.0 /);
            // The old release ignored SIGTERM: it is killed after its stopTimeoutSeconds (2 s), without holding the deploy.
            const deadline = Date.now() + 8000;
            while (fs.existsSync(`/proc/${oldPid}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
            expect(fs.existsSync(`/proc/${oldPid}`)).toBe(false);
        });

        it("leaves the old release serving when the new one never becomes healthy", async () => {
            const serving = (await request(vm.port, "/")).body;
            // 5.0.0 again into slot a, but its start command is made to fail: it never answers.
            fs.writeFileSync(path.join(vm.root, "opt/app/releases/5.0.0/bin/start"), "#!/usr/bin/env bash\nexit 1\n", { mode: 0o755 });
            const run = await deploy(vm, { ...release("5.0.0"), ...PROXY, WAIT_SECONDS: "2" });
            expect(run.code).not.toBe(0);
            expect(run.output).toMatch(/green did not become healthy at 5\.0\.0 within 2s in slot a .*Nothing was switched: the local proxy still sends every request to slot b, releases\/5\.1\.0/);
            expect(activeSlot(vm)).toBe("b");
            expect(current(vm)).toBe("releases/5.1.0");
            expect((await request(vm.port, "/")).body).toBe(serving);
        });
    });

    it("waits up to 10 minutes for a 401/403 by default: a role assignment can take that long to apply", () => {
        expect(fs.readFileSync(SCRIPT, "utf8")).toMatch(/^AUTH_WAIT_SECONDS="\$\{AUTH_WAIT_SECONDS:-600\}"/m);
    });

    it("retries a 403 while the VM's new role assignment propagates, then deploys", async () => {
        const vm = await newVm();
        denyNext = 2;
        const run = await deploy(vm, release("1.0.0"));
        expect(denyNext).toBe(0);
        expect(run.output).toContain("role assignment may still be propagating");
        expect(run.output).toMatch(/answered 403: waiting for this VM's 'Storage Blob Data Reader' role assignment to apply .*it can take up to 10 minutes\); retrying in \d+s, \d+s left of 5s/);
        expect(run.code).toBe(0);
        expect(current(vm)).toBe("releases/1.0.0");
        stopApp(vm);
    });

    describe("the app's own settings and secrets (APP_SETTINGS, APP_SECRETS)", () => {
        let vm: Vm;
        beforeAll(async () => (vm = await newVm()));
        afterAll(() => stopApp(vm));
        const own = { APP_SETTINGS: "LOG_LEVEL=debug\nGREETING=a = b $HOME", APP_SECRETS: "STRIPE_KEY=stripe-key\nMAIL_PASSWORD=mail-password" };
        const envFile = (): string => fs.readFileSync(envPath(vm), "utf8");

        it("writes the settings as they are and each secret read from Key Vault into the env file, printing no secret value", async () => {
            vault.reset();
            vault.secrets.set("stripe-key", "sk_live_$(id)\"x\"");
            vault.secrets.set("mail-password", "m41l-s3cret");
            const run = await deploy(vm, { ...release("1.0.0"), ...own });
            expect(run.code).toBe(0);
            expect(vault.vaultRequests.map((r) => r.secret)).toEqual(["app-database-url", "stripe-key", "mail-password"]);
            expect(envFile()).toBe(
                `APP_COLOR='green'\nAPP_VERSION='1.0.0'\nPORT='${vm.slotPorts.a}'\nDATABASE_URL='${DEFAULT_DATABASE_URL}'\n` +
                "LOG_LEVEL='debug'\nGREETING='a = b $HOME'\nSTRIPE_KEY='sk_live_$(id)\"x\"'\nMAIL_PASSWORD='m41l-s3cret'\n",
            );
            expect(fs.statSync(envPath(vm)).mode & 0o777).toBe(0o600);
            expect(run.output).not.toContain("sk_live");
            expect(run.output).not.toContain("m41l-s3cret");
        });

        it("is a no-op with the same settings and secrets; a rotated secret rewrites the env file and restarts the app", async () => {
            const before = restarts(vm);
            const same = await deploy(vm, { ...release("1.0.0"), ...own });
            expect(same.output).toContain("already runs 1.0.0");
            expect(restarts(vm)).toBe(before);
            vault.secrets.set("mail-password", "r0tated-s3cret");
            const rotated = await deploy(vm, { ...release("1.0.0"), ...own });
            expect(rotated.code).toBe(0);
            expect(restarts(vm)).toBe(before + 1);
            expect(envFile()).toContain("MAIL_PASSWORD='r0tated-s3cret'\n");
            expect(rotated.output).not.toContain("r0tated-s3cret");
        });

        it("fails on a secret that is not in the vault, naming it and the command that puts it there, before changing anything", async () => {
            const envBefore = envFile();
            const restartsBefore = restarts(vm);
            blobRequests.length = 0;
            const run = await deploy(vm, { ...release("1.1.0"), ...own, APP_SECRETS: `${own.APP_SECRETS}\nAPI_TOKEN=api-token` });
            expect(run.code).toBe(1);
            expect(run.output).toContain("could not read the app's secret API_TOKEN (Key Vault secret api-token, greenAppSecrets)");
            expect(run.output).toContain("Nothing was changed on this VM: green keeps running releases/1.0.0");
            expect(run.output).toMatch(/az rest --method put --url "https:\/\/management.azure.com\$\(az keyvault show --name 127 --query id -o tsv\)\/secrets\/api-token\?api-version=2023-07-01"/);
            expect(run.output).toContain("pulumi config set greenForceUpdateTag <new value> && pulumi up");
            expect(run.output).not.toContain("r0tated-s3cret");
            expect(blobRequests).toEqual([]);
            expect(current(vm)).toBe("releases/1.0.0");
            expect(envFile()).toBe(envBefore);
            expect(restarts(vm)).toBe(restartsBefore);
            expect((await request(vm.port, "/version")).body).toEqual({ version: "1.0.0", color: "green" });
        });

        it.each([
            [{ APP_SETTINGS: "PORT=9999" }, /app setting PORT is set by the product itself/],
            [{ APP_SETTINGS: "1X=y" }, /app setting "1X" is not an environment variable name/],
            [{ APP_SECRETS: "TOKEN=bad_name" }, /app secret "TOKEN=bad_name" is not NAME=<Key Vault secret name>/],
            [{ APP_SETTINGS: "TOKEN=x", APP_SECRETS: "TOKEN=token" }, /app secret TOKEN is set twice/],
            [{ APP_SETTINGS: "MSG=it's" }, /MSG \(greenAppSettings\) contains a single quote or a newline/],
        ])("refuses bad input %j with exit 2 before changing anything", async (inputs, message) => {
            const envBefore = envFile();
            const run = await deploy(vm, { ...release("1.0.0"), ...inputs });
            expect(run.code).toBe(2);
            expect(run.output).toMatch(message);
            expect(envFile()).toBe(envBefore);
        });
    });

    describe("the app's connection URL from Key Vault", () => {
        it("waits while Key Vault answers 403 (the VM's role assignment propagating), then deploys with the secret", async () => {
            const vm = await newVm();
            vault.reset();
            vault.denyNext = 2;
            const run = await deploy(vm, release("1.0.0"), "memory:?password=after-the-wait");
            expect(vault.denyNext).toBe(0);
            expect(run.output).toMatch(/answered 403 for secret app-database-url .*waiting for this VM's role assignment on the vault to propagate/);
            expect(run.code).toBe(0);
            expect(fs.readFileSync(envPath(vm), "utf8")).toContain("DATABASE_URL='memory:?password=after-the-wait'\n");
            stopApp(vm);
        });

        it("fails when the secret is not in the vault, naming it, before downloading or changing anything", async () => {
            const vm = await newVm();
            blobRequests.length = 0;
            const run = await deploy(vm, { ...release("1.0.0"), DATABASE_URL_SECRET: "no-such-secret" });
            expect(run.code).toBe(1);
            expect(run.output).toMatch(/secret no-such-secret is not in Key Vault .*Create it/);
            expect(run.output).toContain("could not read the app's connection URL (secret no-such-secret) from Key Vault");
            expect(blobRequests).toEqual([]);
            expect(current(vm)).toBeUndefined();
            expect(fs.existsSync(envPath(vm))).toBe(false);
            expect(restarts(vm)).toBe(0);
        });

        it("writes a secret with shell metacharacters and double quotes into the env file unchanged", async () => {
            const vm = await newVm();
            const nasty = 'memory:?password=a"b$(id)`x`;c&d|e\\f $HOME';
            const run = await deploy(vm, release("1.0.0"), nasty);
            expect(run.code).toBe(0);
            expect(fs.readFileSync(envPath(vm), "utf8")).toContain(`DATABASE_URL='${nasty}'\n`);
            stopApp(vm);
        });

        it.each([
            ["a single quote", "postgres://u:it's-Secret@h/db"],
            ["a newline", "postgres://u:Secret@h/db\nX=1"],
            ["a trailing newline", "postgres://u:Secret@h/db\n"],
        ])("refuses a secret holding %s with exit 2, naming the secret but not its value", async (_, value) => {
            const vm = await newVm();
            const run = await deploy(vm, release("1.0.0"), value);
            expect(run.code).toBe(2);
            expect(run.output).toContain("DATABASE_URL (Key Vault secret app-database-url) contains a single quote or a newline, which the env file cannot hold; URL-encode it");
            expect(run.output).not.toContain("Secret@h");
            expect(fs.existsSync(envPath(vm))).toBe(false);
            expect(restarts(vm)).toBe(0);
        });
    });

    it("gives up on a 403 after AUTH_WAIT_SECONDS, naming the missing role, and changes nothing", async () => {
        const vm = await newVm();
        denyNext = 1000;
        const started = Date.now();
        const run = await deploy(vm, { ...release("1.0.0"), AUTH_WAIT_SECONDS: "2" });
        denyNext = 0;
        expect(run.code).not.toBe(0);
        expect(run.output).toContain("answered 403 for 2s");
        expect(run.output).toContain("Storage Blob Data Reader");
        expect(Date.now() - started).toBeLessThan(15000);
        expect(current(vm)).toBeUndefined();
    });

    it("fails clearly when the artifact is not in the container, changing nothing", async () => {
        const vm = await newVm();
        const run = await deploy(vm, release("9.9.9", "c".repeat(64)));
        expect(run.code).not.toBe(0);
        expect(run.output).toMatch(/app-9\.9\.9\.tgz answered 404: app-9\.9\.9\.tgz is not in the container. Publish it \(npm run app:pack -- 9\.9\.9, then pulumi up uploads dist\/app-9\.9\.9\.tgz/);
        expect(current(vm)).toBeUndefined();
        expect(fs.existsSync(envPath(vm))).toBe(false);
        expect(restarts(vm)).toBe(0);
    });

    it("fails, naming what the app answered, when the new version never becomes healthy", async () => {
        const vm = await newVm();
        const deadDb = `postgres://app@127.0.0.1:${await freePort()}/app`;
        const run = await deploy(vm, { ...release("1.0.0"), WAIT_SECONDS: "3" }, deadDb);
        expect(run.code).not.toBe(0);
        expect(run.output).toMatch(/green did not become healthy at 1\.0\.0 within 3s .*last answer: slot a: process \d+ in .*releases\/1\.0\.0, \/health 503/);
        stopApp(vm);
    });

    it("refuses an artifact whose manifest is not the version asked for", async () => {
        const vm = await newVm();
        const run = await deploy(vm, { ...release("1.0.0"), APP_VERSION: "1.0.1" });
        expect(run.code).not.toBe(0);
        expect(run.output).toMatch(/bluegreen.json says version 1.0.0, but the deployment asks for 1.0.1/);
        expect(current(vm)).toBeUndefined();
    });

    it.each([
        [{ APP_COLOR: "purple" }, /APP_COLOR="purple" must be blue or green/],
        [{ APP_VERSION: "latest" }, /APP_VERSION="latest" is not a semantic version/],
        [{ ARTIFACT_SHA256: "abc" }, /ARTIFACT_SHA256="abc" is not a SHA-256/],
        [{ ARTIFACT_URL: "ftp://x/app.tgz" }, /ARTIFACT_URL="ftp:\/\/x\/app.tgz" is not an http\(s\) URL/],
        [{ KEYVAULT_URL: "" }, /KEYVAULT_URL is empty; the deployment passes the URI of the Key Vault holding secret app-database-url/],
        [{ KEYVAULT_URL: "ftp://kv" }, /vault URL "ftp:\/\/kv" is not a Key Vault URI/],
        [{ KEYVAULT_SCRIPT: "/nonexistent/keyvault-secret.sh" }, /\/nonexistent\/keyvault-secret.sh is missing/],
    ])("refuses the input %j with exit 2 before touching anything", async (bad, message) => {
        const vm = await newVm();
        const run = await deploy(vm, { ...release("1.0.0"), ...bad });
        expect(run.code).toBe(2);
        expect(run.output).toMatch(message);
        expect(fs.existsSync(path.join(vm.root, "opt/app/current"))).toBe(false);
        expect(restarts(vm)).toBe(0);
    });

    it("is clean under shellcheck", () => {
        expect(() => execFileSync("shellcheck", [SCRIPT], { encoding: "utf8" })).not.toThrow();
    });

    it("does not leave the port open after the stand-in app is stopped (test hygiene)", async () => {
        const vm = vms[0];
        stopApp(vm);
        await new Promise((r) => setTimeout(r, 200));
        expect(await isRefused(vm.port)).toBe(true);
    });
});
