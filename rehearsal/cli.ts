/**
 * `npm run rehearse -- [--duration <s>] [--rate <req/s>] [--connections <n>] [--report <path>] [--fault <fault>]`
 *
 * Runs the local rehearsal of a whole blue/green release (see rehearsal/scenario.ts and docs/rehearsal.md), prints
 * the timeline as it goes and a summary at the end, writes the JSON report and the SVG chart, and ends with a verdict
 * line (`VERDICT: PASS` or what failed: rehearsal/report.ts `rehearsalVerdict`). Exits 0 on PASS, 1 on FAIL (or when
 * the scenario could not complete), 2 on bad options; `--help` prints the usage and exits 0.
 */
import { Cleanup } from "./cleanup";
import { parseOptions, USAGE } from "./options";
import { formatSummary, formatVerdict, rehearsalVerdict } from "./report";
import { runRehearsal } from "./scenario";

async function main(argv: string[]): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h")) {
        process.stdout.write(USAGE);
        return 0;
    }
    let options;
    try {
        options = parseOptions(argv);
    } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        return 2;
    }
    const cleanup = new Cleanup();
    cleanup.trap();
    const print = (line: string): void => void process.stdout.write(line + "\n");
    print(
        `rehearsal: ${options.durationS} s of load, ${options.rate} req/s over ${options.connections} connections, ` +
            (options.fault === "errors-after-flip"
                ? "v2 passes the gate but fails 20% of requests once live (errors-after-flip): the post-flip watch must flip production back; "
                : `broken v3: ${options.fault}; `) +
            `setup before it (PostgreSQL, HAProxy, four app processes) and teardown after it add some seconds, printed at the end`,
    );
    const started = Date.now();
    const result = await runRehearsal(options, print, cleanup);
    const wallS = (Date.now() - started) / 1000;
    print("");
    print(formatSummary(result.report));
    print(`report: ${result.reportPath}`);
    print(`chart:  ${result.chartPath}`);
    const loadS = result.report.durationMs / 1000;
    print(
        `took ${wallS.toFixed(1)} s: ${loadS.toFixed(1)} s of load (asked: ${options.durationS} s` +
            (loadS > options.durationS + 1 ? `; steps that ran late on this machine extended it by ${(loadS - options.durationS).toFixed(1)} s` : "") +
            `), ${Math.max(0, wallS - loadS).toFixed(1)} s of setup and teardown`,
    );
    const verdict = rehearsalVerdict(result.report);
    print(formatVerdict(verdict));
    return verdict.pass ? 0 : 1;
}

main(process.argv.slice(2)).then(
    (code) => {
        process.exitCode = code;
    },
    (e: unknown) => {
        process.stderr.write(`rehearsal failed: ${e instanceof Error ? e.message : String(e)}\n`);
        process.stdout.write(`VERDICT: FAIL — the rehearsal stopped before its end: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}\n`);
        process.exitCode = 1;
    },
);
