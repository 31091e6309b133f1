/**
 * Same inputs → same bytes: what `npm run app:pack` needs so that a version has one SHA-256 wherever and whenever
 * it is packed. The time stamped into the artifact is the commit's (or SOURCE_DATE_EPOCH's, the reproducible-builds
 * convention), never the clock; the archive has its entries sorted by name, one fixed mtime, owner 0:0 by number,
 * normalized modes, and a gzip header without a name or time (`gzip -n`).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * The time a build of `root` is stamped with, in seconds since the epoch: `SOURCE_DATE_EPOCH` when set, else the
 * committer time of HEAD. Throws, saying how to fix it, when it is neither.
 */
export function sourceDateEpoch(root: string, env: NodeJS.ProcessEnv = process.env): number {
    const fromEnv = env.SOURCE_DATE_EPOCH;
    if (fromEnv !== undefined && fromEnv !== "") {
        if (!/^\d+$/.test(fromEnv)) {
            throw new Error(`SOURCE_DATE_EPOCH "${fromEnv}" is not a whole number of seconds since 1970; unset it to use the commit's time, or set e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`);
        }
        return Number(fromEnv);
    }
    let out: string;
    try {
        out = execFileSync("git", ["log", "-1", "--format=%ct", "HEAD"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
        out = "";
    }
    if (!/^\d+$/.test(out)) {
        throw new Error(`${root} is not a git checkout with a commit, so the build has no time of its own: pack from a git checkout, or set SOURCE_DATE_EPOCH (seconds since 1970).`);
    }
    return Number(out);
}

/**
 * Writes `dir`'s contents (as `./…`) to `out` as a gzip'd tar whose bytes depend only on the files' paths,
 * contents and executable bits, not on when, by whom or in what order they were written.
 */
export function writeReproducibleTarGz(dir: string, out: string, mtimeSeconds: number): void {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bg-tar-"));
    const tar = path.join(tmp, "archive.tar");
    try {
        execFileSync(
            "tar",
            [
                "--create",
                "--file", tar,
                "--format=gnu",
                "--sort=name",
                `--mtime=@${mtimeSeconds}`,
                "--owner=0", "--group=0", "--numeric-owner",
                "--mode=u+rwX,go+rX,go-w",
                "-C", dir, ".",
            ],
            { stdio: ["ignore", "ignore", "pipe"] },
        );
        const fd = fs.openSync(out, "w");
        try {
            execFileSync("gzip", ["-n", "-c", tar], { stdio: ["ignore", fd, "pipe"] });
        } finally {
            fs.closeSync(fd);
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}
