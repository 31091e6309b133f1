import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { CONFIG_KEYS, DEFAULTS, deployBranchesOf, isBranchName, readAppProjectName, isCronExpression, parseDeliveryConfig, projectNameOf, RawDeliveryConfig } from "../../delivery/config";

const GUIDS = {
    azureTenantId: "00000000-0000-0000-0000-000000000000",
    devAzureClientId: "11111111-1111-1111-1111-111111111111",
    devAzureSubscriptionId: "22222222-2222-2222-2222-222222222222",
    prodAzureClientId: "33333333-3333-3333-3333-333333333333",
    prodAzureSubscriptionId: "44444444-4444-4444-4444-444444444444",
};
const valid: RawDeliveryConfig = { repository: "contoso/azure-bluegreen", ...GUIDS };
const context = { organization: "contoso", appProject: "azure-bluegreen" };

describe("parseDeliveryConfig", () => {
    it("fills the defaults: main deploys dev, release deploys prod, drift checked hourly", () => {
        const config = parseDeliveryConfig(valid, context);
        expect(config.branches).toEqual({ dev: "main", prod: "release" });
        expect(config.driftCron).toBe("0 * * * *");
        expect(config.alertWebhookFormat).toBe("slack");
        expect(config.organization).toBe("contoso");
        expect(config.appProject).toBe("azure-bluegreen");
        expect(config.azure.prod).toEqual({
            tenantId: GUIDS.azureTenantId,
            clientId: GUIDS.prodAzureClientId,
            subscriptionId: GUIDS.prodAzureSubscriptionId,
        });
    });

    it("prefers explicit keys over the context", () => {
        const config = parseDeliveryConfig({ ...valid, organization: "other-org", appProject: "shop" }, context);
        expect([config.organization, config.appProject]).toEqual(["other-org", "shop"]);
    });

    it.each([
        [{ repository: undefined }, /repository is required.*pulumi -C delivery config set repository my-org\/azure-bluegreen/],
        [{ repository: "https://github.com/contoso/app.git" }, /repository "https:\/\/github.com\/contoso\/app.git" is not a GitHub repository in the form owner\/name/],
        [{ prodBranch: "main" }, /devBranch and prodBranch are both "main".*config set prodBranch release/],
        [{ devBranch: "feature..x" }, /devBranch "feature..x" is not a valid git branch name/],
        [{ azureTenantId: "contoso.onmicrosoft.com" }, /azureTenantId "contoso.onmicrosoft.com" is not a GUID/],
        [{ prodAzureClientId: undefined }, /prodAzureClientId is required: the Application \(client\) ID/],
        [{ driftCron: "hourly" }, /driftCron "hourly" is not a five-field cron expression.*config set driftCron "0 \* \* \* \*"/],
        [{ appProject: "my project" }, /appProject "my project" is not a Pulumi project name/],
        [{ alertWebhookFormat: "email" }, /alertWebhookFormat "email" is not one of slack, ms_teams, raw.*config set alertWebhookFormat slack/],
    ] as [Partial<RawDeliveryConfig>, RegExp][])("rejects %p naming the key, the value and the fix", (change, message) => {
        expect(() => parseDeliveryConfig({ ...valid, ...change }, context)).toThrow(message);
    });

    it("reports every problem at once", () => {
        expect(() => parseDeliveryConfig({}, { organization: "contoso" })).toThrow(/Invalid delivery config \(7 problems\)/);
    });
});

describe("isBranchName / isCronExpression / projectNameOf", () => {
    it.each(["main", "release", "release/2026-11", "hotfix-1.2"])("accepts branch %s", (b) => expect(isBranchName(b)).toBe(true));
    it.each(["", "a b", "a..b", "-x", "x/", "x.lock", "a:b", "a~1"])("rejects branch %p", (b) => expect(isBranchName(b)).toBe(false));
    it.each(["0 * * * *", "*/15 * * * 1-5", "0 6,18 * * *"])("accepts cron %s", (c) => expect(isCronExpression(c)).toBe(true));
    it.each(["@hourly", "0 * * *", "0 * * * * *", "x * * * *"])("rejects cron %p", (c) => expect(isCronExpression(c)).toBe(false));
    it("reads the project name of a Pulumi.yaml and nothing from a file without one", () => {
        expect(projectNameOf("name: azure-bluegreen\nruntime: nodejs\n")).toBe("azure-bluegreen");
        expect(projectNameOf("runtime: nodejs\n")).toBeUndefined();
    });
});

