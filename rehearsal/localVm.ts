/**
 * App VMs on this machine, deployed by the product's own deploy path: vm-scripts/deploy-app.sh runs for each "VM"
 * exactly as the Custom Script extension runs it on Azure — download with a managed-identity token, SHA-256, the app
 * contract's checks, the release started beside the running one in the other slot, the VM's local proxy (HAProxy,
 * release/localProxy.ts) switched to it, the old slot drained and stopped, a release proof printed.
 *
 * What Azure and the VM image provide is stood in for: IMDS tokens, blob storage and Key Vault by one HTTP server on
 * 127.0.0.1 ({@link startAzureStandIn}); systemd by rehearsal/stand-ins/systemctl.sh (units run as processes); the
 * Debian packages the manifest asks for must already be installed here (prerequisites.ts checks the rehearsal's own).
 */
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { readVmScript } from "../components/lib/vmScripts";
import { Color } from "../release/colors";
import { Cleanup } from "./cleanup";
import { findHaproxy } from "./haproxy";
import { KeyVaultStandIn } from "./keyVaultStandIn";
import { freeFixedPort } from "./postgres";

const REPO_ROOT = path.resolve(__dirname, "..");
const DEPLOY_SCRIPT = path.join(REPO_ROOT, "vm-scripts", "deploy-app.sh");
const SYSTEMCTL = path.join(REPO_ROOT, "rehearsal", "stand-ins", "systemctl.sh");
/** The storage token the stand-in hands out and accepts. */
const STORAGE_TOKEN = "rehearsal-storage-token";

/** IMDS, blob storage and Key Vault for the local VMs. */
export interface AzureStandIn {
    /** http://127.0.0.1:<port>: IMDS, the vault and the artifact container at once. */
    readonly url: string;
    readonly vault: KeyVaultStandIn;
    /** Publishes a file as `<url>/artifacts/<name>`; returns its URL and SHA-256. */
    publish(file: string, name: string): { url: string; sha256: string };
}

/** Starts the stand-in (stopped by `cleanup`). */
export async function startAzureStandIn(cleanup: Cleanup): Promise<AzureStandIn> {
    const vault = new KeyVaultStandIn();
    const blobs = new Map<string, string>(); // path → file
    const server = http.createServer((req, res) => {
        if (vault.handle(req, res)) return;
        const url = new URL(req.url ?? "/", "http://standin");
        if (url.pathname === "/metadata/identity/oauth2/token") {
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ access_token: STORAGE_TOKEN, expires_in: "3599", token_type: "Bearer" }));
            return;
        }
        const file = blobs.get(url.pathname);
        if (req.headers.authorization !== `Bearer ${STORAGE_TOKEN}` || !req.headers["x-ms-version"]) {
            res.writeHead(403).end("AuthorizationPermissionMismatch");
        } else if (!file) {
            res.writeHead(404).end("BlobNotFound");
        } else {
            res.writeHead(200, { "content-type": "application/octet-stream" });
            fs.createReadStream(file).pipe(res);
        }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanup.add("stop the Azure stand-in", () => new Promise<void>((resolve) => server.close(() => resolve())));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return {
        url: base,
        vault,
        publish(file, name) {
            blobs.set(`/artifacts/${name}`, file);
            return { url: `${base}/artifacts/${name}`, sha256: crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex") };
        },
    };
}

/** One app VM: its root (/opt, /etc, /var under it), its local proxy's ports and its slots' ports. */
export interface LocalVm {
    /** `blue-0`: the name the local proxy puts last in x-served-by. */
    readonly name: string;
    readonly color: Color;
    readonly root: string;
    /** The stand-in systemd's state (pid files, each unit's output, the calls). */
    readonly state: string;
    /** Where the load balancer's production rule reaches the VM (its local proxy). */
    readonly port: number;
    /** Where the staging rule reaches it. */
    readonly stagingPort: number;
    readonly slotPorts: { readonly a: number; readonly b: number };
    /** The local proxy's Prometheus endpoint (`/metrics`). */
    readonly metricsPort: number;
}

const INSTALLED = "#!/usr/bin/env bash\n# The rehearsal checks the packages it needs itself (prerequisites.ts).\nprintf 'install ok installed'\n";

/** Creates a VM's directories and stand-ins, and reserves its ports. */
export async function createVm(work: string, color: Color, index: number): Promise<LocalVm> {
    const name = `${color}-${index}`;
    const root = path.join(work, "vms", name);
    const state = path.join(root, "standin");
    fs.mkdirSync(state, { recursive: true });
    fs.writeFileSync(path.join(state, "dpkg-query"), INSTALLED, { mode: 0o755 });
    return {
        name,
        color,
        root,
        state,
        port: await freeFixedPort(),
        stagingPort: await freeFixedPort(),
        slotPorts: { a: await freeFixedPort(), b: await freeFixedPort() },
        metricsPort: await freeFixedPort(),
    };
}

