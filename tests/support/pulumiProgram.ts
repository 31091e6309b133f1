/**
 * Runs the real program (index.ts) under `pulumi.runtime.setMocks` with a given stack config, and records
 * every resource it registers (type, name, inputs as the engine would receive them, protect, parent,
 * dependencies) and its stack outputs. Each run loads fresh module copies (jest.isolateModules), so one
 * test file can run the program several times (blue live, then green live) and compare.
 */
import { artifactBlobName } from "../../components/lib/artifacts";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import type * as PulumiModule from "@pulumi/pulumi";
import type { MockCallArgs, MockResourceArgs } from "@pulumi/pulumi/runtime";
import { checkInputs, decideAndRecord, ReleaseGuardInputs, ReleaseGuardOutputs } from "../../components/releaseGuardProvider";
import { AzureStandIn } from "./azureStandIn";
import { collectRejections } from "./rejections";

export { AzureStandIn } from "./azureStandIn";

export const PROJECT = "azure-bluegreen";
export const STACK = "test";
const SUBSCRIPTION = "00000000-0000-0000-0000-000000000000";

const GUARD_TYPE = "pulumi-nodejs:dynamic/bluegreen:ReleaseGuard";
const ARTIFACT_BLOB_TYPE = "pulumi-nodejs:dynamic/bluegreen:ArtifactBlob";
const RUN_COMMAND_TYPE = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine";
const LOAD_BALANCER_TYPE = "azure-native:network:LoadBalancer";
const TAG_AT_SCOPE_TYPE = "azure-native:resources:TagAtScope";
const EXTENSION_TYPE = "azure-native:compute:VirtualMachineExtension";

/** The signature key and value the engine's wire format uses to mark a secret input. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** One resource as the engine received it. */
export interface RegisteredResource {
    readonly type: string;
    readonly name: string;
    /** Inputs as deserialized by the mock monitor; secrets stay wrapped (see {@link isSecretValue}). */
    readonly inputs: Record<string, unknown>;
    readonly custom: boolean;
    readonly protect: boolean;
    /** The `replaceOnChanges` and `deleteBeforeReplace` options (absent in hand-made records). */
    readonly replaceOnChanges?: readonly string[];
    readonly deleteBeforeReplace?: boolean;
    /** The `ignoreChanges` option: inputs the engine keeps from the state instead of sending (absent in hand-made records). */
    readonly ignoreChanges?: readonly string[];
    /** The `retainOnDelete` option (absent in hand-made records). */
    readonly retainOnDelete?: boolean;
    /** URN of the parent (empty for top-level resources). */
    readonly parent: string;
    /** URNs of the explicit and implicit dependencies the SDK sent. */
    readonly dependencies: readonly string[];
    readonly urn: string;
}

/** A resource as the engine keeps it in state between updates (inputs it was last sent, outputs it answered). */
export interface ResourceState {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, unknown>;
    readonly outputs: Record<string, unknown>;
}

/** What one run of the program produced. */
export interface ProgramRun {
    readonly resources: readonly RegisteredResource[];
    /** Stack outputs, resolved; secret outputs are listed in `secretOutputs`. */
    readonly outputs: Record<string, unknown>;
    readonly secretOutputs: readonly string[];
    /** Set when loading the program threw (e.g. invalid config). */
    readonly error?: Error;
    /**
     * What failed during the update (a resource whose create failed, an output that rejected): a real `pulumi up`
     * would end in an error with these messages. Empty when the update succeeded.
     */
    readonly failures?: readonly string[];
    /** The state after this update, by `type::name` (what the next update of a sequence starts from). */
    readonly state?: ReadonlyMap<string, ResourceState>;
    /** The Azure stand-in this update talked to (the next update of a sequence talks to the same one). */
    readonly azure?: AzureStandIn;
}

/** Options of one run: the state it starts from and the Azure it talks to (for sequences of updates). */
export interface RunOptions {
    /** The previous update of a sequence: its state is this update's "olds". */
    readonly previous?: ProgramRun;
    /** The Azure stand-in (shared by every update of a sequence). @default the previous update's, else a new one where everything passes */
    readonly azure?: AzureStandIn;
    /** The time of this update as the release guard sees it (rollback windows). @default now */
    readonly now?: Date;
    /** Texts of vm-scripts/ files as if this checkout had them (a merge that changed them), by relative path. @default none */
    readonly vmScripts?: Readonly<Record<string, string>>;
    /**
     * The folder the program looks for packed artifacts in (its dist/). @default a folder that does not exist, so a
     * checkout's own dist/ never changes what a test sees
     */
    readonly distDir?: string;
}

