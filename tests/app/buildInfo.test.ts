import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { defaultBuildInfoPath, parseBuildInfo, readBuildInfo, UNPACKED_VERSION, writeBuildInfo } from "../../app/src/buildInfo";

describe("build-info.json", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-buildinfo-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("reads back the version and commit it was stamped with", () => {
        const file = path.join(dir, "build-info.json");
        writeBuildInfo(file, { version: "2.1.0", commit: "abc123", builtAt: "2026-11-23T12:00:00.000Z" });
        expect(readBuildInfo(file, false)).toEqual({ version: "2.1.0", commit: "abc123", builtAt: "2026-11-23T12:00:00.000Z" });
    });

    it("refuses a missing stamp in an artifact, and names the command that builds one", () => {
        expect(() => readBuildInfo(path.join(dir, "none.json"), false)).toThrow(/is missing.*npm run app:pack -- <version>/);
    });

    it("runs an unpacked checkout as 0.0.0-dev when allowed", () => {
        expect(readBuildInfo(path.join(dir, "none.json"), true)).toEqual({ version: UNPACKED_VERSION });
    });

    it.each([
        ['{"version":"v1.0.0"}', /version "v1.0.0", which is not a semantic version/],
        ['{"version":1}', /version 1, which is not a semantic version/],
        ["{}", /version undefined/],
        ["not json", /is not JSON/],
    ])("refuses the stamp %s", (text, message) => {
        expect(() => parseBuildInfo(text, "build-info.json")).toThrow(message);
    });

    it("refuses to stamp a version that is not semver", () => {
        expect(() => writeBuildInfo(path.join(dir, "b.json"), { version: "1.0" })).toThrow(/"1.0" is not a semantic version/);
        expect(fs.existsSync(path.join(dir, "b.json"))).toBe(false);
    });

    it("looks for the stamp at the artifact root, the nearest directory above the code with a package.json", () => {
        fs.mkdirSync(path.join(dir, "dist", "app", "src"), { recursive: true });
        fs.writeFileSync(path.join(dir, "package.json"), "{}");
        expect(defaultBuildInfoPath(path.join(dir, "dist", "app", "src"))).toBe(path.join(dir, "build-info.json"));
    });
});
