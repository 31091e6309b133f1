/**
 * A real throw-away git repository for the release-step check's tests: stack files are written from plain
 * objects and committed at chosen times (commit dates are what the check uses as flip times).
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

/** A valid ssh-ed25519 public key (the program's validation checks the key body). */
export const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJHgOqwkaHua7ccdNZCiF0pwz+OLtr/HDdgV+qOxD71B ops@example";

export const PROJECT = "azure-bluegreen";

/** The keys a test sets; everything else is the program's default. */
export type StackValues = Record<string, string | number | boolean | string[]>;

/** A stand-in for the SHA-256 of `app-<version>.tgz` (what `npm run app:pack` writes next to it). */
export function artifactSha256(version: string): string {
    return crypto.createHash("sha256").update(`app-${version}.tgz`).digest("hex");
}

/**
 * A minimal valid stack: blue live, both colors at 1.0.0. Each color's artifact checksum follows its version
 * (as a real bump changes both keys) unless given.
 */
export function baseStack(overrides: StackValues = {}): StackValues {
    const values: StackValues = { liveColor: "blue", blueVersion: "1.0.0", greenVersion: "1.0.0", sshPublicKey: SSH_KEY, ...overrides };
    for (const color of ["blue", "green"]) {
        values[`${color}ArtifactSha256`] ??= artifactSha256(String(values[`${color}Version`]));
    }
    return values;
}

export class TempRepo {
    readonly dir: string;
    /** Minutes since 2026-11-01T00:00Z of the next commit; advance with `later`. */
    private minute = 0;

    constructor() {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "release-check-"));
        this.git("init", "-q", "-b", "main");
        this.git("config", "user.email", "release@example.org");
        this.git("config", "user.name", "Release Test");
        this.git("config", "commit.gpgsign", "false");
        fs.writeFileSync(path.join(this.dir, "Pulumi.yaml"), `name: ${PROJECT}\nruntime: nodejs\n`);
        fs.writeFileSync(path.join(this.dir, "README.md"), "app\n");
        this.commit("project");
    }

    /** The time the next commit gets. */
    get time(): Date {
        return new Date(Date.UTC(2026, 10, 1) + this.minute * 60_000);
    }

    /** Moves the clock forward. */
    later(minutes: number): this {
        this.minute += minutes;
        return this;
    }

    git(...args: string[]): string {
        const date = this.time.toISOString();
        return execFileSync("git", args, {
            cwd: this.dir,
            encoding: "utf8",
            env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
        }).trim();
    }

    /** Writes Pulumi.<stack>.yaml with these values under the project's namespace (location is always set). */
    writeStack(stack: string, values: StackValues): this {
        const config: Record<string, unknown> = { "azure-native:location": "westeurope" };
        for (const [k, v] of Object.entries(values)) config[`${PROJECT}:${k}`] = v;
        fs.writeFileSync(path.join(this.dir, `Pulumi.${stack}.yaml`), YAML.stringify({ config }));
        return this;
    }

    writeFile(name: string, text: string): this {
        fs.mkdirSync(path.dirname(path.join(this.dir, name)), { recursive: true });
        fs.writeFileSync(path.join(this.dir, name), text);
        return this;
    }

    /** Commits everything; returns the commit id. Advances the clock one minute. */
    commit(message: string): string {
        this.git("add", "-A");
        this.git("commit", "-q", "--allow-empty", "-m", message);
        this.minute += 1;
        return this.git("rev-parse", "HEAD");
    }

    /** Writes a stack file and commits it; returns the commit id. */
    commitStack(stack: string, values: StackValues, message = `${stack}: ${JSON.stringify(values)}`): string {
        return this.writeStack(stack, values).commit(message);
    }

    /** `git revert` of a commit, committed now; returns the new commit id. */
    revert(sha: string): string {
        this.git("revert", "--no-edit", sha);
        this.minute += 1;
        return this.git("rev-parse", "HEAD");
    }

    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