/** A raw stack config: project keys may be given without the `azure-bluegreen:` prefix. */
export type StackValues = Record<string, string>;

/** A well-formed public key that is not the committed placeholder (no private half exists; tests only). */
export const TEST_SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH ops@example.org";

/** What a user sets in place of the committed placeholders (README quick start): a real key and real checksums. */
export const REAL_LOOKING_VALUES: StackValues = {
    [`${PROJECT}:sshPublicKey`]: TEST_SSH_KEY,
    [`${PROJECT}:blueArtifactSha256`]: "0f".repeat(32),
    [`${PROJECT}:greenArtifactSha256`]: "0f".repeat(32),
};

/** A valid dev-like config (1 VM per color, blue live, both on 1.0.0). */
export function baseConfig(overrides: StackValues = {}): StackValues {
    return {
        "azure-native:location": "westeurope",
        liveColor: "blue",
        blueVersion: "1.0.0",
        greenVersion: "1.0.0",
        blueArtifactSha256: "a".repeat(64),
        greenArtifactSha256: "b".repeat(64),
        instanceCount: "1",
        sshPublicKey: TEST_SSH_KEY,
        stagingAllowedCidrs: JSON.stringify(["203.0.113.0/24"]),
        sqlSku: "S0",
        protectDatabase: "false",
        ...overrides,
    };
}

/** The repository root (where Pulumi.yaml lives). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/**
 * The config of a stack file (`Pulumi.<stack>.yaml`) as the engine passes it to the program: scalars as
 * strings, lists and maps as JSON. Keys keep their namespace (`azure-bluegreen:liveColor`). The committed
 * placeholders (SSH key, artifact checksums), which the program refuses, are replaced with {@link REAL_LOOKING_VALUES}
 * as a user does before the first deploy, unless `asCommitted`.
 */
export function stackFileValues(stack: string, asCommitted = false): StackValues {
    const values = committedStackValues(stack);
    return asCommitted ? values : { ...values, ...REAL_LOOKING_VALUES };
}

function committedStackValues(stack: string): StackValues {
    const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
    const parsed = YAML.parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
    const values: StackValues = {};
    for (const [key, value] of Object.entries(parsed.config ?? {})) {
        values[key] = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
    }
    return values;
}

/** True when `value` is a secret as the mock monitor receives it (the engine's secret wrapper). */
export function isSecretValue(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** The value inside a secret wrapper, or the value itself. */
export function reveal(value: unknown): unknown {
    return isSecretValue(value) ? value.value : value;
}

function lastSegment(type: string): string {
    return type.split(":").pop() ?? type;
}

/** Inputs that set the Azure name of a resource (others are auto-named: the mock uses the logical name). */
const NAME_INPUT: Record<string, string> = {
    "azure-native:storage:BlobContainer": "containerName",
    "azure-native:compute:VirtualMachineExtension": "vmExtensionName",
    "azure-native:compute:VirtualMachineRunCommandByVirtualMachine": "runCommandName",
    "azure-native:keyvault:Secret": "secretName",
};

/** The id the mocks give a resource of `type` named `name` (an ARM-like id under the test subscription). */
export function mockResourceId(type: string, name: string): string {
    return `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-test/providers/mock/${lastSegment(type)}/${name}`;
}

/** Outputs the program reads from resources, per type (everything else echoes the inputs). */
export function mockState(args: MockResourceArgs): { id: string; state: Record<string, unknown> } {
    const id = mockResourceId(args.type, args.name);
    // azure-native's `name` output is the Azure name: the explicit name input when the program sets one.
    const explicitName = NAME_INPUT[args.type] ? args.inputs[NAME_INPUT[args.type]] : undefined;
    const state: Record<string, unknown> = { ...args.inputs, name: typeof explicitName === "string" ? explicitName : args.name };
    switch (args.type) {
        case "random:index/randomPassword:RandomPassword":
            state.result = `Pw-${args.name}-9x_Z`;
            break;
        case "azure-native:storage:StorageAccount":
            state.primaryEndpoints = { blob: `https://${args.name}.blob.core.windows.net/` };
            break;
        case "azure-native:sql:Server":
            state.fullyQualifiedDomainName = `${args.name}.database.windows.net`;
            break;
        case "azure-native:compute:VirtualMachine":
            state.identity = { type: "SystemAssigned", principalId: `principal-${args.name}` };
            break;
        case "azure-native:network:PublicIPAddress":
            state.ipAddress = args.name.includes("egress") ? "198.51.100.7" : "203.0.113.80";
            break;
        case GUARD_TYPE: // the real provider, as on a first deploy (runProgram passes the previous state in a sequence)
            return { id, state: runGuard(args.inputs as Record<string, unknown>, undefined, new Date()) };
        case ARTIFACT_BLOB_TYPE: // the blob's URL as the provider's create answers it (the upload itself: artifactBlobProvider.test.ts)
            state.url = `${String(args.inputs.containerUrl)}${String(args.inputs.blobName ?? artifactBlobName(String(args.inputs.version)))}`;
            break;
        case "azure-native:keyvault:Vault":
            state.properties = { ...(args.inputs.properties as Record<string, unknown>), vaultUri: `https://${args.name}.vault.azure.net/` };
            break;
    }
    return { id, state };
}

interface MonitorRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getProtect(): boolean;
    getDependenciesList(): string[];
    getReplaceonchangesList(): string[];
    getDeletebeforereplace(): boolean;
    getIgnorechangesList(): string[];
    getRetainondelete(): boolean;
}
type Monitor = {
    registerResource(req: MonitorRequest, callback: (err: unknown, resp: unknown) => void): void;
    newUrn(parent: string, type: string, name: string): string;
};

