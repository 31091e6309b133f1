/**
 * The delivery program (delivery/index.ts) loaded the way the Pulumi CLI loads it, under mocks: which
 * pulumiservice resources it declares, with which inputs, and that bad config declares nothing.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";

const DELIVERY = path.resolve(__dirname, "../../delivery");

interface Declared {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    protect?: boolean;
    /** Inputs that reached the engine as secrets. */
    secretInputs: string[];
}

/** How the SDK marks a secret value on the wire (the mock monitor keeps the wrapper). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const isSecretValue = (v: unknown): boolean => typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;

const CONFIG = {
    "bluegreen-delivery:repository": "contoso/azure-bluegreen",
    "bluegreen-delivery:appProject": "azure-bluegreen",
    "bluegreen-delivery:azureTenantId": "00000000-0000-0000-0000-000000000000",
    "bluegreen-delivery:devAzureClientId": "11111111-1111-1111-1111-111111111111",
    "bluegreen-delivery:devAzureSubscriptionId": "22222222-2222-2222-2222-222222222222",
    "bluegreen-delivery:prodAzureClientId": "33333333-3333-3333-3333-333333333333",
    "bluegreen-delivery:prodAzureSubscriptionId": "44444444-4444-4444-4444-444444444444",
};

type Program = typeof import("../../delivery/index");

async function run(config: Record<string, string>, secretKeys: string[] = []): Promise<{ declared: Declared[]; program: Program }> {
    const declared: Declared[] = [];
    const protectedNames = new Map<string, boolean>();
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                declared.push({
                    type: args.type,
                    name: args.name,
                    inputs: args.inputs,
                    protect: protectedNames.get(args.name),
                    secretInputs: Object.keys(args.inputs).filter((k) => isSecretValue(args.inputs[k])),
                });
                const id = `${args.inputs.organization}/${args.inputs.project}/${args.inputs.stack}`;
                return { id, state: args.inputs };
            },
            call: (args) => args.inputs,
        },
        "bluegreen-delivery",
        "main",
        false,
        "contoso",
    );
    pulumi.runtime.setAllConfig(config, secretKeys);
    // Resource options are not visible to mocks: read `protect` off the registration request the SDK sends
    // (the same technique as tests/support/pulumiProgram.ts).
    type Request = { getName(): string; getProtect(): boolean };
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: Request, cb: unknown): void };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        protectedNames.set(req.getName(), req.getProtect());
        register(req, cb);
    };
    let program: Program | undefined;
    jest.isolateModules(() => {
        // As the Pulumi CLI does: load the `main:` that delivery/Pulumi.yaml names.
        program = require(path.join(DELIVERY, (YAML.parse(fs.readFileSync(path.join(DELIVERY, "Pulumi.yaml"), "utf8")) as { main: string }).main));
    });
    const p = program as Program;
    await new Promise((resolve) => pulumi.all(p.managedStacks).apply(resolve));
    // waitForRPCs is internal to the SDK (not in its .d.ts): it resolves when every queued registration is sent.
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    return { declared, program: p };
}

const output = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply(resolve));

describe("delivery program under mocks", () => {
    let declared: Declared[];
    let program: Program;
    beforeAll(async () => {
        ({ declared, program } = await run(CONFIG));
    });

    const settingsOf = (stack: string) =>
        declared.find((r) => r.type === "pulumiservice:index:DeploymentSettings" && r.inputs.stack === stack);

    it("declares deployment settings for the dev and prod stacks of the app project", () => {
        const settings = declared.filter((r) => r.type === "pulumiservice:index:DeploymentSettings");
        expect(settings.map((r) => r.name).sort()).toEqual(["dev-deployment-settings", "prod-deployment-settings"]);
        for (const s of settings) expect(s.inputs).toMatchObject({ organization: "contoso", project: "azure-bluegreen" });
    });

    it("deploys prod from the release branch and dev from main, both on push; previews pull requests for dev only", () => {
        expect(settingsOf("prod")?.inputs).toMatchObject({
            sourceContext: { git: { branch: "refs/heads/release" } },
            vcs: { provider: "github", repository: "contoso/azure-bluegreen", deployCommits: true, previewPullRequests: false },
        });
        expect(settingsOf("dev")?.inputs).toMatchObject({ sourceContext: { git: { branch: "refs/heads/main" } }, vcs: { previewPullRequests: true } });
    });

    it("gives each stack its own OIDC identity", () => {
        expect(settingsOf("prod")?.inputs).toMatchObject({
            operationContext: { oidc: { azure: { clientId: CONFIG["bluegreen-delivery:prodAzureClientId"] } } },
        });
        expect(settingsOf("dev")?.inputs).toMatchObject({
            operationContext: { oidc: { azure: { subscriptionId: CONFIG["bluegreen-delivery:devAzureSubscriptionId"] } } },
        });
    });

    it("protects prod's settings and drift schedule from a delivery destroy, not dev's", () => {
        expect(declared.map((d) => [d.name, d.protect]).sort()).toEqual([
            ["dev-deployment-settings", false],
            ["prod-deployment-settings", true],
            ["prod-drift-schedule", true],
        ]);
    });

    it("schedules drift detection on prod only, without auto-remediation", () => {
        const drift = declared.filter((r) => r.type === "pulumiservice:index:DriftSchedule");
        expect(drift).toHaveLength(1);
        expect(drift[0].inputs).toMatchObject({ stack: "prod", scheduleCron: "0 * * * *", autoRemediate: false });
    });

    it("exports the federated-credential subjects to register in Entra", async () => {
        const creds = program.federatedCredentials as Record<string, { issuer: string; audience: string; subjects: string[] }>;
        expect(creds.prod.issuer).toBe("https://api.pulumi.com/oidc");
        expect(creds.prod.audience).toBe("contoso");
        expect(creds.prod.subjects).toContain(
            `pulumi:deploy:org:contoso:project:azure-bluegreen:stack:prod:operation:update:scope:write`,
        );
        expect(await output(pulumi.all(program.managedStacks))).toEqual([
            `contoso/azure-bluegreen/dev`,
            `contoso/azure-bluegreen/prod`,
        ]);
    });

    it("declares no alert webhook without a secret alertWebhookUrl", () => {
        expect(declared.filter((r) => r.type === "pulumiservice:index:Webhook")).toEqual([]);
    });

    it("posts prod's drift and failed deployments to the secret alertWebhookUrl, kept secret", async () => {
        const { declared: withHook } = await run(
            { ...CONFIG, "bluegreen-delivery:alertWebhookUrl": "https://hooks.example.org/T000/B000/XXXX" },
            ["bluegreen-delivery:alertWebhookUrl"],
        );
        const hooks = withHook.filter((r) => r.type === "pulumiservice:index:Webhook");
        expect(hooks.map((h) => [h.name, h.protect])).toEqual([["prod-alerts", true]]);
        expect(hooks[0].inputs).toMatchObject({ stackName: "prod", format: "slack", filters: ["drift_detected", "drift_detection_failed", "deployment_failed"] });
        expect(hooks[0].secretInputs).toContain("payloadUrl");
    });

    it("declares nothing when the config is invalid", async () => {
        const declaredBad: Declared[] = [];
        await pulumi.runtime.setMocks(
            { newResource: (a) => (declaredBad.push({ type: a.type, name: a.name, inputs: a.inputs, secretInputs: [] }), { id: "x", state: a.inputs }), call: (a) => a.inputs },
            "bluegreen-delivery",
            "main",
            false,
            "contoso",
        );
        pulumi.runtime.setAllConfig({ ...CONFIG, "bluegreen-delivery:prodBranch": "main" });
        expect(() => jest.isolateModules(() => require("../../delivery/index"))).toThrow(/devBranch and prodBranch are both "main"/);
        expect(declaredBad).toEqual([]);
    });
});
