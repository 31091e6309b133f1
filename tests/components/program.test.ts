/**
 * The resource graph of the whole program (index.ts) under mocks: what `pulumi up` would declare.
 */
import { colorPrivateIps, APP_SUBNET_CIDR } from "../../components/lib/ipLayout";
import { PORTS } from "../../components/lib/ports";
import { COLORS } from "../../release/colors";
import { baseConfig, byName, isSecretValue, ofType, ProgramRun, RegisteredResource, reveal, runProgram, stackFileValues } from "../support/pulumiProgram";

const T = {
    vm: "azure-native:compute:VirtualMachine",
    nic: "azure-native:network:NetworkInterface",
    ext: "azure-native:compute:VirtualMachineExtension",
    lb: "azure-native:network:LoadBalancer",
    pip: "azure-native:network:PublicIPAddress",
    nsg: "azure-native:network:NetworkSecurityGroup",
    subnet: "azure-native:network:Subnet",
    sqlServer: "azure-native:sql:Server",
    sqlDb: "azure-native:sql:Database",
    vnetRule: "azure-native:sql:VirtualNetworkRule",
    firewallRule: "azure-native:sql:FirewallRule",
    storage: "azure-native:storage:StorageAccount",
    container: "azure-native:storage:BlobContainer",
    role: "azure-native:authorization:RoleAssignment",
    runCommand: "azure-native:compute:VirtualMachineRunCommandByVirtualMachine",
    vault: "azure-native:keyvault:Vault",
    secret: "azure-native:keyvault:Secret",
} as const;

/** The VMs of the two colors (not the release agent's). */
const colorVms = (run: ProgramRun): RegisteredResource[] => ofType(run, T.vm).filter((r) => /^(blue|green)-vm-\d+$/.test(r.name));

type Json = Record<string, unknown>;
const inputs = (r: RegisteredResource): Json => r.inputs;
const list = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : []);

/** The inline pool of the LB named `name`, and the addresses in it. */
function poolAddresses(lb: RegisteredResource, name: string): string[] {
    const pool = list(inputs(lb).backendAddressPools).find((p) => p.name === name);
    return list(pool?.loadBalancerBackendAddresses).map((a) => a.ipAddress as string);
}

function rule(lb: RegisteredResource, name: string): Json {
    const found = list(inputs(lb).loadBalancingRules).find((r) => r.name === name);
    if (!found) throw new Error(`no rule ${name}`);
    return found;
}

/** The decoded deployment script an extension carries (it is inside the secret protectedSettings). */
function deploymentScript(ext: RegisteredResource): string {
    const protectedSettings = reveal(inputs(ext).protectedSettings) as { script: string };
    return Buffer.from(protectedSettings.script, "base64").toString("utf8");
}

