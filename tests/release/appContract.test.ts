import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    checkArchive, insidePath, linkTargetInside, main, MANIFEST_FILE, MAX_MANIFEST_BYTES, parseManifest, readTar, readTarGz,
    systemdQuote, systemdUnit, TarEntry,
} from "../../release/appContract";

const good = { schema: 1, name: "goals", version: "1.4.2", start: ["bin/start"], healthPath: "/health", startTimeoutSeconds: 60, stopTimeoutSeconds: 20, runtimePackages: ["nodejs"] };
const text = (o: unknown) => JSON.stringify(o);

/** A ustar header block for one entry (what a hostile packer could write; GNU tar would refuse to create some of these). */
function header(name: string, type: string, opts: { size?: number; mode?: number; link?: string } = {}): Buffer {
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, "utf8");
    h.write(`${(opts.mode ?? 0o644).toString(8).padStart(7, "0")}\0`, 100);
    h.write("0000000\0", 108);
    h.write("0000000\0", 116);
    h.write(`${(opts.size ?? 0).toString(8).padStart(11, "0")}\0`, 124);
    h.write("00000000000\0", 136);
    h.write(type, 156);
    if (opts.link) h.write(opts.link, 157, 100, "utf8");
    h.write("ustar\0", 257);
    h.write("00", 263);
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
    return h;
}
function tar(entries: { name: string; type?: string; content?: string; mode?: number; link?: string }[]): Buffer {
    const blocks: Buffer[] = [];
    for (const e of entries) {
        const data = Buffer.from(e.content ?? "");
        blocks.push(header(e.name, e.type ?? "0", { size: data.length, mode: e.mode, link: e.link }));
        if (data.length > 0) blocks.push(Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]));
    }
    blocks.push(Buffer.alloc(1024));
    return Buffer.concat(blocks);
}
const all = () => true;
const release = (extra: Parameters<typeof tar>[0] = [], manifest: unknown = good) =>
    readTar(tar([{ name: "./", type: "5" }, { name: `./${MANIFEST_FILE}`, content: typeof manifest === "string" ? manifest : text(manifest) }, { name: "./bin/", type: "5" }, { name: "./bin/start", content: "#!/bin/sh\n", mode: 0o755 }, ...extra]), all);

