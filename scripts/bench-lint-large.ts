/**
 * Benchmark: large single-batch migrations, linted the way `db lint` does. Not a test; run `npm run bench:lint-large`.
 * Each case runs in a process of its own, so its peak memory (max RSS, the whole process: Node and ts-node included)
 * is its own:
 * - a 50 MB bulk `INSERT … VALUES` (target: under 10 s and under 300 MB);
 * - a bulk INSERT at the size limit (MAX_MIGRATION_BYTES);
 * - 3 MB of small statements without VALUES rows (every token of the batch held, under the batch-token limit);
 * - a file one byte over the limit (refused before it is read).
 * Exits 1 when the 50 MB case misses a target or the over-limit file is not refused.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lintPaths } from "../migrator/lint/lint";
import { MAX_MIGRATION_BYTES } from "../migrator/migrationFile";

type Shape = "bulk" | "statements";

/** Writes about `bytes` bytes of one shape, in chunks (a 50 MB string would itself take memory). */
function writeMigration(file: string, bytes: number, shape: Shape): void {
    const row = shape === "bulk"
        ? "(1, N'some text value, it''s here', 3.14, '2026-01-01'),\n"
        : "UPDATE dbo.t SET b = N'x' WHERE a = 1;\n";
    const fd = fs.openSync(file, "w");
    try {
        if (shape === "bulk") fs.writeSync(fd, "INSERT INTO dbo.t (a, b, c, d) VALUES\n");
        const rows = Math.floor((bytes - 100) / row.length);
        const chunk = row.repeat(10_000);
        for (let done = 0; done < rows; done += 10_000) fs.writeSync(fd, rows - done >= 10_000 ? chunk : row.repeat(rows - done));
        fs.writeSync(fd, shape === "bulk" ? "(0, N'x', 0, '2026-01-01');\n" : "SELECT 1;\n");
    } finally {
        fs.closeSync(fd);
    }
}

/** Child process: lints one file and prints one JSON line. */
function measureOne(file: string): void {
    const baseMb = process.memoryUsage().rss / 1024 / 1024;
    const start = process.hrtime.bigint();
    const cpuBefore = process.cpuUsage();
    const report = lintPaths([file]);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const peakMb = process.resourceUsage().maxRSS / 1024;
    const outcome = report.problems.length > 0 ? `refused: ${report.problems[0].reason.slice(0, 90)}…` : `linted, ${report.findings.length} finding(s)`;
    console.log(JSON.stringify({ ms, cpuMs, peakMb, baseMb, refused: report.problems.length > 0, outcome }));
}

interface Result {
    readonly ms: number;
    /** CPU time (user + system) of the lint: what the wall time would be on an idle core. */
    readonly cpuMs: number;
    readonly peakMb: number;
    readonly baseMb: number;
    readonly refused: boolean;
    readonly outcome: string;
}

function run(dir: string, label: string, bytes: number, shape: Shape | "over"): Result {
    const file = path.join(dir, "0001_big.expand.sql");
    if (shape === "over") {
        fs.writeFileSync(file, "");
        fs.truncateSync(file, bytes); // refused on its size, never read
    } else {
        writeMigration(file, bytes, shape);
    }
    const size = fs.statSync(file).size;
    const out = execFileSync(process.execPath, [...process.execArgv, __filename, "--one", file], { encoding: "utf8" });
    const result = JSON.parse(out.trim().split("\n").pop()!) as Result;
    fs.rmSync(file);
    console.log(`${label} (${(size / 1024 / 1024).toFixed(1)} MiB): ${result.ms.toFixed(0)} ms (CPU ${result.cpuMs.toFixed(0)} ms), peak RSS ${result.peakMb.toFixed(0)} MB ` +
        `(process before linting: ${result.baseMb.toFixed(0)} MB); ${result.outcome}`);
    return result;
}

function main(): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-lint-large-"));
    try {
        const fifty = run(dir, "bulk INSERT, 50 MB, one batch", 50 * 1000 * 1000, "bulk");
        run(dir, "bulk INSERT at the limit", MAX_MIGRATION_BYTES - 200, "bulk");
        run(dir, "small statements, 3 MB, one batch", 3 * 1000 * 1000, "statements");
        const over = run(dir, "one byte over the limit", MAX_MIGRATION_BYTES + 1, "over");
        const met = !fifty.refused && fifty.ms < 10_000 && fifty.peakMb < 300 && over.refused;
        console.log(`targets (50 MB: under 10 s and under 300 MB; over the limit: refused): ${met ? "met" : "NOT met"}`);
        if (!met) process.exitCode = 1;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

if (process.argv[2] === "--one") measureOne(process.argv[3]);
else main();