/** What Azure answers to the program's invokes (client config, a run command's instance view, a backend pool). */
export function answerInvoke(args: MockCallArgs, azure: AzureStandIn): Record<string, unknown> {
    const inputs = args.inputs as Record<string, string>;
    switch (args.token) {
        case "azure-native:authorization:getClientConfig":
            return { clientId: "client", objectId: "deployer", subscriptionId: SUBSCRIPTION, tenantId: "11111111-1111-1111-1111-111111111111" };
        case "azure-native:authorization:getClientToken":
            return { token: `token-for-${inputs.endpoint ?? "management"}` };
        case "azure-native:compute:getVirtualMachineRunCommandByVirtualMachine":
            return azure.instanceView(inputs.vmName, inputs.runCommandName);
        case "azure-native:network:getLoadBalancerBackendAddressPool":
            return azure.pool(inputs.backendAddressPoolName);
        case "azure-native:resources:getResourceGroup":
            return azure.resourceGroup(inputs.resourceGroupName);
        case "azure-native:network:getLoadBalancer":
            return azure.loadBalancer(inputs.loadBalancerName);
        case "azure-native:compute:getVirtualMachineExtension":
            return azure.extension(inputs.vmName, inputs.vmExtensionName);
        case "azure-native:keyvault:getSecret":
            return azure.vaultSecret(inputs.vaultName, inputs.secretName);
    }
    return {};
}

/**
 * Mocks for a first deploy against a fresh Azure stand-in where everything passes, for a program loaded outside
 * `runProgram` (tests/components/cliEntry.int.test.ts loads it as the Pulumi CLI does).
 */
export function firstDeployMocks(azure = new AzureStandIn()): { newResource(args: MockResourceArgs): { id: string; state: Record<string, unknown> }; call(args: MockCallArgs): Record<string, unknown> } {
    return {
        newResource(args) {
            const result = mockState(args);
            if (args.type === RUN_COMMAND_TYPE) azure.putRunCommand(args.inputs as Record<string, unknown>);
            if (args.type === LOAD_BALANCER_TYPE) azure.putLoadBalancer(args.inputs as Record<string, unknown>, true);
            if (args.type === TAG_AT_SCOPE_TYPE) azure.putTags(args.inputs as Record<string, unknown>);
            if (args.type === EXTENSION_TYPE) azure.putExtension(args.inputs as Record<string, unknown>);
            return result;
        },
        call: (args) => answerInvoke(args, azure),
    };
}

/** Resolves a stack export (plain value, Output, or object holding Outputs) to plain data; rejects like the output. */
async function resolveExport(pulumi: typeof PulumiModule, value: unknown): Promise<{ value: unknown; secret: boolean }> {
    const output = pulumi.output(value) as PulumiModule.Output<unknown> & { promise(withUnknowns?: boolean): Promise<unknown> };
    const resolved = await output.promise();
    const secret = await pulumi.isSecret(output);
    return { value: resolved, secret };
}


