import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MigrationStatus } from "../../migrator/plan";
import { pendingContracts, prepareReleaseDirs, toSchemaStatus } from "../../rehearsal/database";
import { logsDirFor } from "../../rehearsal/scenario";

describe("prepareReleaseDirs", () => {
    let tmp: string;
    beforeEach(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bg-rehearsal-dirs-"));
    });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    function source(names: string[]): string {
        const dir = path.join(tmp, "src");
        fs.mkdirSync(dir);
        for (const n of names) fs.writeFileSync(path.join(dir, n), `-- ${n}\n`);
        return dir;
    }

    it("gives release 1 the initial schema only and release 2 every migration, in number order", () => {
        const src = source(["0010_drop_x.contract.sql", "0002_add_x.expand.sql", "0001_initial.expand.sql", "README.md"]);
        const dirs = prepareReleaseDirs(src, path.join(tmp, "work"));
        expect(fs.readdirSync(dirs.v1)).toEqual(["0001_initial.expand.sql"]);
        expect(fs.readdirSync(dirs.v2).sort()).toEqual(["0001_initial.expand.sql", "0002_add_x.expand.sql", "0010_drop_x.contract.sql"]);
        expect(fs.readFileSync(path.join(dirs.v2, "0002_add_x.expand.sql"), "utf8")).toBe("-- 0002_add_x.expand.sql\n");
    });

    it("refuses a directory without a later migration, naming it", () => {
        const src = source(["0001_initial.expand.sql"]);
        expect(() => prepareReleaseDirs(src, path.join(tmp, "work"))).toThrow(/src holds 1 migration file\(s\); the rehearsal needs the initial schema and at least one later migration/);
    });

    it("uses the repository's PostgreSQL migrations, which have an initial schema, expands and a contract", () => {
        const dirs = prepareReleaseDirs(path.resolve(__dirname, "..", "..", "migrations", "postgres"), path.join(tmp, "work"));
        expect(fs.readdirSync(dirs.v1)).toHaveLength(1);
        const v2 = fs.readdirSync(dirs.v2);
        expect(v2.some((f) => f.endsWith(".expand.sql") && !fs.readdirSync(dirs.v1).includes(f))).toBe(true);
        expect(v2.some((f) => f.endsWith(".contract.sql"))).toBe(true);
    });
});

const status = (over: Partial<MigrationStatus> & Pick<MigrationStatus, "name" | "phase" | "state">): MigrationStatus => ({ checksumOk: true, ...over });

describe("the runner's status, for the guard", () => {
    const migrations = [
        status({ name: "0001_initial.expand.sql", phase: "expand", state: "applied" }),
        status({ name: "0002_add.expand.sql", phase: "expand", state: "pending" }),
        status({ name: "0003_fix.expand.sql", phase: "expand", state: "failed" }),
        status({ name: "0004_drop.contract.sql", phase: "contract", state: "applied", requiresVersion: "2.0.0" }),
        status({ name: "0005_drop_more.contract.sql", phase: "contract", state: "pending", requiresVersion: "3.0.0" }),
    ];

    it("lists applied contracts with their requires-version and expands not applied", () => {
        expect(toSchemaStatus(migrations)).toEqual({
            appliedContract: [{ name: "0004_drop.contract.sql", requiresVersion: "2.0.0" }],
            pendingExpand: ["0002_add.expand.sql", "0003_fix.expand.sql"],
        });
    });

    it("lists the contracts still to run", () => {
        expect(pendingContracts(migrations)).toEqual([{ name: "0005_drop_more.contract.sql", requiresVersion: "3.0.0" }]);
    });
});

describe("logsDirFor", () => {
    it.each([
        ["reports/rehearsal/report.json", "reports/rehearsal/report-logs"],
        ["/tmp/x/run.JSON", "/tmp/x/run-logs"],
        ["/tmp/x/run", "/tmp/x/run-logs"],
    ])("puts the logs of %s in %s", (report, logs) => {
        expect(logsDirFor(report)).toBe(path.resolve(logs));
    });
});
