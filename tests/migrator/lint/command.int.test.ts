import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";

const ROOT = path.join(__dirname, "..", "..", "..");

/** The lint command as users run it: through engineer D's CLI in a child process. */
describe("db lint through migrator/cli.ts", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "lint-cli-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const write = (name: string, text: string): string => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, text);
        return file;
    };

    it("exits 1 and prints the finding for an unsafe expand migration", async () => {
        const cli = path.join(ROOT, "migrator", "cli.ts");
        if (!fs.existsSync(cli)) throw new Error("migrator/cli.ts (engineer D) is missing");
        const file = write("0002_bad.expand.sql", "TRUNCATE TABLE dbo.goals");
        const exec = promisify(execFile);
        const failure = await exec(process.execPath, ["-r", "ts-node/register/transpile-only", cli, "lint", file], { cwd: ROOT }).then(
            () => { throw new Error("expected exit code 1"); },
            (error: { code: number; stdout: string }) => error,
        );
        expect(failure.code).toBe(1);
        expect(failure.stdout).toContain(`${file}:1: TRUNCATE-TABLE error:`);
    }, 30000);

    it("exits 0 on the shipped migrations", async () => {
        const exec = promisify(execFile);
        const { stderr } = await exec(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "migrator", "cli.ts"), "lint", "migrations"], { cwd: ROOT });
        expect(stderr).toMatch(/0 error\(s\)/);
    }, 30000);
});