/** The release guard's provider, as the engine would run it: check with the previous inputs, then create or update. */
function runGuard(inputs: Record<string, unknown>, previous: ResourceState | undefined, now: Date): Record<string, unknown> {
    const { __provider: _provider, ...news } = inputs;
    const olds = previous?.outputs as ReleaseGuardOutputs | undefined;
    const checked = checkInputs(news as unknown as ReleaseGuardInputs, olds);
    if (checked.failures && checked.failures.length > 0) throw new Error(checked.failures.map((f) => f.reason).join("\n"));
    return decideAndRecord(olds, checked.inputs as ReleaseGuardInputs, now) as unknown as Record<string, unknown>;
}

/**
 * Packages every run shares instead of loading them again (loading @pulumi/pulumi alone takes about a second):
 * the SDK keeps its run state in one process-wide store that setMocks resets, so sharing them is safe. The
 * program's own modules (index.ts, config/, components/, …) are loaded fresh for every run — but for the release
 * guard's module, which holds no state: sharing it keeps its provider object the same, so the SDK serializes that
 * provider once (about a second) instead of on every run.
 */
const SHARED_PACKAGES = [
    "@pulumi/pulumi",
    "@pulumi/random",
    ...["resources", "network", "compute", "sql", "storage", "authorization", "keyvault"].map((m) => `@pulumi/azure-native/${m}`),
    "../../components/releaseGuard",
];
let shared: Map<string, unknown> | undefined;

/**
 * Every other file under node_modules a run loaded, by path, shared with the runs after it like SHARED_PACKAGES.
 * An isolated registry loads every file afresh, including those the shared packages load lazily (azure-native
 * resource classes, the SDK's runtime they require, TypeScript for the VM files): loading them again on every run
 * cost about half of each run. Their state lives in the SDK's process-wide store (as for SHARED_PACKAGES); the
 * program's own files (outside node_modules) are still loaded fresh for every run.
 */
const sharedFiles = new Map<string, unknown>();
const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

/** Adds the node_modules files of the active module registry (`require.cache` is the isolated one inside isolateModules). */
function shareLoadedPackageFiles(): void {
    for (const file of Object.keys(require.cache)) {
        if (!file.includes(NODE_MODULES) || sharedFiles.has(file)) continue;
        const loaded = require.cache[file];
        if (loaded?.loaded) sharedFiles.set(file, loaded.exports);
    }
}

/**
 * components/lib/vmScripts.ts, shared by every run: it holds no state but its cache of the transpiled VM files (keyed
 * by their text), which cost a TypeScript emit on every run when each run loaded it afresh.
 */
type VmScripts = typeof import("../../components/lib/vmScripts");
let vmScripts: VmScripts | undefined;

/**
 * What runs see as `pulumi.automation`: the SDK's index loads its Automation API (with npm's arborist, pacote and
 * sigstore), about 0.7 s of every test file's first run, and neither the program nor the harness uses it. Reading any
 * of it throws, naming why.
 */
const AUTOMATION_NOT_LOADED: unknown = new Proxy({ __esModule: true }, {
    get(target, property) {
        if (property === "__esModule" || typeof property === "symbol") return Reflect.get(target, property);
        throw new Error(`pulumi.automation.${String(property)}: the Automation API is not loaded under runProgram (tests/support/pulumiProgram.ts)`);
    },
});

/**
 * The VM files transpiled from TypeScript (vmScripts.ts TRANSPILED_VM_FILES), kept on disk for the test files after the
 * first: each file loads vmScripts.ts afresh, and loading TypeScript to transpile them again cost about 0.7 s of its
 * first run. Keyed by what decides the bytes (vmScripts.ts itself, TypeScript's version, the file and its source), so
 * a changed source or compiler is transpiled again; other files are read as the program reads them.
 */
