/**
 * The migration CLI: `npm run --silent db -- <command> [options]`.
 *
 * Exit codes: 0 ok, 1 refused or failed, 2 usage error.
 */

/** Where the CLI writes. Tests pass their own. */
export interface CliIo {
    readonly stdout: { write(text: string): unknown };
    readonly stderr: { write(text: string): unknown };
}

/** The signature of engineer C's `lintCommand` (migrator/lint/command.ts). */
type LintCommand = (argv: string[], io: CliIo) => Promise<number>;

export const USAGE = `usage: npm run --silent db -- <command> [options]

commands:
  lint <file-or-dir>...                  lint migrations (T-SQL rules; see docs/migration-lint-rules.md)
`;

/** Runs one CLI command and returns its exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
    const [command, ...rest] = argv;
    switch (command) {
        case "lint": {
            const modulePath = "./lint/command";
            const { lintCommand } = (await import(modulePath)) as { lintCommand: LintCommand };
            return lintCommand(rest, io);
        }
        default:
            io.stderr.write(command ? `unknown command "${command}"\n${USAGE}` : USAGE);
            return 2;
    }
}

if (require.main === module) {
    main(process.argv.slice(2), process).then(
        (code) => {
            process.exitCode = code;
        },
        (err: unknown) => {
            process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
            process.exitCode = 1;
        },
    );
}