describe("parseManifest: the manifest, or every problem with it", () => {
    it("accepts a complete manifest and fills the defaults of an empty one", () => {
        expect(parseManifest(text(good), "1.4.2")).toEqual({ problems: [], value: good });
        const minimal = parseManifest(text({ schema: 1, name: "x", version: "2.0.0", start: ["app"] }), "2.0.0").value;
        expect(minimal).toEqual({ schema: 1, name: "x", version: "2.0.0", start: ["app"], healthPath: "/health", startTimeoutSeconds: 120, stopTimeoutSeconds: 30, runtimePackages: [] });
    });

    it.each([
        ["missing", undefined, /has no bluegreen.json at its root.*app:pack -- <version> --app <directory>/],
        ["not JSON", "{version: 1", /bluegreen.json is not JSON \(/],
        ["not an object", "[1]", /must hold a JSON object, not an array/],
        ["oversized", text({ ...good, padding: "x".repeat(MAX_MANIFEST_BYTES) }), new RegExp(`holds at most ${MAX_MANIFEST_BYTES} bytes`)],
        ["an unknown key (a typo)", text({ ...good, healthpath: "/ready" }), /unknown key "healthpath"; the keys are schema, name, version, start, healthPath/],
        ["another version", text(good).replace("1.4.2", "1.4.3"), /says version 1.4.3, but the deployment asks for 1.4.2.*npm run app:pack -- 1.4.2 --app <directory>/],
        ["a version that is not semver", text({ ...good, version: "v1.4" }), /version is "v1.4", not a semantic version/],
        ["an absolute start command", text({ ...good, start: ["/usr/bin/node", "main.js"] }), /start\[0\] is "\/usr\/bin\/node", which is outside the release directory/],
        ["a start command climbing out", text({ ...good, start: ["../bin/x"] }), /start\[0\] is "..\/bin\/x", which is outside the release directory/],
        ["an empty start", text({ ...good, start: [] }), /start is \[\]; it must be a list of 1 to 32/],
        ["a health path without a slash", text({ ...good, healthPath: "health" }), /healthPath is "health"; it must be a URL path starting with "\/"/],
        ["a health path the load balancer does not probe", text({ ...good, healthPath: "/ready" }), /healthPath is "\/ready", but the load balancer's probe and the health gate ask \/health/],
        ["a start limit of 0", text({ ...good, startTimeoutSeconds: 0 }), /startTimeoutSeconds is 0; it must be a whole number of seconds from 1 to 900/],
        ["a package name with a shell character", text({ ...good, runtimePackages: ["nodejs; rm -rf /"] }), /runtimePackages is .*Debian package names/],
        ["another schema", text({ ...good, schema: 2 }), /schema is 2; this product reads schema 1/],
    ])("refuses %s, naming it and the fix", (_what, input, message) => {
        const verdict = parseManifest(input as string | undefined, "1.4.2");
        expect(verdict.value).toBeUndefined();
        expect(verdict.problems.join("\n")).toMatch(message);
    });

    it("reports every problem at once", () => {
        expect(parseManifest(text({ ...good, version: "9.9.9", healthPath: "x", extra: 1 }), "1.4.2").problems).toHaveLength(3);
    });
});

describe("paths and links stay inside the release directory", () => {
    it.each([
        ["bin/start", "bin/start"], ["./a//b/./c", "a/b/c"], ["/etc/passwd", undefined], ["a/../../x", undefined], ["..", undefined], ["", undefined],
    ])("insidePath(%j) = %j", (p, expected) => expect(insidePath(p)).toBe(expected));

    it.each([
        ["lib/current", "v2/x.so", "lib/v2/x.so"],
        ["lib/x", "../bin/start", "bin/start"],
        ["x", "../outside", undefined],
        ["lib/x", "/usr/bin/node", undefined],
        ["a/b/l", "../../../etc", undefined],
        ["a/l", "b/../../..", undefined], // ".." after a name: resolving by text would not be resolving on disk
    ])("a link at %j to %j resolves to %j", (entry, target, expected) => expect(linkTargetInside(entry, target)).toBe(expected));
});

describe("checkArchive: refused before anything is unpacked", () => {
    it("accepts a release: manifest at the root, executable start file, links inside", () => {
        const verdict = checkArchive(release([{ name: "./lib/", type: "5" }, { name: "./lib/start-link", type: "2", link: "../bin/start" }]), "1.4.2");
        expect(verdict.problems).toEqual([]);
        expect(verdict.value?.manifest.start).toEqual(["bin/start"]);
    });

    it.each([
        ["an absolute path", [{ name: "/etc/cron.d/x", content: "x" }], /absolute path, "\/etc\/cron.d\/x".*tar -C <directory> \./],
        ["a .. entry", [{ name: "./../../etc/x", content: "x" }], /"\.\/\.\.\/\.\.\/etc\/x", which climbs out of the release directory/],
        ["a symlink resolving outside", [{ name: "./data", type: "2", link: "/var/lib" }], /link "\.\/data" → "\/var\/lib" resolves outside the release directory/],
        ["a relative symlink climbing out", [{ name: "./up", type: "2", link: "../../.." }], /link "\.\/up" → "\.\.\/\.\.\/\.\." resolves outside/],
        ["a hard link outside", [{ name: "./h", type: "1", link: "/etc/shadow" }], /hard link "\.\/h" → "\/etc\/shadow" points outside/],
        ["an entry under a symlink", [{ name: "./d", type: "2", link: "bin" }, { name: "./d/x", content: "x" }], /entry "d\/x" lies under the symbolic link "d"/],
        ["a device file", [{ name: "./dev", type: "3" }], /tar type "3" \(a device/],
    ])("refuses %s", (_what, extra, message) => {
        const verdict = checkArchive(release(extra as Parameters<typeof tar>[0]), "1.4.2");
        expect(verdict.value).toBeUndefined();
        expect(verdict.problems.join("\n")).toMatch(message);
    });

    it("refuses a start file that is missing or not executable", () => {
        expect(checkArchive(release([], { ...good, start: ["bin/other"] }), "1.4.2").problems.join()).toMatch(/start\[0\] "bin\/other" is not in the artifact/);
        const entries = readTar(tar([{ name: MANIFEST_FILE, content: text(good) }, { name: "bin/start", content: "x", mode: 0o644 }]), all);
        expect(checkArchive(entries, "1.4.2").problems.join()).toMatch(/"bin\/start" is not an executable file \(mode 644\): chmod \+x/);
    });

    it("refuses a manifest that is missing, a directory, or of another version", () => {
        expect(checkArchive(readTar(tar([{ name: "bin/start", content: "x", mode: 0o755 }]), all), "1.4.2").problems.join()).toMatch(/has no bluegreen.json/);
        expect(checkArchive(readTar(tar([{ name: "bluegreen.json/", type: "5" }]), all), "1.4.2").problems.join()).toMatch(/bluegreen.json is a directory/);
        expect(checkArchive(release(), "2.0.0").problems.join()).toMatch(/says version 1.4.2, but the deployment asks for 2.0.0/);
    });
});

describe("readTarGz reads what GNU tar writes", () => {
    it("long names, modes, links and the manifest's content", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-contract-"));
        try {
            const src = path.join(dir, "src");
            const deep = path.join(src, "a".repeat(60), "b".repeat(60));
            fs.mkdirSync(deep, { recursive: true });
            fs.mkdirSync(path.join(src, "bin"));
            fs.writeFileSync(path.join(src, MANIFEST_FILE), text(good));
            fs.writeFileSync(path.join(src, "bin", "start"), "#!/bin/sh\n", { mode: 0o755 });
            fs.writeFileSync(path.join(deep, "file.txt"), "x");
            fs.symlinkSync("../bin/start", path.join(src, "a".repeat(60), "start"));
            const file = path.join(dir, "a.tgz");
            execFileSync("tar", ["-czf", file, "--format=gnu", "-C", src, "."]);
            const entries = readTarGz(file, (n) => insidePath(n) === MANIFEST_FILE);
            const names = entries.map((e: TarEntry) => e.name);
            expect(names).toContain(`./${"a".repeat(60)}/${"b".repeat(60)}/file.txt`);
            expect(entries.find((e) => e.name === "./bin/start")?.mode).toBe(0o755);
            expect(entries.find((e) => e.type === "symlink")?.linkName).toBe("../bin/start");
            expect(checkArchive(entries, "1.4.2").problems).toEqual([]);
            // The command deploy-app.sh runs.
            const out: string[] = [];
            const err: string[] = [];
            expect(main(["check", file, "1.4.2"], (s) => out.push(s), (s) => err.push(s))).toBe(0);
            expect(out.join()).toMatch(/goals 1.4.2: \d+ entries, manifest accepted/);
            expect(main(["check", file, "1.5.0"], (s) => out.push(s), (s) => err.push(s))).toBe(1);
            expect(err.join("\n")).toMatch(/REFUSED: the artifact of 1.5.0 breaks the app contract.*nothing on this VM was changed/s);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses a file that is not gzip, naming the fix", () => {
        const file = path.join(os.tmpdir(), `bg-notgz-${process.pid}`);
        fs.writeFileSync(file, "hello");
        const err: string[] = [];
        try {
            expect(main(["check", file, "1.0.0"], () => undefined, (s) => err.push(s))).toBe(1);
        } finally {
            fs.rmSync(file, { force: true });
        }
        expect(err.join()).toMatch(/not a readable tar.gz.*npm run app:pack -- 1.0.0 --app <directory>/);
    });
});

describe("systemdUnit: the service that runs a release", () => {
    const manifest = parseManifest(text({ ...good, start: ["bin/start", "--port", "$PORT", "50%"] }), "1.4.2").value!;
    const unit = systemdUnit(manifest, { releaseDir: "/opt/app/releases/1.4.2", envFile: "/etc/bluegreen/app.env" });

    it("starts the manifest's command from the release directory, with its limits and the env file", () => {
        expect(unit).toContain('ExecStart=/opt/app/releases/1.4.2/bin/start --port "$$PORT" 50%%');
        expect(unit).toContain("WorkingDirectory=/opt/app/releases/1.4.2");
        expect(unit).toContain("TimeoutStartSec=60");
        expect(unit).toContain("TimeoutStopSec=20");
        expect(unit).toContain("EnvironmentFile=/etc/bluegreen/app.env");
        expect(unit).toContain("User=app");
        expect(unit).toContain("StandardOutput=journal");
    });

    it.each([["plain", "plain"], ["with space", '"with space"'], ['q"uote', '"q\\"uote"'], ["$HOME", '"$$HOME"']])("quotes %j as %j", (arg, quoted) => {
        expect(systemdQuote(arg)).toBe(quoted);
    });
});

describe("the file shipped to the VMs", () => {
    it("accepts exactly the health path the load balancer probes", () => {
        const { HEALTH_PATH } = require("../../components/lib/ports") as typeof import("../../components/lib/ports");
        const { PROBED_HEALTH_PATH } = require("../../release/appContract") as typeof import("../../release/appContract");
        expect(PROBED_HEALTH_PATH).toBe(HEALTH_PATH);
    });

    it("imports nothing but Node's built-ins (it is sent alone, transpiled)", () => {
        const source = fs.readFileSync(path.resolve(__dirname, "..", "..", "release", "appContract.ts"), "utf8");
        const imports = [...source.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
        expect(imports.length).toBeGreaterThan(0);
        expect(imports.every((i) => i.startsWith("node:"))).toBe(true);
    });
});

describe("app-contract.js, as the program ships it", () => {
    it("runs alone with node, outside the repository: usage, and the manifest of an unpacked release", () => {
        const { readVmScript } = require("../../components/lib/vmScripts") as typeof import("../../components/lib/vmScripts");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-contract-js-"));
        try {
            const js = path.join(dir, "app-contract.js");
            fs.writeFileSync(js, readVmScript("app-contract.js"));
            const release = path.join(dir, "release");
            fs.mkdirSync(release);
            fs.writeFileSync(path.join(release, MANIFEST_FILE), text(good));
            const run = (...args: string[]) => execFileSync(process.execPath, [js, ...args], { cwd: dir, encoding: "utf8" }).trim();
            expect(run("get", release, "1.4.2", "healthPath")).toBe("/health");
            expect(run("get", release, "1.4.2", "runtimePackages")).toBe("nodejs");
            expect(run("unit", release, "1.4.2", "/etc/bluegreen/app.env")).toContain(`ExecStart=${release}/bin/start`);
            expect(() => run()).toThrow(/usage: node app-contract.js check/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