function withTranspiledOnDisk(actual: VmScripts): VmScripts {
    const dir = path.join(os.tmpdir(), "bluegreen-test-vm-js");
    const compiler = [
        fs.readFileSync(path.join(REPO_ROOT, "components", "lib", "vmScripts.ts"), "utf8"),
        (JSON.parse(fs.readFileSync(require.resolve("typescript/package.json"), "utf8")) as { version: string }).version,
    ].join("\0");
    const readVmScript = (relativePath: string): string => {
        const source = actual.TRANSPILED_VM_FILES[relativePath];
        if (source === undefined) return actual.readVmScript(relativePath);
        const key = createHash("sha256").update([compiler, relativePath, source, fs.readFileSync(path.join(REPO_ROOT, source), "utf8")].join("\0")).digest("hex");
        const file = path.join(dir, `${key}.js`);
        if (fs.existsSync(file)) return fs.readFileSync(file, "utf8");
        const text = actual.readVmScript(relativePath);
        fs.mkdirSync(dir, { recursive: true });
        const partial = `${file}.${process.pid}.partial`;
        fs.writeFileSync(partial, text);
        fs.renameSync(partial, file);
        return text;
    };
    return { ...actual, readVmScript };
}

type Debuggable = { debuggablePromise?: (p: Promise<unknown>, ctx: unknown) => Promise<unknown> };

/**
 * The SDK reads `new Error().stack` for every promise it tracks (runtime/debuggable.js), only to print it in its
 * report of promises left pending when the process exits; Jest source-maps each frame, which took a fifth of each
 * run. The shared SDK's tracker captures no frames (the report keeps the promise's context); errors keep theirs.
 */
function withoutDebugStacks(debuggable: Debuggable): void {
    const track = debuggable.debuggablePromise;
    if (typeof track !== "function") return;
    debuggable.debuggablePromise = (p, ctx) => {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            return track(p, ctx);
        } finally {
            Error.stackTraceLimit = limit;
        }
    };
}

type CallsitesHolder = { callsites?: () => unknown[] };

/**
 * Every resource the SDK registers reads the whole stack (`Resource.callsites`, every frame) for the source position
 * it sends the engine, which the mocks ignore; Jest source-maps each frame. The shared SDK reads V8's own frames
 * (positions in the transpiled files) instead.
 */
function withUnmappedCallsites({ Resource }: { Resource: CallsitesHolder }): void {
    const callsites = Resource.callsites;
    if (typeof callsites !== "function") return;
    Resource.callsites = function unmapped(this: unknown) {
        const format = Error.prepareStackTrace;
        Error.prepareStackTrace = (error, frames) => `${String(error)}\n${frames.map((f) => `    at ${String(f)}`).join("\n")}`;
        try {
            return callsites.call(this);
        } finally {
            Error.prepareStackTrace = format;
        }
    };
}

/**
 * Timer turns in a row without a new registration after which a run that cannot finish (a refused update) is over (see
 * `quiet` in runProgramNow). One would do, since the program's work under mocks is promise jobs only; the others are a
 * margin for process.nextTick and setImmediate chains.
 */
const QUIET_TURNS = 5;

/** Runs wait for each other: the SDK's mocks live in one process-wide store, so two runs must never overlap. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs index.ts under mocks with `values` as the stack config and returns what it registered.
 * Never throws for a program error: the error is returned in `error`, with whatever was registered before it.
 * Concurrent calls are queued and run one after the other.
 */
export function runProgram(values: StackValues, options: RunOptions = {}): Promise<ProgramRun> {
    // A failed resource or read-back surfaces as rejections nobody awaits (the language host fails the update on
    // them): they are this update's failures too.
    const run = queue.then(async () => {
        const { result, rejections } = await collectRejections(() => runProgramNow(values, options));
        return { ...result, failures: [...new Set([...(result.failures ?? []), ...rejections])] };
    });
    queue = run.catch(() => undefined);
    return run;
}