describe("the program on the prod stack file (2 VMs per color over 3 zones, blue live), blue at 1.1.0", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ ...stackFileValues("prod"), "azure-bluegreen:blueVersion": "1.1.0" });
        if (run.error) throw run.error;
    });

    it("declares the configured number of VMs per color, named after their color", () => {
        expect(ofType(run, T.vm).map((r) => r.name).sort()).toEqual(["agent-vm", "blue-vm-0", "blue-vm-1", "green-vm-0", "green-vm-1"]);
    });

    it("gives every NIC its color's static private IP and no public IP or load-balancer reference", () => {
        for (const color of COLORS) {
            const ips = colorPrivateIps(APP_SUBNET_CIDR, color, 2);
            ips.forEach((ip, index) => {
                const config = list(inputs(byName(run, `${color}-vm-${index}-nic`)).ipConfigurations)[0];
                expect(config).toMatchObject({ privateIPAllocationMethod: "Static", privateIPAddress: ip });
                expect(config.publicIPAddress).toBeUndefined();
                expect(config.loadBalancerBackendAddressPools).toBeUndefined();
            });
        }
    });

    it("has public IPs only on the load balancer's frontend and the NAT gateway, never on a VM", () => {
        expect(ofType(run, T.pip).map((r) => r.name).sort()).toEqual(["front-ip", "net-egress-ip"]);
        for (const vm of ofType(run, T.vm)) {
            const nics = list((inputs(vm).networkProfile as Json).networkInterfaces);
            expect(nics).toHaveLength(1);
            expect(JSON.stringify(vm.inputs)).not.toMatch(/publicIPAddress/i);
        }
    });

    it("gives each VM SSH-key-only login, a system-assigned identity, its color's size and image, and a zone round-robin", () => {
        const zones = colorVms(run).sort((a, b) => a.name.localeCompare(b.name)).map((vm) => (inputs(vm).zones as string[])[0]);
        expect(zones).toEqual(["1", "2", "1", "2"]);
        for (const vm of colorVms(run)) {
            const os = inputs(vm).osProfile as Json;
            expect((os.linuxConfiguration as Json).disablePasswordAuthentication).toBe(true);
            expect(os.adminPassword).toBeUndefined();
            expect(inputs(vm).identity).toEqual({ type: "SystemAssigned" });
            expect(inputs(vm).hardwareProfile).toEqual({ vmSize: "Standard_D2s_v5" });
            expect((inputs(vm).storageProfile as Json).imageReference).toEqual({ publisher: "Debian", offer: "debian-13", sku: "13-gen2", version: "latest" });
        }
    });

    it("replaces a VM on a new image, SSH key or cloud-init (Azure refuses them as updates), deleting first, and keeps its NIC when the VM goes", () => {
        for (const vm of ofType(run, T.vm)) {
            expect({ vm: vm.name, replaceOnChanges: vm.replaceOnChanges, deleteBeforeReplace: vm.deleteBeforeReplace })
                .toEqual({ vm: vm.name, replaceOnChanges: ["storageProfile.imageReference", "osProfile.linuxConfiguration.ssh.publicKeys", "osProfile.customData"], deleteBeforeReplace: true });
            expect(list((inputs(vm).networkProfile as Json).networkInterfaces)).toEqual([
                // The agent's NIC is agent-nic; a color VM's is <color>-vm-<n>-nic.
                { id: expect.stringContaining(vm.name === "agent-vm" ? "agent-nic" : `${vm.name}-nic`), primary: true, deleteOption: "Detach" },
            ]);
        }
    });

    it("puts exactly each color's VM addresses in its pool (IP-based, in the VNet)", () => {
        const lb = ofType(run, T.lb)[0];
        for (const color of COLORS) expect(poolAddresses(lb, color)).toEqual(colorPrivateIps(APP_SUBNET_CIDR, color, 2));
        const vnetIds = list(inputs(lb).backendAddressPools).flatMap((p) => list(p.loadBalancerBackendAddresses).map((a) => (a.virtualNetwork as Json).id));
        expect(new Set(vnetIds).size).toBe(1);
        expect(String(vnetIds[0])).toContain("net-vnet");
    });

    it("sends production :80 → :8080 to blue and staging :8080 → :8081 to green, through the /health probe", () => {
        const lb = ofType(run, T.lb)[0];
        expect(rule(lb, "production")).toMatchObject({
            frontendPort: PORTS.productionFrontend, backendPort: PORTS.productionBackend,
            backendAddressPool: { id: "$self/backendAddressPools/blue" }, probe: { id: "$self/probes/http-health" },
            disableOutboundSnat: true, enableTcpReset: true,
        });
        expect(rule(lb, "staging")).toMatchObject({
            frontendPort: PORTS.stagingFrontend, backendPort: PORTS.stagingBackend, backendAddressPool: { id: "$self/backendAddressPools/green" },
        });
        for (const name of ["production", "staging"]) expect(rule(lb, name).backendAddressPools).toBeUndefined();
        expect(list(inputs(lb).probes)).toEqual([
            { name: "http-health", protocol: "Http", port: PORTS.productionBackend, requestPath: "/health", intervalInSeconds: 5, probeThreshold: 2 },
        ]);
        expect(inputs(lb).sku).toEqual({ name: "Standard", tier: "Regional" });
    });

    it("limits the staging backend port to the configured CIDRs in the NSG, and attaches NSG and NAT gateway to the subnet", () => {
        const rules = list(inputs(ofType(run, T.nsg)[0]).securityRules);
        const staging = rules.filter((r) => r.access === "Allow" && r.destinationPortRange === String(PORTS.stagingBackend));
        expect(staging.map((r) => r.sourceAddressPrefixes)).toEqual([["198.51.100.0/24", "203.0.113.0/24"]]);
        const subnet = inputs(ofType(run, T.subnet)[0]);
        expect(subnet.networkSecurityGroup).toEqual({ id: expect.stringContaining("net-app-nsg") });
        expect(subnet.natGateway).toEqual({ id: expect.stringContaining("net-nat") });
        expect(list(subnet.serviceEndpoints).map((e) => e.service)).toEqual(["Microsoft.Sql", "Microsoft.Storage", "Microsoft.KeyVault"]);
    });

    it("declares the SQL server with TLS 1.2, a VNet rule for the app subnet, no IP firewall rule, and a protected database", () => {
        const server = ofType(run, T.sqlServer)[0];
        expect(inputs(server).minimalTlsVersion).toBe("1.2");
        expect(inputs(ofType(run, T.vnetRule)[0]).virtualNetworkSubnetId).toEqual(expect.stringContaining("net-app-subnet"));
        expect(ofType(run, T.firewallRule)).toHaveLength(0);
        const db = ofType(run, T.sqlDb)[0];
        expect(inputs(db).sku).toEqual({ name: "GP_Gen5_2", tier: "GeneralPurpose" });
        expect(db.protect).toBe(true);
    });

    it("sends the SQL administrator password to the server as a secret, never as plain text", () => {
        const password = inputs(ofType(run, T.sqlServer)[0]).administratorLoginPassword;
        expect(typeof password).not.toBe("string");
        expect(isSecretValue(password)).toBe(true);
        expect(reveal(password)).toBe("Pw-sql-admin-password-9x_Z");
    });

    it("keeps the artifact store private: HTTPS, TLS 1.2, no anonymous or shared-key access", () => {
        expect(inputs(ofType(run, T.storage)[0])).toMatchObject({ enableHttpsTrafficOnly: true, minimumTlsVersion: "TLS1_2", allowBlobPublicAccess: false, allowSharedKeyAccess: false });
        expect(inputs(ofType(run, T.container)[0])).toMatchObject({ containerName: "artifacts", publicAccess: "None" });
    });

    it("lets each VM's identity and the agent's (and only those) read the artifact container", () => {
        const roles = ofType(run, T.role).filter((r) => r.name.endsWith("-artifact-reader"));
        expect(roles.map((r) => r.name).sort()).toEqual(["agent-artifact-reader", "blue-vm-0-artifact-reader", "blue-vm-1-artifact-reader", "green-vm-0-artifact-reader", "green-vm-1-artifact-reader"]);
        for (const role of roles) {
            const vm = role.name === "agent-artifact-reader" ? "agent-vm" : role.name.replace(/-artifact-reader$/, "");
            expect(role.replaceOnChanges).toEqual(["principalId"]);
            expect(inputs(role)).toMatchObject({
                principalId: `principal-${vm}`,
                principalType: "ServicePrincipal",
                roleDefinitionId: expect.stringMatching(/\/roleDefinitions\/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1$/),
                scope: expect.stringContaining("artifacts-container"),
            });
        }
    });

    it("downloads the artifact (app deployment on a VM, migration run, gate and watch on the agent) only once that identity may read the container", () => {
        const downloads = [
            ...ofType(run, T.ext).map((e) => [e.name, `${String(e.inputs.vmName)}-artifact-reader`]),
            ...ofType(run, T.runCommand).map((r) => [r.name, "agent-artifact-reader"]),
        ];
        expect(downloads).toHaveLength(4 + 4);
        for (const [name, grant] of downloads) {
            const waits = byName(run, String(name)).dependencies.filter((d) => d.endsWith("-artifact-reader")).map((d) => d.split("::").pop());
            expect({ name, waits }).toEqual({ name, waits: [grant] });
        }
    });

    it("never asks to replace the load balancer, its public IP, a NIC or the database, and deletes fixed-name extensions before replacing them", () => {
        for (const r of [...ofType(run, T.lb), ...ofType(run, T.pip), ...ofType(run, T.nic), ...ofType(run, T.sqlServer), ...ofType(run, T.sqlDb)]) {
            expect({ name: r.name, replaceOnChanges: r.replaceOnChanges, deleteBeforeReplace: r.deleteBeforeReplace }).toEqual({ name: r.name, replaceOnChanges: [], deleteBeforeReplace: false });
        }
        for (const ext of ofType(run, T.ext)) expect({ name: ext.name, deleteBeforeReplace: ext.deleteBeforeReplace }).toEqual({ name: ext.name, deleteBeforeReplace: true });
        // Run commands have no fixed name: each execution is named by the guard, so a new one never collides with the old.
        for (const c of ofType(run, T.runCommand)) expect(inputs(c).runCommandName).toMatch(/-\d+$/);
    });

    it("runs the migrations, the gate and the post-flip watch's start on the release agent, each under the name the guard gave it, none on an app VM", () => {
        const commands = ofType(run, T.runCommand);
        expect(commands.map((r) => r.name).sort()).toEqual(["blue-gate-check", "blue-migrate-expand", "blue-watch-run", "green-migrate-expand"]);
        for (const c of commands) {
            expect(inputs(c)).toMatchObject({ vmName: "agent-vm", treatFailureAsDeploymentFailure: true, asyncExecution: false });
            expect(c.dependencies.some((d) => d.endsWith("::release-guard"))).toBe(true);
        }
        expect(commands.map((c) => inputs(c).runCommandName).sort()).toEqual(["gate-1", "migrate-expand-blue-2", "migrate-expand-green-3", "watch-4"]);
        const agent = byName(run, "agent-vm");
        expect(JSON.stringify(inputs(agent))).not.toMatch(/publicIPAddress/i);
        expect(Buffer.from((inputs(agent).osProfile as Json).customData as string, "base64").toString("utf8")).toMatch(/^#cloud-config[\s\S]*unattended-upgrades/);
        expect(Buffer.from((inputs(agent).osProfile as Json).customData as string, "base64").toString("utf8")).not.toMatch(/bluegreen-app\.service/);
    });

    it("lets each identity read only its own secret: the agent the administrator's URL and the app password, each app VM the app's URL", () => {
        const grants = ofType(run, T.role).filter((r) => r.name.includes("-reads-"));
        const readers: Record<string, string[]> = {};
        for (const g of grants) {
            expect(inputs(g).roleDefinitionId).toMatch(/\/roleDefinitions\/4633458b-17de-408a-b874-0445c86b69e6$/); // Key Vault Secrets User
            const secret = String(inputs(g).scope).split("/").pop() as string;
            (readers[String(inputs(g).principalId)] ??= []).push(secret);
        }
        for (const list of Object.values(readers)) list.sort();
        expect(readers).toEqual({
            "principal-agent-vm": ["secrets-app-db-password", "secrets-sql-admin-url"],
            "principal-blue-vm-0": ["secrets-app-database-url"],
            "principal-blue-vm-1": ["secrets-app-database-url"],
            "principal-green-vm-0": ["secrets-app-database-url"],
            "principal-green-vm-1": ["secrets-app-database-url"],
        });
        const vault = ofType(run, T.vault)[0];
        expect((inputs(vault).properties as Json)).toMatchObject({ enableRbacAuthorization: true, enablePurgeProtection: true, networkAcls: { defaultAction: "Deny" } });
        for (const secret of ofType(run, T.secret)) expect(isSecretValue((inputs(secret).properties as Json).value) || isSecretValue(inputs(secret).properties)).toBe(true);
    });

    it("sends no secret in any run command or extension: only the vault's URL and the secrets' names", () => {
        const carriers = [...ofType(run, T.runCommand), ...ofType(run, T.ext)];
        for (const r of carriers) {
            const text = r.type === T.ext ? deploymentScript(r) : JSON.stringify(r.inputs);
            expect({ name: r.name, leaks: /Pw-|mssql:\/\/|password=/i.test(text) }).toEqual({ name: r.name, leaks: false });
            expect(inputs(r).protectedParameters).toBeUndefined();
            expect(inputs(r).parameters).toBeUndefined();
        }
    });

    it("deploys each color's version with one Custom Script extension per VM, the app user's URL kept secret", () => {
        const exts = ofType(run, T.ext);
        expect(exts.map((e) => e.name).sort()).toEqual(["blue-deploy-0", "blue-deploy-1", "green-deploy-0", "green-deploy-1"]);
        for (const ext of exts) {
            const color = ext.name.split("-")[0];
            const version = color === "blue" ? "1.1.0" : "1.0.0";
            expect(inputs(ext)).toMatchObject({ publisher: "Microsoft.Azure.Extensions", type: "CustomScript", typeHandlerVersion: "2.1", forceUpdateTag: version, vmName: `${color}-vm-${ext.name.split("-")[2]}` });
            expect(isSecretValue(inputs(ext).protectedSettings)).toBe(true);
            const script = deploymentScript(ext);
            expect(script).toContain(`export APP_VERSION='${version}'`);
            expect(script).toContain(`export APP_COLOR='${color}'`);
            expect(script).toMatch(new RegExp(`export ARTIFACT_URL='https://artifactsstore\\.blob\\.core\\.windows\\.net/artifacts/app-${version.replace(/\./g, "\\.")}\\.tgz'`));
            expect(script).toContain("export KEYVAULT_URL='https://secrets-kv.vault.azure.net/'");
            expect(script).toContain("export DATABASE_URL_SECRET='app-database-url'");
            expect(script).not.toMatch(/sqladmin|mssql:\/\//);
            expect(ext.deleteBeforeReplace).toBe(true);
            expect(JSON.stringify(inputs(ext).settings)).not.toMatch(/mssql|DATABASE_URL/);
        }
    });

    it("gives both colors the same static cloud-init, with nothing that changes per release", () => {
        const customData = colorVms(run).map((vm) => (inputs(vm).osProfile as Json).customData as string);
        expect(new Set(customData).size).toBe(1);
        const text = Buffer.from(customData[0], "base64").toString("utf8");
        expect(text.startsWith("#cloud-config")).toBe(true);
        expect(text).not.toMatch(/1\.1\.0|1\.0\.0|APP_COLOR=|DATABASE_URL=|mssql|password/i);
    });

    it("exports the release state and endpoints, and nothing secret", () => {
        expect(run.outputs).toMatchObject({
            liveColor: "blue",
            idleColor: "green",
            productionUrl: "http://203.0.113.80/",
            stagingUrl: "http://203.0.113.80:8080/",
            blueVersion: "1.1.0",
            greenVersion: "1.0.0",
            sqlServerFqdn: "sql-server.database.windows.net",
            databaseName: "sql-db",
            artifactContainerUrl: "https://artifactsstore.blob.core.windows.net/artifacts/",
            egressIp: "198.51.100.7",
            vmPrivateIps: { blue: ["10.20.1.10", "10.20.1.11"], green: ["10.20.1.40", "10.20.1.41"] },
            agentPrivateIp: "10.20.1.5",
            gateRun: "gate-1",
            backendPools: { blue: ["10.20.1.10", "10.20.1.11"], green: ["10.20.1.40", "10.20.1.41"] },
        });
        expect(run.failures).toEqual([]);
        expect(run.secretOutputs).toEqual([]);
        expect(JSON.stringify(run.outputs)).not.toMatch(/Pw-|mssql:/);
    });

    it("passes each component's dependsOn on to every resource inside it (components/lib/childOptions.ts)", () => {
        const mine = ["network", "database", "artifactStore", "colorSet", "appDeployment", "loadBalancer", "migrationRun", "healthGate", "releaseAgent", "secretVault"].map((m) => `bluegreen:${m}:`);
        const components = run.resources.filter((r) => !r.custom && mine.some((m) => r.type.startsWith(m)) && r.dependencies.length > 0);
        expect(components.length).toBeGreaterThan(0);
        for (const component of components) {
            const children = run.resources.filter((r) => r.parent === component.urn && r.custom);
            for (const child of children) {
                expect({ child: child.name, missing: component.dependencies.filter((d) => !child.dependencies.includes(d)) }).toEqual({ child: child.name, missing: [] });
            }
        }
    });

    it("puts every per-color resource's color at the start of its name", () => {
        const perColor = run.resources.filter((r) => /-(vm|deploy)-\d/.test(r.name));
        expect(perColor.length).toBeGreaterThan(0);
        for (const r of perColor) expect(r.name).toMatch(/^(blue|green)-/);
    });
});

