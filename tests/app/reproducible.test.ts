import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sourceDateEpoch, writeReproducibleTarGz } from "../../app/reproducible";

let tmp: string;
beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "reproducible-"));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sha = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** Writes the files in the given order, with the given mode and mtime, into a new directory. */
function tree(name: string, files: [string, string][], mode: number, mtime: Date): string {
    const dir = path.join(tmp, name);
    for (const [file, text] of files) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text, { mode });
        fs.chmodSync(path.join(dir, file), mode);
        fs.utimesSync(path.join(dir, file), mtime, mtime);
    }
    return dir;
}

describe("writeReproducibleTarGz", () => {
    const files: [string, string][] = [
        ["package.json", "{}\n"],
        ["dist/app/main.js", "console.log(1);\n"],
        ["node_modules/pg/index.js", "module.exports = {};\n"],
    ];

    it("writes the same bytes for the same files written in another order, at another time, with another umask", () => {
        const a = tree("a", files, 0o644, new Date("2026-01-01T00:00:00Z"));
        const b = tree("b", [...files].reverse(), 0o664, new Date("2026-06-01T12:34:56Z"));
        writeReproducibleTarGz(a, path.join(tmp, "a.tgz"), 1_700_000_000);
        writeReproducibleTarGz(b, path.join(tmp, "b.tgz"), 1_700_000_000);
        expect(sha(path.join(tmp, "a.tgz"))).toBe(sha(path.join(tmp, "b.tgz")));
    });

    it("writes other bytes when a file's content differs", () => {
        const a = tree("a", files, 0o644, new Date());
        const b = tree("b", [...files.slice(0, 2), ["node_modules/pg/index.js", "module.exports = { x: 1 };\n"]], 0o644, new Date());
        writeReproducibleTarGz(a, path.join(tmp, "a.tgz"), 1);
        writeReproducibleTarGz(b, path.join(tmp, "b.tgz"), 1);
        expect(sha(path.join(tmp, "a.tgz"))).not.toBe(sha(path.join(tmp, "b.tgz")));
    });

    it("sorts entries by name, stamps every entry with the given time and owner 0:0, and keeps no name or time in the gzip header", () => {
        const dir = tree("a", files, 0o600, new Date());
        const out = path.join(tmp, "a.tgz");
        writeReproducibleTarGz(dir, out, 1_700_000_000);
        const listing = execFileSync("tar", ["--list", "--verbose", "--numeric-owner", "--full-time", "--file", out], { encoding: "utf8", env: { ...process.env, TZ: "UTC" } })
            .trim()
            .split("\n");
        const names = listing.map((l) => l.split(/\s+/).pop());
        expect(names).toEqual([...names].sort());
        for (const line of listing) expect(line).toMatch(/^\S+ 0\/0 +\d+ 2023-11-14 22:13:20 /);
        expect(listing.find((l) => l.endsWith("package.json"))).toMatch(/^-rw-r--r-- /);
        const header = fs.readFileSync(out).subarray(0, 10);
        expect([header[3] & 0x08, header.readUInt32LE(4)]).toEqual([0, 0]); // FNAME flag off, MTIME 0
    });
});

describe("sourceDateEpoch", () => {
    it("is SOURCE_DATE_EPOCH when set", () => {
        expect(sourceDateEpoch(tmp, { SOURCE_DATE_EPOCH: "1700000000" })).toBe(1_700_000_000);
    });

    it("refuses a SOURCE_DATE_EPOCH that is not whole seconds, saying how to fix it", () => {
        expect(() => sourceDateEpoch(tmp, { SOURCE_DATE_EPOCH: "2026-11-23" })).toThrow(/SOURCE_DATE_EPOCH "2026-11-23" is not a whole number of seconds.*unset it/);
    });

    it("is HEAD's committer time in a git checkout, whatever the clock says", () => {
        const env = { ...process.env, GIT_AUTHOR_DATE: "2026-03-04T05:06:07Z", GIT_COMMITTER_DATE: "2026-03-04T05:06:07Z" };
        const git = (...args: string[]) => execFileSync("git", args, { cwd: tmp, env, stdio: "ignore" });
        git("init", "-q");
        git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "--allow-empty", "-m", "x");
        expect(sourceDateEpoch(tmp, {})).toBe(Date.parse("2026-03-04T05:06:07Z") / 1000);
    });

    it("refuses a directory that is not a git checkout when SOURCE_DATE_EPOCH is not set", () => {
        expect(() => sourceDateEpoch(tmp, {})).toThrow(/is not a git checkout with a commit.*set SOURCE_DATE_EPOCH/);
    });
});
