/**
 * `npx ts-node --transpile-only scripts/record-post-flip-fixture.ts [--duration 20 --rate 200 --connections 20]
 *  [--report /tmp/r/report.json] [--out tests/fixtures/post-flip/rehearsal-records.json]`
 *
 * Runs the local rehearsal once (same options as `npm run rehearse`) and saves its per-request records, trimmed to
 * the fields the post-flip analysis reads, together with the flips, as a fixture for tests/release/postFlipAnalysis.
 * The rehearsal's JSON report itself has only aggregates, not the records.
 */
import * as fs from "fs";
import * as path from "path";
import { Cleanup } from "../rehearsal/cleanup";
import { parseOptions } from "../rehearsal/options";
import { runRehearsal } from "../rehearsal/scenario";

async function main(argv: string[]): Promise<void> {
    const outIdx = argv.indexOf("--out");
    const out = outIdx >= 0 ? argv[outIdx + 1] : path.join("tests", "fixtures", "post-flip", "rehearsal-records.json");
    const rest = outIdx >= 0 ? [...argv.slice(0, outIdx), ...argv.slice(outIdx + 2)] : argv;
    const options = parseOptions(rest);
    const cleanup = new Cleanup();
    cleanup.trap();
    const result = await runRehearsal(options, (line) => void process.stdout.write(line + "\n"), cleanup);
    // Compact rows (a few hundred KB at most): [start, end, status | null, color | null, error | null, kind], ms rounded.
    const rows = result.records.map((r) => [Math.round(r.start), Math.round(r.end), r.status ?? null, r.color ?? null, r.error ?? null, r.kind]);
    const fixture = {
        recorded: new Date().toISOString(),
        options: { durationS: options.durationS, rate: options.rate, connections: options.connections },
        flips: result.flips.map((f) => ({ ...f, at: Math.round(f.at), ackAt: Math.round(f.ackAt) })),
        columns: ["start", "end", "status", "color", "error", "kind"],
        rows,
    };
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(fixture) + "\n");
    process.stdout.write(`${rows.length} records, ${result.flips.length} flips -> ${out}\n`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`recording failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
});
