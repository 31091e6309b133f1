/**
 * The migration runs wired into the program (index.ts), under mocks: one per color on that color's VM 0, before
 * that color's app deployment, secrets only in protected parameters, contract commands only with
 * runContractMigrations. (What each release step may touch is in releaseSteps.test.ts.)
 */
import { COLORS } from "../../release/colors";
import { baseConfig, byName, isSecretValue, ProgramRun, reveal, runProgram } from "../support/pulumiProgram";

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

    it.each(COLORS)("runs %s's expand migrations on its own VM 0 with its own version, failing the update when they fail", (color) => {
        const cmd = byName(plain, `${color}-migrate-expand`);
        expect(cmd.type).toBe(RUN_COMMAND);
        expect(cmd.inputs).toMatchObject({
            vmName: `${color}-vm-0`,
            runCommandName: "migrate-expand",
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

    it.each(COLORS)("holds %s's run commands themselves until the release guard has said yes", (color) => {
        const guarded = (run: ProgramRun, name: string) => byName(run, name).dependencies.some((d) => d.endsWith("::release-guard"));
        expect(guarded(plain, `${color}-migrate-expand`)).toBe(true);
        expect(guarded(contract, `${color}-migrate-expand`)).toBe(true);
        expect(guarded(contract, `${color}-migrate-contract`)).toBe(true);
    });

    it("passes the admin URL and the app password only as secret protected parameters, never in the script", () => {
        const cmd = byName(plain, "green-migrate-expand");
        expect(isSecretValue(cmd.inputs.protectedParameters)).toBe(true);
        const params = reveal(cmd.inputs.protectedParameters) as { name: string; value: string }[];
        expect(params.map((p) => p.name)).toEqual(["ADMIN_DATABASE_URL", "APP_DB_PASSWORD"]);
        expect(params[0].value).toMatch(/^mssql:\/\/sqladmin:/);
        const script = scriptOf(plain, "green-migrate-expand");
        for (const p of params) expect(script).not.toContain(p.value);
        expect(script).not.toMatch(/Pw-sql-/);
    });

    it("declares no contract run unless runContractMigrations is set", () => {
        expect(plain.resources.filter((r) => r.name.endsWith("-migrate-contract"))).toEqual([]);
    });

    it.each(COLORS)("with runContractMigrations, runs %s's contract after its expand with the versions both colors run", (color) => {
        const cmd = byName(contract, `${color}-migrate-contract`);
        expect(cmd.inputs).toMatchObject({ vmName: `${color}-vm-0`, runCommandName: "migrate-contract", treatFailureAsDeploymentFailure: true });
        const script = scriptOf(contract, `${color}-migrate-contract`);
        expect(script).toContain("export MIGRATE_PHASE='contract'");
        expect(script).toContain("export RUNNING_VERSIONS='2.0.0,2.1.0'");
        expect(cmd.dependencies.some((d) => d.endsWith(`::${color}-migrate-expand`))).toBe(true);
        expect((reveal(cmd.inputs.protectedParameters) as { name: string }[]).map((p) => p.name)).toEqual(["ADMIN_DATABASE_URL"]);
    });
});