describe("the program with green live, no zones, and green on its own artifact", () => {
    const sha = "d".repeat(64);
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram(baseConfig({ liveColor: "green", greenArtifactUrl: "https://cdn.example.org/app-1.0.0.tgz", greenArtifactSha256: sha }));
        if (run.error) throw run.error;
    });

    it("points production at green and staging at blue", () => {
        const lb = ofType(run, T.lb)[0];
        expect((rule(lb, "production").backendAddressPool as Json).id).toBe("$self/backendAddressPools/green");
        expect((rule(lb, "staging").backendAddressPool as Json).id).toBe("$self/backendAddressPools/blue");
        expect(run.outputs).toMatchObject({ liveColor: "green", idleColor: "blue" });
    });

    it("declares VMs without zones and an unprotected database (protectDatabase false)", () => {
        for (const vm of ofType(run, T.vm)) expect(inputs(vm).zones).toBeUndefined();
        expect(ofType(run, T.sqlDb)[0].protect).toBe(false);
    });

    it("deploys green from its own artifact URL, blue from the program's container, each with its pinned checksum", () => {
        const green = deploymentScript(byName(run, "green-deploy-0"));
        expect(green).toContain("export ARTIFACT_URL='https://cdn.example.org/app-1.0.0.tgz'");
        expect(green).toContain(`export ARTIFACT_SHA256='${sha}'`);
        const blue = deploymentScript(byName(run, "blue-deploy-0"));
        expect(blue).toContain("export ARTIFACT_URL='https://artifactsstore.blob.core.windows.net/artifacts/app-1.0.0.tgz'");
        expect(blue).toContain(`export ARTIFACT_SHA256='${"a".repeat(64)}'`);
    });
});