async function runProgramNow(values: StackValues, options: RunOptions): Promise<ProgramRun> {
    const registered: RegisteredResource[] = [];
    const azure = options.azure ?? options.previous?.azure ?? new AzureStandIn();
    // The guard's clock can be set (rollback windows); Azure's clock is the real one, as the program's start is.
    const now = options.now ?? new Date();
    const previous = options.previous?.state;
    const state = new Map<string, ResourceState>(previous ?? []);
    const declared = new Set<string>();
    const failures: string[] = [];
    const requests = new Map<string, { protect: boolean; replaceOnChanges: string[]; deleteBeforeReplace: boolean; ignoreChanges: string[]; retainOnDelete: boolean; parent: string; dependencies: string[]; urn: string }>();
    let pulumi!: typeof PulumiModule;
    let program: Record<string, unknown> = {};
    let error: Error | undefined;

    if (!shared) {
        jest.doMock("@pulumi/pulumi/automation", () => AUTOMATION_NOT_LOADED);
        shared = new Map(SHARED_PACKAGES.map((name) => [name, require(name) as unknown]));
        shareLoadedPackageFiles();
        withoutDebugStacks(require("@pulumi/pulumi/runtime/debuggable") as Debuggable);
        withUnmappedCallsites(require("@pulumi/pulumi/resource") as { Resource: CallsitesHolder });
    }
    vmScripts ??= withTranspiledOnDisk(jest.requireActual("../../components/lib/vmScripts") as VmScripts);
    // The program refuses uncommitted VM scripts or migrations (delivery/workingTree.ts, tested on its own); the
    // resource tests must not depend on whether this checkout has work in progress.
    process.env.BLUEGREEN_ALLOW_DIRTY ??= "1";
    process.env.BLUEGREEN_DIST_DIR = options.distDir ?? path.join(REPO_ROOT, ".no-dist-in-tests");
    jest.isolateModules(() => {
        for (const [name, instance] of shared ?? []) jest.doMock(name, () => instance);
        for (const [file, instance] of sharedFiles) jest.doMock(file, () => instance);
        // Every run sets its own (a previous run's override must not leak into this one): this checkout's files, or
        // this checkout as if a merge had changed these vm-scripts/ files.
        const actual = vmScripts as VmScripts;
        const overrides = options.vmScripts;
        jest.doMock("../../components/lib/vmScripts", () => (overrides ? { ...actual, readVmScript: (p: string) => overrides[p] ?? actual.readVmScript(p) } : actual));
        pulumi = require("@pulumi/pulumi") as typeof PulumiModule;
        pulumi.runtime.setMocks(
            {
                newResource(args: MockResourceArgs) {
                    const key = `${args.type}::${args.name}`;
                    const req = requests.get(key);
                    declared.add(key);
                    const before = previous?.get(key);
                    // What the engine sends: inputs named by ignoreChanges keep the state's values.
                    const kept = before ? (req?.ignoreChanges ?? []).filter((k) => k in before.inputs) : [];
                    const inputs = kept.length > 0
                        ? { ...(args.inputs as Record<string, unknown>), ...Object.fromEntries(kept.map((k) => [k, before?.inputs[k]])) }
                        : (args.inputs as Record<string, unknown>);
                    registered.push({
                        type: args.type,
                        name: args.name,
                        inputs,
                        custom: args.custom ?? true,
                        protect: req?.protect ?? false,
                        replaceOnChanges: req?.replaceOnChanges ?? [],
                        deleteBeforeReplace: req?.deleteBeforeReplace ?? false,
                        ignoreChanges: req?.ignoreChanges ?? [],
                        retainOnDelete: req?.retainOnDelete ?? false,
                        parent: req?.parent ?? "",
                        dependencies: req?.dependencies ?? [],
                        urn: req?.urn ?? "",
                    });
                    const changed = !before || canonical(before.inputs) !== canonical(inputs);
                    // The engine keeps what it sent, even when the create then failed (azure-native checkpoints it).
                    const keep = (outputs: Record<string, unknown>) => state.set(key, { type: args.type, name: args.name, inputs, outputs });
                    let result: { id: string; state: Record<string, unknown> };
                    try {
                        // The guard's provider sees the previous update's state (its ledger, the last flip).
                        result = args.type === GUARD_TYPE ? { id: "release-guard", state: runGuard(inputs, before, now) } : mockState(args);
                        if (args.type === RUN_COMMAND_TYPE && changed) {
                            keep(result.state);
                            azure.putRunCommand(inputs);
                            if (before && before.inputs.runCommandName !== inputs.runCommandName) azure.deleteRunCommand(before.inputs); // a replacement
                        } else if (args.type === LOAD_BALANCER_TYPE && changed) {
                            azure.putLoadBalancer(inputs, !before);
                        } else if (args.type === TAG_AT_SCOPE_TYPE && changed) {
                            azure.putTags(inputs);
                        } else if (args.type === EXTENSION_TYPE && changed) {
                            azure.putExtension(inputs);
                        }
                    } catch (e) {
                        failures.push(`${key}: ${(e as Error).message}`);
                        throw e;
                    }
                    keep(result.state);
                    return result;
                },
                call(args: MockCallArgs) {
                    return answerInvoke(args, azure);
                },
            },
            PROJECT,
            STACK,
            false,
        );
        // Record the resource options the mock's newResource does not see (protect, replacement options, parent, dependencies).
        const monitor = pulumi.runtime.getMonitor() as unknown as Monitor;
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req, callback) => {
            requests.set(`${req.getType()}::${req.getName()}`, {
                protect: req.getProtect(),
                replaceOnChanges: req.getReplaceonchangesList(),
                deleteBeforeReplace: req.getDeletebeforereplace(),
                ignoreChanges: req.getIgnorechangesList(),
                retainOnDelete: req.getRetainondelete(),
                parent: req.getParent(),
                dependencies: req.getDependenciesList(),
                urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()),
            });
            register(req, callback);
        };
        const config: Record<string, string> = {};
        for (const [key, value] of Object.entries(values)) config[key.includes(":") ? key : `${PROJECT}:${key}`] = value;
        pulumi.runtime.setAllConfig(config);
        try {
            program = require("../../index") as Record<string, unknown>;
        } catch (e) {
            error = e as Error;
        }
        shareLoadedPackageFiles();
    });

    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    // waitForRPCs is internal to the SDK (not in its .d.ts): it resolves when every queued registration is sent. After a
    // failed registration or read-back it may never resolve (the SDK keeps the failed operation counted), and outputs of
    // a resource that was never sent never resolve: the run is then over once no registration can arrive any more.
    // Under mocks the program's work is promise jobs only (the mock monitor answers in promises; nothing in the program,
    // the SDK or the Azure stand-in waits on a timer or on I/O), and a timer's callback runs only once every queued
    // promise job has run. So a timer turn with no new registration since the previous turn means nothing is left that
    // could register one: {@link QUIET_TURNS} such turns in a row end the run. Turns, not a time without registrations:
    // a loaded machine that pauses the process delays the turns as much as the work, so it cannot end a run early.
    const runtime = pulumi.runtime as unknown as { waitForRPCs(): Promise<void> };
    const quiet = async (): Promise<void> => {
        let seen = registered.length;
        let still = 0;
        while (still < QUIET_TURNS) {
            await new Promise((resolve) => setTimeout(resolve, 10));
            if (registered.length !== seen) {
                seen = registered.length;
                still = 0;
            } else still++;
        }
    };
    const settle = () => Promise.race([runtime.waitForRPCs(), quiet()]);
    const NEVER = Symbol("never resolved");
    if (!error) {
        const exports = Object.entries(program).map(async ([name, value]) => {
            try {
                const resolved = await Promise.race([resolveExport(pulumi, value), quiet().then(() => NEVER)]);
                if (typeof resolved === "symbol") {
                    failures.push(`output ${name} never resolved: a resource it comes from was not sent (an earlier failure)`);
                    return;
                }
                outputs[name] = resolved.value;
                if (resolved.secret) secretOutputs.push(name);
            } catch (e) {
                failures.push(`output ${name}: ${(e as Error).message}`);
            }
        });
        await Promise.all(exports);
    }
    await settle();
    // Let registrations that were waiting on other outputs finish.
    let count = -1;
    while (count !== registered.length) {
        count = registered.length;
        await new Promise((resolve) => setTimeout(resolve, 10));
        await settle();
    }
    // A successful update deletes what the program no longer declares (a failed one leaves it for the next).
    if (!error && failures.length === 0) {
        for (const [key, r] of [...state]) {
            if (declared.has(key)) continue;
            if (r.type === RUN_COMMAND_TYPE) azure.deleteRunCommand(r.inputs);
            state.delete(key);
        }
    }
    return { resources: registered, outputs, secretOutputs, failures: [...new Set(failures)], state, azure, ...(error ? { error } : {}) };
}