describe("readAppProjectName", () => {
    it("takes the app project's name from its Pulumi.yaml, and nothing when the file is missing", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "delivery-"));
        try {
            fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: shop\nruntime: nodejs\n");
            expect(readAppProjectName(path.join(dir, "Pulumi.yaml"))).toBe("shop");
            expect(readAppProjectName(path.join(dir, "missing.yaml"))).toBeUndefined();
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("the delivery project files", () => {
    const dir = path.join(__dirname, "../../delivery");
    const project = YAML.parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"));

    it("is a TypeScript Node.js project without backend.url (it would break pulumi login and Deployments)", () => {
        expect(project.name).toBe("bluegreen-delivery");
        expect(project.runtime).toEqual({ name: "nodejs", options: { typescript: true } });
        expect(project.backend).toBeUndefined();
    });

    it("names its own entry point and tsconfig, so the language host never runs the root package.json's main (the app)", () => {
        const rootMain = JSON.parse(fs.readFileSync(path.join(dir, "../package.json"), "utf8")).main;
        expect(rootMain).toBe("index.ts"); // what the host would pick without `main:` (it searches up for package.json)
        expect(project.main).toBe("index.ts");
        expect(fs.existsSync(path.join(dir, project.main))).toBe(true);
        expect(JSON.parse(fs.readFileSync(path.join(dir, "tsconfig.json"), "utf8")).extends).toBe("../tsconfig.json");
    });

    /** Keys whose default comes from the environment (the stack's organization, ../Pulumi.yaml): not declared. */
    const contextKeys = ["organization", "appProject"];
    const shippedStack = YAML.parse(fs.readFileSync(path.join(dir, "Pulumi.main.yaml"), "utf8")).config as Record<string, unknown>;

    it("declares exactly the keys the program reads (but those defaulted from the environment), with the program's defaults and a description each", () => {
        expect(Object.keys(project.config).sort()).toEqual(CONFIG_KEYS.filter((k) => !contextKeys.includes(k)).sort());
        for (const [key, spec] of Object.entries(project.config as Record<string, { description: string; default?: string }>)) {
            expect(spec.description.length).toBeGreaterThan(20);
            expect(spec.default).toBe((DEFAULTS as Record<string, string>)[key]);
        }
    });

    it("sets in the shipped stack file every declared key without a default (Pulumi refuses a stack missing one)", () => {
        const missing = Object.entries(project.config as Record<string, { default?: unknown }>)
            .filter(([key, spec]) => spec.default === undefined && !(`bluegreen-delivery:${key}` in shippedStack))
            .map(([key]) => key);
        expect(missing).toEqual([]);
    });

    it("ships a stack file that is valid input", () => {
        const stack = YAML.parse(fs.readFileSync(path.join(dir, "Pulumi.main.yaml"), "utf8")).config as Record<string, string>;
        const raw = Object.fromEntries(Object.entries(stack).map(([k, v]) => [k.replace(/^bluegreen-delivery:/, ""), String(v)]));
        expect(parseDeliveryConfig(raw, { organization: "my-org", appProject: "azure-bluegreen" }).branches).toEqual({ dev: "main", prod: "release" });
    });
});

describe("deployBranchesOf (the branches release:check and preview:stacks judge by)", () => {
    const ROOT = path.resolve(__dirname, "../..");

    it("reads devBranch/prodBranch of the repository's delivery stack file", () => {
        expect(deployBranchesOf(fs.readFileSync(path.join(ROOT, "delivery/Pulumi.main.yaml"), "utf8"))).toEqual({ dev: "main", prod: "release" });
    });

    it.each([
        ["no delivery stack file", undefined, { dev: "main", prod: "release" }],
        ["a file without the keys", "config: {}\n", { dev: "main", prod: "release" }],
        ["an overridden prodBranch", "config:\n  bluegreen-delivery:prodBranch: production\n", { dev: "main", prod: "production" }],
    ])("uses the defaults for what is not set: %s", (_what, text, branches) => {
        expect(deployBranchesOf(text)).toEqual(branches);
    });

    it.each([
        ["the same branch twice", "config:\n  bluegreen-delivery:prodBranch: main\n", /devBranch and prodBranch are both "main".*Fix: pulumi -C delivery config set prodBranch release/],
        ["an invalid branch name", "config:\n  bluegreen-delivery:devBranch: 'a..b'\n", /devBranch "a\.\.b" is not a valid git branch name/],
    ])("refuses %s, naming the key and the fix", (_what, text, message) => {
        expect(() => deployBranchesOf(text)).toThrow(message);
    });
});
