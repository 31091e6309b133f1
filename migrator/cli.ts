/**
 * The migration CLI: `npm run --silent db -- <command> [options]` (see USAGE and docs/migrations.md).
 *
 * Exit codes: 0 ok, 1 refused or failed, 2 usage error.
 */
import { parseArgs } from "util";
import { DatabaseUrlError } from "./databaseUrl";
import { lintCommand } from "./lint/command";
import { Phase, Plan } from "./plan";
import { createRunner, RefusedError, Runner, RunnerOptions } from "./runner";

/** Where the CLI writes. Tests pass their own. */
export interface CliIo {
    readonly stdout: { write(text: string): unknown };
    readonly stderr: { write(text: string): unknown };
}

export const USAGE = `usage: npm run --silent db -- <command> [options]

commands:
  status [--json]                                   every migration: applied | pending | failed, checksum ok
  plan --phase expand|contract [--running-versions <v>,<v>]
                                                    what up would run and what it would refuse (read-only)
  up --phase expand                                 run the pending expand migrations
  up --phase contract --running-versions <v>,<v>    run the pending contract migrations; <v>: the version of every
                                                    color that can take traffic (live and rollback target)
  resolve <name> --applied | --rolled-back          settle a failed no-transaction migration
  baseline --to <name> | baseline <name>...         record migrations the schema already has as applied, without running them
                                                    (only on an empty journal; docs/existing-database.md)
  ensure-app-user [--user <name>]                   create the app's least-privilege user (an existing one keeps its password)
                                                    (password from APP_DB_PASSWORD; user default app_user)
  lint <file-or-dir>...                             lint migrations (docs/migration-lint-rules.md)

options:
  --url <url>              database URL (default: $DATABASE_URL): postgres://, postgresql://, mssql://, sqlserver://
  --dir <dir>              migrations directory (default: migrations/ for SQL Server, migrations/postgres/ for PostgreSQL)
  --lock-timeout <s>       how long to wait for another runner (default 60)
  --request-timeout <s>    timeout of one batch (default 1800)

exit codes: 0 ok, 1 refused or failed, 2 usage error
`;

/** A mistake in the command line: exit code 2. */
export class UsageError extends Error {}

const COMMANDS = ["status", "plan", "up", "resolve", "baseline", "ensure-app-user"];