/**
 * `pulumi refresh` of a run's state after Azure changed outside the stack, as the engine and azure-native do it
 * (../shared/FIELD-NOTES.md; pulumi-azure-native provider.go `Read`): each resource is read back, and what changed
 * between its old and new outputs is copied into its recorded inputs — so the load balancer's inputs take the live
 * production rule (the pool's full id) and tags. The release guard, a dynamic resource without `read`, keeps its
 * state. Only the load balancer drifts in the stand-in; nothing is sent to Azure. Returns a copy (the run is unchanged).
 */
export function refreshed(run: ProgramRun): ProgramRun {
    if (!run.state || !run.azure) throw new Error("refreshed: the run has no state (it did not run through runProgram)");
    const state = new Map(run.state);
    for (const [key, r] of state) {
        if (r.type !== LOAD_BALANCER_TYPE) continue;
        const live = run.azure.loadBalancer(String(r.outputs.name ?? r.name)) as { loadBalancingRules: { name: string; backendAddressPool: { id: string } }[]; tags: Record<string, string> };
        const liveRule = live.loadBalancingRules.find((rule) => rule.name === "production");
        const withLive = (props: Record<string, unknown>): Record<string, unknown> => ({
            ...props,
            loadBalancingRules: ((props.loadBalancingRules as { name: string }[] | undefined) ?? []).map((rule) =>
                rule.name === "production" && liveRule ? { ...rule, backendAddressPool: { id: liveRule.backendAddressPool.id } } : rule),
            tags: { ...live.tags },
        });
        state.set(key, { ...r, inputs: withLive(r.inputs), outputs: withLive(r.outputs) });
    }
    return { ...run, state };
}

