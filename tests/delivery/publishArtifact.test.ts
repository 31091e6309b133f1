/**
 * delivery/publish-artifact.sh run for real against a stand-in `az` (a script on PATH that keeps blobs in a
 * folder and, like az, refuses to upload over an existing blob without --overwrite).
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SCRIPT = path.resolve(__dirname, "../../delivery/publish-artifact.sh");

const FAKE_AZ = `#!/usr/bin/env bash
# stand-in for: az storage blob exists|upload|download ... --name N [--file F] ...
echo "$*" >> "$AZ_LOG"
verb=$3; name=""; file=""; overwrite=false
while [ $# -gt 0 ]; do
  case "$1" in --name) name=$2; shift ;; --file) file=$2; shift ;; --overwrite) overwrite=true ;; esac
  shift
done
case "$verb" in
  exists) if [ -n "$AZ_BROKEN" ]; then echo "AuthorizationPermissionMismatch" >&2; exit 1; fi
          if [ -f "$AZ_BLOBS/$name" ]; then echo true; else echo false; fi ;;
  upload) if [ -f "$AZ_BLOBS/$name" ] && [ "$overwrite" != true ]; then echo "BlobAlreadyExists" >&2; exit 1; fi
          cp "$file" "$AZ_BLOBS/$name" ;;
  download) cp "$AZ_BLOBS/$name" "$file" ;;
esac
`;

let dir: string;
let blobs: string;
let dist: string;
let log: string;

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "publish-"));
    blobs = path.join(dir, "blobs");
    dist = path.join(dir, "dist");
    log = path.join(dir, "az.log");
    fs.mkdirSync(blobs);
    fs.mkdirSync(dist);
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "az"), FAKE_AZ, { mode: 0o755 });
    fs.writeFileSync(log, "");
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function pack(version: string, content = `app ${version}`, sumOverride?: string): string {
    const tgz = path.join(dist, `app-${version}.tgz`);
    fs.writeFileSync(tgz, content);
    const sum = sumOverride ?? crypto.createHash("sha256").update(content).digest("hex");
    fs.writeFileSync(`${tgz}.sha256`, `${sum}  app-${version}.tgz\n`);
    return sum;
}

function publish(version: string, env: Record<string, string> = {}) {
    const r = spawnSync("bash", [SCRIPT, version, "stacct", "artifacts", dist], {
        encoding: "utf8",
        env: { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, AZ_LOG: log, AZ_BLOBS: blobs, ...env },
    });
    return { code: r.status, out: r.stdout, err: r.stderr, calls: fs.readFileSync(log, "utf8").trim().split("\n").filter((l) => l) };
}

describe("publish-artifact.sh", () => {
    it("uploads the artifact, then its checksum, with the caller's Azure login and no --overwrite", () => {
        const sum = pack("1.2.0");
        const r = publish("1.2.0");
        expect(r.code).toBe(0);
        expect(fs.readFileSync(path.join(blobs, "app-1.2.0.tgz"), "utf8")).toBe("app 1.2.0");
        expect(fs.readFileSync(path.join(blobs, "app-1.2.0.tgz.sha256"), "utf8")).toContain(sum);
        const uploads = r.calls.filter((c) => c.startsWith("storage blob upload"));
        expect(uploads.map((c) => /--name (\S+)/.exec(c)?.[1])).toEqual(["app-1.2.0.tgz", "app-1.2.0.tgz.sha256"]);
        for (const c of r.calls) {
            expect(c).toMatch(/--auth-mode login --account-name stacct --container-name artifacts/);
            expect(c).not.toMatch(/--overwrite/);
        }
    });

    it("does nothing, successfully, when the same bytes are already published (a re-run)", () => {
        pack("1.2.0");
        expect(publish("1.2.0").code).toBe(0);
        fs.writeFileSync(log, "");
        const r = publish("1.2.0");
        expect([r.code, r.out]).toEqual([0, expect.stringMatching(/was already published to stacct\/artifacts: nothing to do/)]);
        expect(r.calls.some((c) => c.startsWith("storage blob upload"))).toBe(false);
    });

    it("completes a partial publish (artifact up, checksum not) when the artifact there is the same bytes", () => {
        const sum = pack("1.2.0");
        fs.copyFileSync(path.join(dist, "app-1.2.0.tgz"), path.join(blobs, "app-1.2.0.tgz"));
        const r = publish("1.2.0");
        expect([r.code, r.out]).toEqual([0, expect.stringMatching(/completed app-1\.2\.0\.tgz .*the same bytes were half there/)]);
        expect(r.calls.filter((c) => c.startsWith("storage blob upload")).map((c) => /--name (\S+)/.exec(c)?.[1])).toEqual(["app-1.2.0.tgz.sha256"]);
        expect(fs.readFileSync(path.join(blobs, "app-1.2.0.tgz.sha256"), "utf8")).toContain(sum);
    });

    it("refuses to complete a partial publish whose artifact is other bytes, and changes nothing", () => {
        pack("1.2.0");
        fs.writeFileSync(path.join(blobs, "app-1.2.0.tgz"), "another build");
        const r = publish("1.2.0");
        expect(r.code).toBe(1);
        expect(r.err).toMatch(/app-1\.2\.0\.tgz already exists in stacct\/artifacts and stands for sha256 [0-9a-f]{64}, not/);
        expect(fs.readdirSync(blobs)).toEqual(["app-1.2.0.tgz"]);
    });

    it("refuses to overwrite a version that is already published, and changes nothing", () => {
        pack("1.2.0", "first build");
        expect(publish("1.2.0").code).toBe(0);
        pack("1.2.0", "a different build of the same version");
        fs.writeFileSync(log, "");
        const r = publish("1.2.0");
        expect(r.code).toBe(1);
        expect(r.err).toMatch(/app-1\.2\.0\.tgz already exists in stacct\/artifacts and stands for sha256 [0-9a-f]{64}, not [0-9a-f]{64}\. Published versions are\s+immutable/);
        expect(r.err).toMatch(/git tag v<next>/);
        expect(r.calls.some((c) => c.startsWith("storage blob upload"))).toBe(false);
        expect(fs.readFileSync(path.join(blobs, "app-1.2.0.tgz"), "utf8")).toBe("first build");
    });

    it("refuses when only a checksum of other bytes is there (a half-published version is not replaced)", () => {
        pack("1.3.0");
        fs.writeFileSync(path.join(blobs, "app-1.3.0.tgz.sha256"), `${"a".repeat(64)}  app-1.3.0.tgz\n`);
        const r = publish("1.3.0");
        expect(r.code).toBe(1);
        expect(r.err).toMatch(/app-1\.3\.0\.tgz\.sha256 already exists in stacct\/artifacts and stands for sha256 a{64}/);
        expect(fs.existsSync(path.join(blobs, "app-1.3.0.tgz"))).toBe(false);
    });

    it.each([
        ["a version that is not semver", "1.2", () => undefined, /version "1\.2" is not a semantic version/],
        ["a missing artifact", "2.0.0", () => undefined, /dist\/app-2\.0\.0\.tgz not found: build it first with npm run app:pack -- 2\.0\.0/],
        ["a checksum that does not match", "2.0.0", () => pack("2.0.0", "x", "0".repeat(64)), /says 0{64} but app-2\.0\.0\.tgz hashes to/],
    ])("refuses %s before touching Azure", (_what, version, setup, message) => {
        setup();
        const r = publish(version);
        expect(r.code).toBe(1);
        expect(r.err).toMatch(message);
        expect(r.calls).toEqual([]);
    });

    it("stops when it cannot tell whether the version exists (no upload on doubt)", () => {
        pack("1.4.0");
        const r = publish("1.4.0", { AZ_BROKEN: "1" });
        expect(r.code).toBe(1);
        expect(r.err).toMatch(/could not check whether app-1\.4\.0\.tgz exists in stacct\/artifacts/);
        expect(fs.readdirSync(blobs)).toEqual([]);
    });
});
