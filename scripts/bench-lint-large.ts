/**
 * Benchmark: one large single-batch migration (a bulk INSERT … VALUES), linted the way `db lint` does. Not a test;
 * run `npm run bench:lint-large`. Reports, for a file just under the size limit (MAX_MIGRATION_BYTES, 2 MiB) and for
 * a 50 MB file (refused before it is read), the time and the process's peak memory (max RSS). Targets: the largest
 * accepted file under 10 s and the process under 300 MB; the 50 MB file refused at once.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lintPaths } from "../migrator/lint/lint";
import { MAX_MIGRATION_BYTES } from "../migrator/migrationFile";

/** Writes a bulk INSERT … VALUES of about `bytes` bytes, in chunks (a 50 MB string would itself take memory). */
function writeBulkInsert(file: string, bytes: number): void {
    const row = "(1, N'some text value, it''s here', 3.14, '2026-01-01'),\n";
    const fd = fs.openSync(file, "w");
    try {
        fs.writeSync(fd, "INSERT INTO dbo.t (a, b, c, d) VALUES\n");
        const rows = Math.floor((bytes - 100) / row.length);
        const chunk = row.repeat(10_000);
        for (let done = 0; done < rows; done += 10_000) fs.writeSync(fd, rows - done >= 10_000 ? chunk : row.repeat(rows - done));
        fs.writeSync(fd, "(0, N'x', 0, '2026-01-01');\n");
    } finally {
        fs.closeSync(fd);
    }
}

function measure(dir: string, name: string, bytes: number): boolean {
    const file = path.join(dir, name);
    writeBulkInsert(file, bytes);
    const size = fs.statSync(file).size;
    const start = process.hrtime.bigint();
    const report = lintPaths([file]);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const peakMb = process.resourceUsage().maxRSS / 1024;
    const outcome = report.problems.length > 0 ? `refused: ${report.problems[0].reason.slice(0, 60)}…` : `${report.findings.length} findings`;
    console.log(`lint ${(size / 1024 / 1024).toFixed(1)} MiB single batch: ${ms.toFixed(0)} ms, peak RSS ${peakMb.toFixed(0)} MB so far; ${outcome}`);
    fs.rmSync(file);
    return ms < 10_000 && peakMb < 300;
}

function main(): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-lint-large-"));
    try {
        const refusedOk = measure(dir, "0001_huge.expand.sql", 50 * 1000 * 1000);
        const largestOk = measure(dir, "0002_largest.expand.sql", MAX_MIGRATION_BYTES);
        console.log(`targets (under 10 s, under 300 MB): ${refusedOk && largestOk ? "met" : "NOT met"}`);
        if (!(refusedOk && largestOk)) process.exitCode = 1;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main();
