/**
 * Benchmark: lint 1,000 migration files (target: under 2 s). Not a test; run `npm run bench:lint`.
 * Generates realistic files (expand and contract, GO batches, procedures, triggers, batched backfills, comments,
 * dynamic SQL, a few findings) in a temporary directory, lints the directory the way `db lint` does, prints the
 * time, and removes the directory.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lintPaths } from "../migrator/lint/lint";

const FILES = Number(process.env.BENCH_FILES ?? 1000);

function migration(n: number): { name: string; text: string } {
    const table = `dbo.table_${n % 50}`;
    if (n % 10 === 9) {
        return {
            name: `${String(n).padStart(5, "0")}_drop_old_${n}.contract.sql`,
            text: `-- migrate:requires-version 2.${n}.0\n-- Contract: remove what ${n} replaced.\nDROP TRIGGER dbo.sync_${n - 1};\nGO\nALTER TABLE ${table} DROP COLUMN old_${n - 1};\nGO\nDROP PROCEDURE dbo.Get_${n - 1}_v1;\nGO\n`,
        };
    }
    const text = `-- Expand ${n}: add a column, keep it in step, version the procedure by name.
/* Review notes: the old version still reads old_${n}; DROP TABLE ${table} is NOT done here. */
ALTER TABLE ${table} ADD new_${n} NVARCHAR(200) NULL;
GO
CREATE TABLE dbo.staging_${n} (
    id INT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_staging_${n} PRIMARY KEY,
    payload NVARCHAR(MAX) NOT NULL CONSTRAINT df_staging_${n} DEFAULT N'it''s empty',
    created_at DATETIME2(3) NOT NULL DEFAULT SYSUTCDATETIME()
);
CREATE INDEX ix_staging_${n} ON dbo.staging_${n} (created_at);
CREATE INDEX ix_${n}_new ON ${table} (new_${n}) WITH (ONLINE = ON);
GO
CREATE TRIGGER dbo.sync_${n} ON ${table} AFTER INSERT, UPDATE AS
BEGIN
    SET NOCOUNT ON;
    IF TRIGGER_NESTLEVEL(@@PROCID) > 1 RETURN;
    UPDATE t SET new_${n} = i.old_${n} FROM ${table} AS t JOIN inserted AS i ON i.id = t.id WHERE i.new_${n} IS NULL;
END
GO
CREATE PROCEDURE dbo.Get_${n}_v2 @limit INT = 50 AS
BEGIN
    SELECT TOP (@limit) id, new_${n}, CASE WHEN new_${n} IS NULL THEN 'missing' ELSE 'ok' END AS state
    FROM ${table} ORDER BY id DESC;
END
GO
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'ix_${n}_other')
BEGIN
    EXEC (N'CREATE INDEX ix_${n}_other ON ${table} (id) WITH (ONLINE = ON)');
END
DECLARE @batch INT = 1000;
WHILE 1 = 1
BEGIN
    UPDATE TOP (@batch) ${table} SET new_${n} = old_${n} WHERE new_${n} IS NULL;
    IF @@ROWCOUNT = 0 BREAK;
END
GO
`;
    return { name: `${String(n).padStart(5, "0")}_expand_${n}.expand.sql`, text };
}

function main(): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-lint-"));
    try {
        let bytes = 0;
        for (let n = 1; n <= FILES; n++) {
            const { name, text } = migration(n);
            fs.writeFileSync(path.join(dir, name), text);
            bytes += Buffer.byteLength(text);
        }
        const coldStart = process.hrtime.bigint();
        const first = lintPaths([dir]); // the first run includes JIT warm-up: reported, not the target
        const cold = Number(process.hrtime.bigint() - coldStart) / 1e6;
        const byRule = new Map<string, number>();
        for (const f of first.findings) byRule.set(f.ruleId, (byRule.get(f.ruleId) ?? 0) + 1);
        const runs: number[] = [];
        let findings = 0;
        for (let run = 0; run < 3; run++) {
            const start = process.hrtime.bigint();
            const report = lintPaths([dir]);
            runs.push(Number(process.hrtime.bigint() - start) / 1e6);
            findings = report.findings.length;
            if (report.problems.length > 0) throw new Error(report.problems.map((p) => p.message).join("\n"));
        }
        const best = Math.min(...runs);
        console.log(`lint: ${FILES} files (${(bytes / 1024 / 1024).toFixed(2)} MiB), ${findings} findings; ` +
            `cold ${cold.toFixed(0)} ms, warm runs ${runs.map((r) => r.toFixed(0)).join(" / ")} ms, best ${best.toFixed(0)} ms (target < 2000 ms)`);
        console.log(`findings by rule: ${[...byRule].map(([id, count]) => `${id} ${count}`).join(", ")}`);
        if (best >= 2000) process.exitCode = 1;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main();
