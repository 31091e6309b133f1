/**
 * The static cloud-init (vm-scripts/provision/cloud-init.yaml) against what deploy-app.sh and the artifact expect:
 * a drift between them would only show on a real VM, so it is checked here.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { REPO_ROOT } from "../support/pulumiProgram";

interface CloudConfig {
    packages: string[];
    users: (string | { name: string; system?: boolean; shell?: string })[];
    write_files?: { path: string; content: string }[];
    runcmd: string[][];
}

const text = fs.readFileSync(path.join(REPO_ROOT, "vm-scripts/provision/cloud-init.yaml"), "utf8");
const cloudConfig = YAML.parse(text) as CloudConfig;
const deployScript = fs.readFileSync(path.join(REPO_ROOT, "vm-scripts/deploy-app.sh"), "utf8");

describe("cloud-init", () => {
    it("is a #cloud-config document that installs Node.js from the distribution", () => {
        expect(text.startsWith("#cloud-config\n")).toBe(true);
        expect(cloudConfig.packages).toContain("nodejs");
    });

    it("creates the app's system user without a login shell", () => {
        expect(cloudConfig.users).toContainEqual(expect.objectContaining({ name: "app", system: true, shell: "/usr/sbin/nologin" }));
    });

    it("leaves the app's units and the local proxy to deploy-app.sh, which writes them from each release's manifest", () => {
        expect(cloudConfig.write_files ?? []).toEqual([]);
        expect(deployScript).toContain("unit_of() { printf 'bluegreen-app-%s.service' \"$1\"; }");
        expect(deployScript).toContain('contract unit "$(env_file_of "$slot")" "$APP_USER"');
        expect(deployScript).toContain('PROXY_UNIT="${PROXY_UNIT:-bluegreen-proxy.service}"');
        expect(deployScript).toContain('APP_USER="${APP_USER:-app}"');
    });

    it("creates the directories deploy-app.sh writes into (releases, the env file's directory)", () => {
        expect(deployScript).toContain('APP_HOME="${APP_HOME:-$BG_ROOT/opt/app}"');
        expect(deployScript).toContain('APP_ENV_DIR="${APP_ENV_DIR:-$BG_ROOT/etc/bluegreen}"');
        expect(cloudConfig.runcmd).toContainEqual(expect.arrayContaining(["/opt/app/releases"]));
        expect(cloudConfig.runcmd).toContainEqual(expect.arrayContaining(["/etc/bluegreen"]));
    });

    it("holds no per-release value or secret (comments aside)", () => {
        expect(YAML.stringify(cloudConfig)).not.toMatch(/APP_VERSION|DATABASE_URL|ARTIFACT_|password|\d+\.\d+\.\d+/i);
    });
});
