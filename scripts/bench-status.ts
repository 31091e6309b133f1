/**
 * Benchmark (not a test): `status` with 1,000 applied migrations on a real, throw-away PostgreSQL.
 * Target: under 1 s. Run with `npm run bench:status`.
 *
 * It writes 1,000 small migration files to a temp dir, applies them with the runner (`up --phase expand`), then
 * times `status()` (read the directory, parse and checksum every file, read the journal, compare) several times.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createRunner } from "../migrator/runner";
import { startPostgres } from "../tests/support/postgres";

const COUNT = 1000;
const RUNS = 5;

async function main(): Promise<void> {
    const pg = await startPostgres();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-bench-status-"));
    try {
        for (let i = 1; i <= COUNT; i++) {
            const n = String(i).padStart(4, "0");
            fs.writeFileSync(
                path.join(dir, `${n}_add_column_${n}.expand.sql`),
                `-- bench migration ${n}\nCREATE TABLE IF NOT EXISTS bench (id int PRIMARY KEY);\nALTER TABLE bench ADD COLUMN c${n} int NULL;\n`,
            );
        }
        const url = await pg.createDatabase("bench_status");
        const runner = createRunner({ url, dir });
        let t = process.hrtime.bigint();
        const { applied } = await runner.up({ phase: "expand" });
        const upMs = Number(process.hrtime.bigint() - t) / 1e6;
        console.log(`applied ${applied.length} migrations in ${upMs.toFixed(0)} ms`);

        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) {
            t = process.hrtime.bigint();
            const status = await runner.status();
            times.push(Number(process.hrtime.bigint() - t) / 1e6);
            const appliedOk = status.migrations.filter((m) => m.state === "applied" && m.checksumOk).length;
            if (appliedOk !== COUNT) throw new Error(`status saw ${appliedOk} applied migrations, expected ${COUNT}`);
        }
        times.sort((a, b) => a - b);
        const median = times[Math.floor(times.length / 2)];
        console.log(`status with ${COUNT} applied migrations: median ${median.toFixed(0)} ms, min ${times[0].toFixed(0)} ms, max ${times[times.length - 1].toFixed(0)} ms over ${RUNS} runs (target < 1000 ms)`);
        process.exitCode = median < 1000 ? 0 : 1;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        await pg.stop();
    }
}

main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
});
