import { Dialect } from "../tsql/tokenizer";
import { Finding, lintPaths } from "./lint";

/** Where the command writes (process.stdout/stderr in the CLI, buffers in tests). */
export interface CommandIO {
    readonly stdout: { write(text: string): unknown };
    readonly stderr: { write(text: string): unknown };
}

export const LINT_USAGE = [
    "usage: npm run --silent db -- lint [--dialect tsql|postgres] <file-or-dir>...",
    "",
    "Checks expand/contract migrations against the zero-downtime rules (docs/migration-lint-rules.md).",
    "A directory means its *.sql files (not sub-directories). --dialect postgres reads the PostgreSQL twins.",
    "Prints <path>:<line>: <RULE-ID> <severity>: <message> per finding.",
    "Exit code: 0 no errors (warnings allowed), 1 at least one error, 2 usage error or a file that cannot be read.",
].join("\n");

/** One output line per finding: `<path>:<line>: <RULE-ID> <severity>: <message>`; allowed ones say so and why. */
export function formatFinding(finding: Finding): string {
    const status = finding.allowed ? `${finding.severity} allowed (${finding.allowed.reason})` : finding.severity;
    return `${finding.path}:${finding.line}: ${finding.ruleId} ${status}: ${finding.message}`;
}

/** True when the findings should fail a run: an error that no `-- lint:allow` covers. Warnings never do. */
export function hasBlockingErrors(findings: readonly Finding[]): boolean {
    return findings.some((f) => f.severity === "error" && !f.allowed);
}

/**
 * `db lint <file-or-dir>...`: prints findings, returns the exit code (0 clean or warnings only, 1 errors,
 * 2 usage error or a file that cannot be read, named or tokenized).
 */
export async function lintCommand(argv: readonly string[], io: CommandIO): Promise<number> {
    const paths: string[] = [];
    let dialect: Dialect = "tsql";
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--help" || arg === "-h") {
            io.stdout.write(`${LINT_USAGE}\n`);
            return 0;
        }
        if (arg === "--dialect" || arg.startsWith("--dialect=")) {
            const value = arg.includes("=") ? arg.slice("--dialect=".length) : argv[++i];
            if (value !== "tsql" && value !== "postgres") {
                io.stderr.write(`lint: --dialect must be tsql or postgres (got ${value === undefined ? "nothing" : `"${value}"`}).\n${LINT_USAGE}\n`);
                return 2;
            }
            dialect = value;
            continue;
        }
        if (arg.startsWith("-") && arg !== "-") {
            io.stderr.write(`lint: unknown option "${arg}".\n${LINT_USAGE}\n`);
            return 2;
        }
        paths.push(arg);
    }
    if (paths.length === 0) {
        io.stderr.write(`lint: name at least one migration file or directory, e.g. npm run --silent db -- lint migrations/\n${LINT_USAGE}\n`);
        return 2;
    }
    const report = lintPaths(paths, { dialect });
    for (const finding of report.findings) io.stdout.write(`${formatFinding(finding)}\n`);
    for (const problem of report.problems) io.stderr.write(`${problem.message}\n`);
    const errors = report.findings.filter((f) => f.severity === "error" && !f.allowed).length;
    const warnings = report.findings.filter((f) => f.severity === "warning" && !f.allowed).length;
    const allowed = report.findings.filter((f) => f.allowed).length;
    io.stderr.write(`lint: ${report.files.length} file(s), ${errors} error(s), ${warnings} warning(s), ${allowed} allowed` +
        `${report.problems.length > 0 ? `, ${report.problems.length} unreadable` : ""}.\n`);
    if (report.problems.length > 0) return 2;
    return hasBlockingErrors(report.findings) ? 1 : 0;
}
