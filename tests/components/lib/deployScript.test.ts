import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { APP_CONTRACT_PATH, deploymentUpdateTag, LOCAL_PROXY_PATH, deploymentWrapperScript, DEPLOY_SCRIPT_PATH, KEYVAULT_SCRIPT_PATH, shellQuote } from "../../../components/lib/deployScript";

describe("shellQuote", () => {
    it.each(["plain", "it's", "$(rm -rf /)", "a b\tc", "`x`", "p@ss'\"word"])("lets the shell read back %j unchanged", (value) => {
        expect(execFileSync("sh", ["-c", `printf %s ${shellQuote(value)}`]).toString()).toBe(value);
    });
});

describe("deploymentWrapperScript", () => {
    const inputs = {
        color: "green",
        version: "1.4.2",
        artifactUrl: "https://acct.blob.core.windows.net/artifacts/app-1.4.2.tgz",
        artifactSha256: "c".repeat(64),
        keyvaultUrl: "https://secrets-kv.vault.azure.net/",
        databaseUrlSecret: "app-database-url",
        deployScript: "#!/bin/bash\nenv | grep -E '^(APP_|ARTIFACT_|DATABASE_URL|KEYVAULT_|LOCAL_PROXY)' | sort\n",
        keyvaultScript: "#!/bin/bash\necho 'reads a secret'\n",
        appContractScript: "// the contract's checks\n",
        localProxyScript: "// the local proxy\n",
    };

    it("carries no secret: the VM reads the app's connection URL from Key Vault by its name", () => {
        const script = deploymentWrapperScript(inputs);
        expect(script).toContain("export KEYVAULT_URL='https://secrets-kv.vault.azure.net/'");
        expect(script).toContain("export DATABASE_URL_SECRET='app-database-url'");
        expect(script).not.toMatch(/^export DATABASE_URL=/m);
    });

    it("exports the release's inputs and the ports, then runs deploy-app.sh", () => {
        const script = deploymentWrapperScript(inputs);
        expect(script.startsWith("#!/bin/bash\n")).toBe(true);
        expect(script).toContain("export APP_VERSION='1.4.2'");
        expect(script).toContain("export APP_COLOR='green'");
        expect(script).toContain(`exec bash ${DEPLOY_SCRIPT_PATH}`);
    });

    it("hands deploy-app.sh exactly these environment values when run, and writes keyvault-secret.sh beside it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wrapper-"));
        try {
            const script = deploymentWrapperScript(inputs)
                .replaceAll(DEPLOY_SCRIPT_PATH, path.join(dir, "deploy-app.sh"))
                .replaceAll(KEYVAULT_SCRIPT_PATH, path.join(dir, "keyvault-secret.sh"))
                .replaceAll(APP_CONTRACT_PATH, path.join(dir, "app-contract.js"))
                .replaceAll(LOCAL_PROXY_PATH, path.join(dir, "local-proxy.js"))
                .replace(/mkdir -p \S+/, `mkdir -p ${dir}`);
            const out = execFileSync("bash", ["-c", script], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } }).toString();
            expect(out.trim().split("\n")).toEqual([
                "APP_COLOR=green",
                `APP_CONTRACT=${path.join(dir, "app-contract.js")}`,
                "APP_PORT=8080",
                "APP_STAGING_PORT=8081",
                "APP_VERSION=1.4.2",
                `ARTIFACT_SHA256=${"c".repeat(64)}`,
                "ARTIFACT_URL=https://acct.blob.core.windows.net/artifacts/app-1.4.2.tgz",
                "DATABASE_URL_SECRET=app-database-url",
                `KEYVAULT_SCRIPT=${path.join(dir, "keyvault-secret.sh")}`,
                "KEYVAULT_URL=https://secrets-kv.vault.azure.net/",
                `LOCAL_PROXY=${path.join(dir, "local-proxy.js")}`,
            ]);
            expect(fs.readFileSync(path.join(dir, "keyvault-secret.sh"), "utf8")).toBe(inputs.keyvaultScript);
            expect(fs.readFileSync(path.join(dir, "app-contract.js"), "utf8")).toBe(inputs.appContractScript);
            expect(fs.readFileSync(path.join(dir, "local-proxy.js"), "utf8")).toBe(inputs.localProxyScript);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("deploymentUpdateTag", () => {
    it("is the version, so a plan shows the version a color moves to", () => {
        expect(deploymentUpdateTag("1.4.2")).toBe("1.4.2");
    });
    it("adds the operator's retry tag, so changing only the tag re-runs the deployment", () => {
        expect(deploymentUpdateTag("1.4.2", "retry-1")).toBe("1.4.2+retry-1");
        expect(deploymentUpdateTag("1.4.2", "retry-2")).not.toBe(deploymentUpdateTag("1.4.2", "retry-1"));
    });
    it("adds the stack's retryTag too, with or without the color's own", () => {
        expect(deploymentUpdateTag("1.4.2", undefined, "3")).toBe("1.4.2+r3");
        expect(deploymentUpdateTag("1.4.2", "retry-1", "3")).toBe("1.4.2+retry-1-r3");
    });
});