/** Stops every process the stand-in systemd started on the VM (its apps and its local proxy): SIGKILL. */
export function stopVm(vm: Pick<LocalVm, "state">): void {
    if (!fs.existsSync(vm.state)) return;
    for (const file of fs.readdirSync(vm.state).filter((f) => f.endsWith(".pid"))) {
        try {
            process.kill(Number(fs.readFileSync(path.join(vm.state, file), "utf8")), "SIGKILL");
        } catch {
            // already gone
        }
    }
}

export interface Deployment {
    readonly version: string;
    readonly artifactUrl: string;
    readonly sha256: string;
    /** The app's own settings (`NAME=value` lines), as `<color>AppSettings`. @default none */
    readonly appSettings?: string;
    /** A client connection older than this is closed by the local proxy after its next answer. */
    readonly maxConnectionAgeMs: number;
    /** How long the release has to become healthy. @default the manifest's startTimeoutSeconds */
    readonly waitSeconds?: number;
}

export interface DeployResult {
    readonly vm: LocalVm;
    readonly code: number | null;
    readonly output: string;
    readonly ms: number;
}

/** Where the transpiled VM tools go for a run (written once per work directory). */
function vmTools(work: string): { contract: string; proxy: string; keyvault: string } {
    const dir = path.join(work, "vm-tools");
    const files = { contract: path.join(dir, "app-contract.js"), proxy: path.join(dir, "local-proxy.js"), keyvault: path.join(dir, "keyvault-secret.sh") };
    if (!fs.existsSync(dir)) {
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(files.contract, readVmScript("app-contract.js"));
        fs.writeFileSync(files.proxy, readVmScript("local-proxy.js"));
        fs.writeFileSync(files.keyvault, readVmScript("keyvault-secret.sh"));
    }
    return files;
}

/** Runs vm-scripts/deploy-app.sh on the VM, as the extension does on Azure; resolves with its outcome. */
export function deployToVm(vm: LocalVm, azure: AzureStandIn, work: string, d: Deployment): Promise<DeployResult> {
    const tools = vmTools(work);
    const env: Record<string, string> = {
        PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? "/usr/bin:/bin"}`,
        BG_ROOT: vm.root,
        STANDIN_STATE: vm.state,
        SYSTEMCTL,
        HAPROXY: findHaproxy() ?? "/usr/sbin/haproxy",
        DPKG_QUERY: path.join(vm.state, "dpkg-query"),
        APT_GET: "false",
        CLOUD_INIT: path.join(vm.state, "no-cloud-init"),
        APP_CONTRACT: tools.contract,
        LOCAL_PROXY: tools.proxy,
        KEYVAULT_SCRIPT: tools.keyvault,
        IMDS_URL: azure.url,
        KEYVAULT_URL: `${azure.url}/`,
        APP_COLOR: vm.color,
        APP_VERSION: d.version,
        ARTIFACT_URL: d.artifactUrl,
        ARTIFACT_SHA256: d.sha256,
        APP_PORT: String(vm.port),
        APP_STAGING_PORT: String(vm.stagingPort),
        SLOT_PORT_A: String(vm.slotPorts.a),
        SLOT_PORT_B: String(vm.slotPorts.b),
        PROXY_USER: "",
        PROXY_SERVED_BY: vm.name,
        PROXY_MAX_CONNECTION_AGE_MS: String(d.maxConnectionAgeMs),
        PROXY_METRICS_PORT: String(vm.metricsPort),
        ...(d.appSettings ? { APP_SETTINGS: d.appSettings } : {}),
        ...(d.waitSeconds ? { WAIT_SECONDS: String(d.waitSeconds) } : {}),
    };
    const started = Date.now();
    return new Promise((resolve, reject) => {
        const child = spawn("bash", [DEPLOY_SCRIPT], { env, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (c: Buffer) => (output += c.toString()));
        child.stderr.on("data", (c: Buffer) => (output += c.toString()));
        child.on("error", reject);
        child.on("close", (code) => {
            resolve({ vm, code, output, ms: Date.now() - started });
        });
    });
}

/** Registers the VMs' processes with `cleanup` (killed at the end, also on failure). */
export function stopVmsAtCleanup(cleanup: Cleanup, vms: readonly LocalVm[]): void {
    cleanup.add("stop the local VMs' apps and proxies", () => vms.forEach(stopVm));
}
