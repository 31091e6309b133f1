import * as path from "path";
import { lintMigration } from "../../../migrator/lint/lint";
import { loadMigrationDir } from "../../../migrator/migrationFile";

const ROOT = path.join(__dirname, "..", "..", "..");
const tsql = loadMigrationDir(path.join(ROOT, "migrations"));
const postgres = loadMigrationDir(path.join(ROOT, "migrations", "postgres"), { dialect: "postgres" });

describe("the shipped migrations", () => {
    it("are the initial schema, then a rename done as expand, backfill (no-transaction) and contract", () => {
        expect(tsql.map((f) => [f.name, f.phase, f.noTransaction, f.requiresVersion])).toEqual([
            ["0001_initial_schema.expand.sql", "expand", false, undefined],
            ["0002_add_goal_name.expand.sql", "expand", false, undefined],
            ["0003_backfill_goal_name.expand.sql", "expand", true, undefined],
            ["0004_drop_goal_title.contract.sql", "contract", false, "2.0.0"],
        ]);
    });

    it.each(tsql.map((f) => [f.name, f] as const))("T-SQL %s lints clean (no findings at all)", (_, file) => {
        expect(lintMigration(file)).toEqual([]);
    });

    it.each(postgres.map((f) => [f.name, f] as const))("PostgreSQL twin %s lints clean", (_, file) => {
        expect(lintMigration(file)).toEqual([]);
    });

    it("have PostgreSQL twins with the same names, phases and headers", () => {
        const shape = (files: typeof tsql): unknown[] => files.map((f) => [f.name, f.phase, f.noTransaction, f.requiresVersion]);
        expect(shape(postgres)).toEqual(shape(tsql));
    });

    it("would be refused as expand migrations if the contract steps were moved into one", () => {
        const contract = tsql[3];
        const asExpand = { ...contract, phase: "expand" as const, requiresVersion: undefined };
        expect(lintMigration(asExpand).map((f) => f.ruleId)).toEqual(["ALTER-COLUMN", "DROP-TRIGGER", "DROP-CONSTRAINT", "DROP-COLUMN", "DROP-PROCEDURE"]);
    });

    it("create GetGoals_v2 by a new name instead of altering GetGoals_v1", () => {
        expect(tsql[1].text).toMatch(/CREATE PROCEDURE dbo\.GetGoals_v2/);
        expect(tsql.map((f) => f.text).join("\n")).not.toMatch(/ALTER\s+PROC(EDURE)?\s+dbo\.GetGoals_v1/i);
    });
});
