/**
 * The migration runs wired into the program (index.ts), under mocks: one per color on the release agent, before
 * that color's app deployment, no secret anywhere in the run command (the agent reads them from Key Vault), contract
 * commands only with runContractMigrations. (What each release step may touch is in releaseSteps.test.ts; what a
 * sequence of updates runs is in releaseSequence.test.ts.)
 */
import { COLORS } from "../../release/colors";
import { baseConfig, byName, ProgramRun, runProgram } from "../support/pulumiProgram";

const RUN_COMMAND = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine";

function scriptOf(run: ProgramRun, name: string): string {
    return String((byName(run, name).inputs.source as { script: string }).script);
}

describe("the migration runs in the program", () => {
    let plain: ProgramRun;
    let contract: ProgramRun;
    beforeAll(async () => {
        plain = await runProgram(baseConfig({ blueVersion: "1.0.0", greenVersion: "1.1.0" }));
        contract = await runProgram(baseConfig({ blueVersion: "2.0.0", greenVersion: "2.1.0", runContractMigrations: "true" }));
        for (const r of [plain, contract]) if (r.error) throw r.error;
    });

    it.each(COLORS)("runs %s's expand migrations on the release agent with its own version, failing the update when they fail", (color) => {
        const cmd = byName(plain, `${color}-migrate-expand`);
        expect(cmd.type).toBe(RUN_COMMAND);
        expect(cmd.inputs).toMatchObject({
            vmName: "agent-vm",
            runCommandName: expect.stringMatching(new RegExp(`^migrate-expand-${color}-\\d+$`)),
            treatFailureAsDeploymentFailure: true,
            asyncExecution: false,
        });
        const script = scriptOf(plain, `${color}-migrate-expand`);
        expect(script).toContain(`export APP_VERSION='${color === "blue" ? "1.0.0" : "1.1.0"}'`);
        expect(script).toContain(`export APP_COLOR='${color}'`);
        expect(script).toContain("export MIGRATE_PHASE='expand'");
        expect(script).toContain("export APP_DB_USER='app_user'");
    });

    it.each(COLORS)("starts %s's app deployment only after its expand migrations", (color) => {
        const extension = byName(plain, `${color}-deploy-0`);
        expect(extension.dependencies.some((d) => d.endsWith(`::${color}-migrate-expand`))).toBe(true);
        expect(extension.dependencies.some((d) => d.endsWith(`::${color === "blue" ? "green" : "blue"}-migrate-expand`))).toBe(false);
    });

    it("starts no app deployment when its migration run is read back as failed, and fails the update naming the run", async () => {
        const { AzureStandIn } = await import("../support/pulumiProgram");
        const azure = new AzureStandIn();
        azure.outcome = ({ key }) => key !== "migrate-expand-green";
        const failed = await runProgram(baseConfig({ blueVersion: "1.0.0", greenVersion: "1.1.0" }), { azure });
        expect(failed.resources.some((r) => r.name.startsWith("green-deploy-"))).toBe(false);
        expect(failed.resources.some((r) => r.name === "blue-deploy-0")).toBe(true);
        expect(failed.failures?.join("\n")).toMatch(/migrate-expand-green-\d+ on \S+ failed/);
    });

    it.each(COLORS)("holds %s's run commands themselves until the release guard has said yes", (color) => {
        const guarded = (run: ProgramRun, name: string) => byName(run, name).dependencies.some((d) => d.endsWith("::release-guard"));
        expect(guarded(plain, `${color}-migrate-expand`)).toBe(true);
        expect(guarded(contract, `${color}-migrate-expand`)).toBe(true);
        expect(guarded(contract, `${color}-migrate-contract`)).toBe(true);
    });

    it("connects to the database only once its VNet rule is in: every migration run, the gate and every app deployment depend on it", () => {
        const rule = byName(plain, "sql-app-subnet-rule");
        const connecting = plain.resources.filter((r) =>
            (r.type === RUN_COMMAND && /-(migrate-(expand|contract)|gate-check)$/.test(r.name)) ||
            (r.type === "azure-native:compute:VirtualMachineExtension" && r.name.includes("-deploy")));
        expect(connecting.map((r) => r.name)).toEqual(expect.arrayContaining(["blue-migrate-expand", "green-migrate-expand", "blue-gate-check"]));
        expect(connecting.filter((r) => r.type !== RUN_COMMAND).length).toBeGreaterThanOrEqual(2);
        for (const r of connecting) expect({ name: r.name, waits: r.dependencies.includes(rule.urn) }).toEqual({ name: r.name, waits: true });
    });

    it("passes no secret at all: no parameters, only the vault's URL and the secrets' names in the script", () => {
        const cmd = byName(plain, "green-migrate-expand");
        expect(cmd.inputs.protectedParameters).toBeUndefined();
        expect(cmd.inputs.parameters).toBeUndefined();
        const script = scriptOf(plain, "green-migrate-expand");
        expect(script).toContain("export KEYVAULT_URL='https://secrets-kv.vault.azure.net/'");
        expect(script).toContain("export ADMIN_URL_SECRET='sql-admin-url'");
        expect(script).toContain("export APP_PASSWORD_SECRET='app-db-password'");
        expect(script).not.toMatch(/Pw-sql-|mssql:\/\//);
    });

    it("declares no contract run unless runContractMigrations is set", () => {
        expect(plain.resources.filter((r) => r.name.endsWith("-migrate-contract"))).toEqual([]);
    });

    it.each(COLORS)("with runContractMigrations, runs %s's contract after its expand with the versions both colors run", (color) => {
        const cmd = byName(contract, `${color}-migrate-contract`);
        expect(cmd.inputs).toMatchObject({ vmName: "agent-vm", runCommandName: expect.stringMatching(new RegExp(`^migrate-contract-${color}-\\d+$`)), treatFailureAsDeploymentFailure: true });
        const script = scriptOf(contract, `${color}-migrate-contract`);
        expect(script).toContain("export MIGRATE_PHASE='contract'");
        expect(script).toContain("export RUNNING_VERSIONS='2.0.0,2.1.0'");
        expect(cmd.dependencies.some((d) => d.endsWith(`::${color}-migrate-expand`))).toBe(true);
        expect(cmd.inputs.protectedParameters).toBeUndefined();
    });
});