const OPTIONS = {
    url: { type: "string" },
    dir: { type: "string" },
    json: { type: "boolean" },
    phase: { type: "string" },
    "running-versions": { type: "string" },
    "lock-timeout": { type: "string" },
    "request-timeout": { type: "string" },
    applied: { type: "boolean" },
    "rolled-back": { type: "boolean" },
    user: { type: "string" },
    to: { type: "string" },
    help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

function seconds(value: string | undefined, option: string): number | undefined {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${option} "${value}" is not a positive number of seconds (e.g. --${option} 120).`);
    return Math.round(n * 1000);
}

function phaseOf(values: Values): Phase {
    const phase = values.phase;
    if (phase !== "expand" && phase !== "contract") {
        throw new UsageError(
            `${phase === undefined ? "--phase is missing" : `--phase "${phase}" is not a phase`}: use --phase expand or --phase contract.`,
        );
    }
    return phase;
}

function runningVersionsOf(values: Values, phase: Phase, required: boolean): string[] | undefined {
    const raw = values["running-versions"];
    if (phase === "expand") {
        if (raw !== undefined) throw new UsageError("--running-versions is only for --phase contract.");
        return undefined;
    }
    if (raw === undefined) {
        if (!required) return undefined;
        throw new UsageError(
            "--phase contract needs --running-versions <v>,<v>: the version of every color that can take traffic " +
                "(the live one and the rollback target), e.g. --running-versions 2.0.0,2.0.0.",
        );
    }
    return raw
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v !== "");
}

function printPlan(plan: Plan, io: CliIo): void {
    io.stdout.write(`plan (${plan.phase ?? "status"}):\n`);
    if (plan.toRun.length === 0 && plan.refusals.length === 0) io.stdout.write("  nothing to run\n");
    for (const m of plan.toRun) io.stdout.write(`  run    ${m.name}${m.noTransaction ? " (no transaction)" : ""}\n`);
    for (const w of plan.waiting) io.stdout.write(`  wait   ${w.name}: ${w.why}\n`);
    if (plan.refusals.length > 0) {
        io.stdout.write("up would refuse, changing nothing:\n");
        for (const r of plan.refusals) io.stdout.write(`  - ${r}\n`);
    }
}

async function runCommand(command: string, args: string[], io: CliIo, makeRunner: (o: RunnerOptions) => Runner): Promise<number> {
    if (!COMMANDS.includes(command)) throw new UsageError(`unknown command "${command}".`);
    const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
    if (values.help) {
        io.stdout.write(USAGE);
        return 0;
    }
    const expectPositionals = command === "resolve" ? 1 : 0;
    if (command === "baseline") {
        if ((values.to === undefined) === (positionals.length === 0)) {
            throw new UsageError("baseline needs either --to <name> (every migration up to and including it) or the names to record, not both, e.g. baseline --to 0001_baseline.expand.sql.");
        }
    } else if (positionals.length !== expectPositionals) {
        throw new UsageError(
            command === "resolve"
                ? "resolve needs exactly one migration name, e.g. resolve 0004_build_index.expand.sql --applied."
                : `${command} takes no arguments besides options (got "${positionals.join(" ")}").`,
        );
    }
    const lockTimeoutMs = seconds(values["lock-timeout"], "lock-timeout");
    const requestTimeoutMs = seconds(values["request-timeout"], "request-timeout");
    const runner = makeRunner({
        ...(values.url !== undefined ? { url: values.url } : {}),
        ...(values.dir !== undefined ? { dir: values.dir } : {}),
        ...(lockTimeoutMs !== undefined ? { lockTimeoutMs } : {}),
        ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
        log: (line) => io.stdout.write(`${line}\n`),
    });

    switch (command) {
        case "status": {
            const { migrations, refusals } = await runner.status();
            if (values.json) {
                io.stdout.write(`${JSON.stringify(migrations, null, 2)}\n`);
                return 0;
            }
            io.stdout.write(`${runner.dialect} migrations in ${runner.dir}:\n`);
            for (const m of migrations) {
                const flags = [!m.checksumOk ? (m.fileMissing ? "FILE MISSING" : "CHECKSUM CHANGED") : "", m.appliedAt ?? ""].filter(Boolean);
                const state = m.baselined ? "baselined" : m.state;
                io.stdout.write(`  ${state.padEnd(9)} ${m.phase.padEnd(9)} ${m.name}${flags.length ? `  ${flags.join("  ")}` : ""}\n`);
            }
            for (const r of refusals) io.stdout.write(`  ! ${r}\n`);
            return 0;
        }
        case "plan": {
            const phase = phaseOf(values);
            const runningVersions = runningVersionsOf(values, phase, false);
            const plan = await runner.plan({ phase, ...(runningVersions ? { runningVersions } : {}) });
            printPlan(plan, io);
            if (phase === "contract" && !runningVersions) {
                io.stdout.write("  (pass --running-versions <v>,<v> to check the contract gate)\n");
            }
            return 0;
        }
        case "up": {
            const phase = phaseOf(values);
            const runningVersions = runningVersionsOf(values, phase, true);
            const result = await runner.up({ phase, ...(runningVersions ? { runningVersions } : {}) });
            io.stdout.write(`applied ${result.applied.length} ${phase} migration(s)\n`);
            return 0;
        }
        case "resolve": {
            if (values.applied === values["rolled-back"]) {
                throw new UsageError("resolve needs exactly one of --applied or --rolled-back.");
            }
            await runner.resolve(positionals[0], values.applied ? "applied" : "rolled-back");
            return 0;
        }
        case "baseline": {
            const names = await runner.baseline(values.to !== undefined ? { to: values.to } : { names: positionals });
            io.stdout.write(`baselined ${names.length} migration(s)\n`);
            return 0;
        }
        case "ensure-app-user": {
            const password = process.env.APP_DB_PASSWORD;
            if (!password) throw new UsageError("ensure-app-user reads the password from APP_DB_PASSWORD, which is not set.");
            await runner.ensureAppUser(values.user ?? process.env.APP_DB_USER ?? "app_user", password);
            return 0;
        }
        default:
            throw new UsageError(`unknown command "${command}".`);
    }
}

/** Runs one CLI command and returns its exit code. `makeRunner` is for tests. */
export async function main(argv: string[], io: CliIo, makeRunner: (o: RunnerOptions) => Runner = createRunner): Promise<number> {
    const [command, ...rest] = argv;
    if (command === "lint") return lintCommand(rest, io);
    if (command === undefined || command === "help" || command === "--help" || command === "-h") {
        (command ? io.stdout : io.stderr).write(USAGE);
        return command ? 0 : 2;
    }
    try {
        return await runCommand(command, rest, io, makeRunner);
    } catch (err) {
        const usage = err instanceof UsageError || err instanceof DatabaseUrlError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
        io.stderr.write(`${err instanceof RefusedError ? "" : "error: "}${err instanceof Error ? err.message : String(err)}\n`);
        if (usage) io.stderr.write("run `npm run --silent db -- help` for usage\n");
        return usage ? 2 : 1;
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
