/**
 * `npm run rehearse -- [--duration <s>] [--rate <req/s>] [--connections <n>] [--report <path>] [--fault <fault>]`
 *
 * Runs the local rehearsal of a whole blue/green release (see rehearsal/scenario.ts and docs/rehearsal.md), prints
 * the timeline as it goes and a summary at the end, writes the JSON report and the SVG chart. Exits 0 when no
 * request failed, 1 when some did or the scenario could not complete, 2 on bad options.
 */
import { Cleanup } from "./cleanup";
import { parseOptions } from "./options";
import { formatSummary } from "./report";
import { runRehearsal } from "./scenario";

async function main(argv: string[]): Promise<number> {
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
    print(`rehearsal: ${options.durationS} s, ${options.rate} req/s over ${options.connections} connections, broken v3: ${options.fault}`);
    const result = await runRehearsal(options, print, cleanup);
    print("");
    print(formatSummary(result.report));
    print(`report: ${result.reportPath}`);
    print(`chart:  ${result.chartPath}`);
    return result.report.failedRequests === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
    (code) => {
        process.exitCode = code;
    },
    (e: unknown) => {
        process.stderr.write(`rehearsal failed: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
    },
);