/** The release guard's recorded state after a run (its `state` output), or undefined when it has none. */
export function guardStateOf(run: ProgramRun): Record<string, unknown> | undefined {
    const guard = [...(run.state?.values() ?? [])].find((r) => r.type === GUARD_TYPE);
    return guard?.outputs.state as Record<string, unknown> | undefined;
}

/** Resources of `type` (the full token, e.g. `azure-native:compute:VirtualMachine`). */
export function ofType(run: ProgramRun, type: string): RegisteredResource[] {
    return run.resources.filter((r) => r.type === type);
}

/** The one resource named `name` (throws naming the candidates when absent). */
export function byName(run: ProgramRun, name: string): RegisteredResource {
    const found = run.resources.find((r) => r.name === name);
    if (!found) throw new Error(`no resource named ${name}; registered: ${run.resources.map((r) => r.name).join(", ")}`);
    return found;
}

/** What differs between two runs of the program. */
export interface ResourceChanges {
    /** `type::name` of resources present in both runs whose inputs differ. */
    readonly changed: readonly string[];
    readonly added: readonly string[];
    readonly removed: readonly string[];
}

function key(r: RegisteredResource): string {
    return `${r.type}::${r.name}`;
}

/** Stable JSON: object keys sorted, so input order never counts as a change. */
function canonical(value: unknown): string {
    return JSON.stringify(value, (_k, v: unknown) =>
        v && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
            : v,
    );
}

/** Inputs without those the new registration's `ignoreChanges` keeps from the state (top-level names). */
function compared(r: RegisteredResource, ignoreChanges: readonly string[] | undefined): Record<string, unknown> {
    // The guard's provider diff leaves out what serves (components/releaseGuardProvider.ts inputsOf): not an update by itself.
    const ignored = new Set([...(ignoreChanges ?? []), ...(r.type === GUARD_TYPE ? ["serving", "flipBack", "servingUnreadable"] : [])]);
    return Object.fromEntries(Object.entries(r.inputs).filter(([k]) => !ignored.has(k)));
}

/** True when Pulumi would update or replace `old` to get `now`: other inputs (but ignored ones), or another parent (a new URN). */
function differs(old: RegisteredResource, now: RegisteredResource): boolean {
    return old.parent !== now.parent || canonical(compared(old, now.ignoreChanges)) !== canonical(compared(now, now.ignoreChanges));
}

/**
 * Which resources a config change touches: added, removed, or with different inputs or parent (what `pulumi
 * preview` would plan as create, delete, or update/replace; a new parent is a new URN, so a replacement). Secret
 * inputs are compared by value. Only custom resources count (components have no inputs of their own; their
 * children are compared one by one).
 */
export function changedResources(before: ProgramRun, after: ProgramRun): ResourceChanges {
    const old = new Map(before.resources.filter((r) => r.custom).map((r) => [key(r), r]));
    const now = new Map(after.resources.filter((r) => r.custom).map((r) => [key(r), r]));
    const changed = [...now.keys()].filter((k) => {
        const was = old.get(k);
        const is = now.get(k);
        return was !== undefined && is !== undefined && differs(was, is);
    });
    const added = [...now.keys()].filter((k) => !old.has(k));
    const removed = [...old.keys()].filter((k) => !now.has(k));
    return { changed: changed.sort(), added: added.sort(), removed: removed.sort() };
}
