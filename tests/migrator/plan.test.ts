import { JournalEntry } from "../../migrator/journal";
import { MigrationFile, parseMigrationFile } from "../../migrator/migrationFile";
import { LintFindingLike, planRun } from "../../migrator/plan";

function file(name: string, body = "SELECT 1;\n"): MigrationFile {
    const header = name.includes(".contract.") && !body.includes("requires-version") ? "-- migrate:requires-version 2.0.0\n" : "";
    return parseMigrationFile(`migrations/${name}`, header + body);
}

function applied(f: MigrationFile, over: Partial<JournalEntry> = {}): JournalEntry {
    return {
        name: f.name,
        phase: f.phase,
        checksum: f.checksum,
        appliedAt: new Date("2026-11-01T10:00:00Z"),
        appliedBy: "admin",
        durationMs: 5,
        state: "applied",
        ...over,
    };
}

const noLint = (): LintFindingLike[] => [];
const e1 = file("0001_init.expand.sql");
const e2 = file("0002_add_title.expand.sql");
const c3 = file("0003_drop_name.contract.sql");
const e4 = file("0004_add_done.expand.sql");

describe("planRun", () => {
    it("runs the pending expand migrations in number order and leaves contracts waiting", () => {
        const plan = planRun([e1, e2, c3, e4], [applied(e1)], { phase: "expand" }, noLint);
        expect(plan.refusals).toEqual([]);
        expect(plan.toRun.map((m) => m.name)).toEqual([e2.name, e4.name]);
        expect(plan.waiting).toEqual([{ name: c3.name, why: expect.stringContaining("up --phase contract") }]);
    });

    it("reports one status entry per migration, and a journal row whose file is missing", () => {
        const gone = applied(file("0000_gone.expand.sql"));
        const plan = planRun([e1, c3], [applied(e1), gone], {}, noLint);
        expect(plan.status).toEqual([
            { name: e1.name, phase: "expand", state: "applied", checksumOk: true, appliedAt: "2026-11-01T10:00:00.000Z" },
            { name: c3.name, phase: "contract", state: "pending", checksumOk: true, requiresVersion: "2.0.0" },
            { name: gone.name, phase: "expand", state: "applied", checksumOk: false, fileMissing: true, appliedAt: "2026-11-01T10:00:00.000Z" },
        ]);
        expect(plan.refusals).toEqual([expect.stringMatching(/0000_gone\.expand\.sql is in the journal .* file is missing/)]);
    });

    it("does not refuse journal rows numbered above every file: a newer release applied them", () => {
        const newer = applied(file("0009_newer.contract.sql"));
        const plan = planRun([e1, e2], [applied(e1), newer], { phase: "expand" }, noLint);
        expect(plan.refusals).toEqual([]);
        expect(plan.toRun.map((m) => m.name)).toEqual([e2.name]);
        expect(plan.status.at(-1)).toEqual({
            name: newer.name,
            phase: "contract",
            state: "applied",
            checksumOk: true,
            fileMissing: true,
            newerRelease: true,
            appliedAt: "2026-11-01T10:00:00.000Z",
        });
    });

    it.each([
        ["a changed applied file", [applied(e1, { checksum: "0".repeat(64) })], /0001_init\.expand\.sql: the file changed after it was applied/],
        ["a failed migration", [applied(e1, { state: "failed", error: "boom" })], /0001_init\.expand\.sql failed and is recorded failed.*boom.*resolve 0001_init\.expand\.sql --applied.*--rolled-back/],
    ])("refuses every phase and runs nothing when the journal has %s", (_what, journal, reason) => {
        for (const phase of ["expand", "contract"] as const) {
            const plan = planRun([e1, e2, c3], journal, { phase, runningVersions: ["2.0.0"] }, noLint);
            expect(plan.toRun).toEqual([]);
            expect(plan.refusals.join("\n")).toMatch(reason);
        }
    });

    it("refuses an expand run when a migration to run has lint errors, ignoring warnings and allowed findings", () => {
        const lint = (f: MigrationFile): LintFindingLike[] =>
            f.name === e2.name
                ? [
                      { path: f.path, line: 3, ruleId: "DROP-COLUMN", severity: "error", message: "drops a column" },
                      { path: f.path, line: 4, ruleId: "INDEX-ONLINE", severity: "warning", message: "not online" },
                      { path: f.path, line: 5, ruleId: "DROP-TABLE", severity: "error", message: "drops", allowed: { reason: "temp" } },
                  ]
                : [];
        const plan = planRun([e1, e2], [], { phase: "expand" }, lint);
        expect(plan.toRun).toEqual([]);
        expect(plan.refusals).toEqual([expect.stringMatching(/^migrations\/0002_add_title\.expand\.sql:3: DROP-COLUMN drops a column/)]);
    });

    it("lints only the migrations it would run: no applied one, no contract in an expand run", () => {
        const linted: string[] = [];
        planRun([e1, e2, c3], [applied(e1)], { phase: "expand" }, (f) => (linted.push(f.name), []));
        planRun([e1, e2, c3], [applied(e1), applied(e2)], { phase: "contract", runningVersions: ["2.0.0"] }, (f) => (linted.push(f.name), []));
        expect(linted).toEqual([e2.name, c3.name]);
    });

    it("refuses a contract migration with lint errors (a COMMIT in it would end the runner's transaction)", () => {
        const finding = { path: c3.path, line: 4, ruleId: "TRANSACTION-CONTROL", severity: "error" as const, message: "uses COMMIT inside a migration the runner wraps in a transaction" };
        const plan = planRun([e1, e2, c3], [applied(e1), applied(e2)], { phase: "contract", runningVersions: ["2.0.0"] }, (f) => (f === c3 ? [finding] : []));
        expect(plan.toRun).toEqual([]);
        expect(plan.refusals).toEqual([expect.stringMatching(/:4: TRANSACTION-CONTROL uses COMMIT .*a contract migration with lint errors never runs/)]);
    });

    it("runs a contract only when every running version is at least its requires-version", () => {
        const journal = [applied(e1), applied(e2)];
        const refused = planRun([e1, e2, c3], journal, { phase: "contract", runningVersions: ["1.0.0", "2.0.0"] }, noLint);
        expect(refused.toRun).toEqual([]);
        expect(refused.refusals).toEqual([expect.stringMatching(/0003_drop_name\.contract\.sql may not run yet: .*1\.0\.0 is still running/)]);
        const allowed = planRun([e1, e2, c3], journal, { phase: "contract", runningVersions: ["2.0.0", "2.0.0"] }, noLint);
        expect(allowed.toRun.map((m) => m.name)).toEqual([c3.name]);
    });

    it("refuses a contract run while an expand numbered before it is pending, but not one after it", () => {
        const before = planRun([e1, e2, c3, e4], [applied(e1)], { phase: "contract", runningVersions: ["2.0.0"] }, noLint);
        expect(before.refusals).toEqual([expect.stringMatching(/0002_add_title\.expand\.sql \(expand\) is pending .* up --phase expand/)]);
        const after = planRun([e1, e2, c3, e4], [applied(e1), applied(e2)], { phase: "contract", runningVersions: ["2.0.0"] }, noLint);
        expect(after.refusals).toEqual([]);
        expect(after.toRun.map((m) => m.name)).toEqual([c3.name]);
        expect(after.waiting.map((w) => w.name)).toEqual([e4.name]);
    });

    it("refuses a contract run without running versions", () => {
        const plan = planRun([c3], [], { phase: "contract" }, noLint);
        expect(plan.refusals).toEqual([expect.stringMatching(/no running versions were given/)]);
    });
});
