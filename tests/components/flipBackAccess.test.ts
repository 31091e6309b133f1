/**
 * The release agent's right to flip production back (components/flipBackAccess.ts): exactly the actions a load
 * balancer PUT needs, each on one resource, never on the resource group or the subscription. Through the whole
 * program under mocks, plus the pure GUID/name helpers.
 */
import { subscriptionOf } from "../../components/lib/artifacts";
import { FLIP_BACK_GRANTS, flipBackRoleGuid, flipBackRoleName, stableGuid } from "../../components/lib/flipBackAccess";
import { baseConfig, byName, mockResourceId, ofType, PROJECT, ProgramRun, runProgram, STACK } from "../support/pulumiProgram";

const ROLE_DEFINITION = "azure-native:authorization:RoleDefinition";
const ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("the flip-back's permissions in the program", () => {
    let run: ProgramRun;
    const rg = mockResourceId("azure-native:resources:ResourceGroup", "bluegreen");
    const lb = mockResourceId("azure-native:network:LoadBalancer", "front-lb");
    const ip = mockResourceId("azure-native:network:PublicIPAddress", "front-ip");
    const vnet = mockResourceId("azure-native:network:VirtualNetwork", "net-vnet");
    const agent = "principal-agent-vm";

    beforeAll(async () => {
        run = await runProgram(baseConfig());
        if (run.error) throw run.error;
    });

    it("defines three custom roles in the resource group, assignable there only, with exactly these actions", () => {
        const roles = ofType(run, ROLE_DEFINITION);
        expect(roles.map((r) => r.name).sort()).toEqual(["flip-back-ip-role", "flip-back-lb-role", "flip-back-vnet-role"]);
        const actions = Object.fromEntries(roles.map((r) => [r.name, r.inputs.permissions]));
        expect(actions).toEqual({
            "flip-back-lb-role": [{ actions: ["Microsoft.Network/loadBalancers/read", "Microsoft.Network/loadBalancers/write"], notActions: [], dataActions: [], notDataActions: [] }],
            "flip-back-ip-role": [{ actions: ["Microsoft.Network/publicIPAddresses/join/action"], notActions: [], dataActions: [], notDataActions: [] }],
            "flip-back-vnet-role": [{ actions: ["Microsoft.Network/virtualNetworks/joinLoadBalancer/action"], notActions: [], dataActions: [], notDataActions: [] }],
        });
        for (const role of roles) {
            expect(role.inputs.scope).toBe(rg);
            expect(role.inputs.assignableScopes).toEqual([rg]);
            expect(role.inputs.roleType).toBe("CustomRole");
            expect(role.inputs.roleName).toContain(`(${PROJECT}/${STACK} in 00000000-0000-0000-0000-000000000000)`);
        }
    });

    it("assigns each role to the agent's identity on its one resource: the load balancer, its public IP, the VNet", () => {
        const scopeOf = (name: string) => byName(run, name).inputs.scope;
        expect({ lb: scopeOf("flip-back-lb"), ip: scopeOf("flip-back-ip"), vnet: scopeOf("flip-back-vnet") }).toEqual({ lb, ip, vnet });
        for (const key of ["lb", "ip", "vnet"]) {
            const assignment = byName(run, `flip-back-${key}`);
            const guid = byName(run, `flip-back-${key}-role`).inputs.roleDefinitionId as string;
            expect(guid).toBe(flipBackRoleGuid("00000000-0000-0000-0000-000000000000", `${PROJECT}/${STACK}`, { key: key as "lb" }));
            expect(assignment.inputs.roleDefinitionId).toBe(`/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/${guid}`);
            expect(assignment.inputs.principalId).toBe(agent);
            expect(assignment.inputs.principalType).toBe("ServicePrincipal");
            expect(assignment.replaceOnChanges).toEqual(["principalId"]);
            // Sent only once its role exists.
            expect(assignment.dependencies).toContain(byName(run, `flip-back-${key}-role`).urn);
        }
    });

    it("gives the agent nothing at the resource group or subscription: every assignment of its identity is on one resource", () => {
        const agents = ofType(run, ROLE_ASSIGNMENT).filter((r) => r.inputs.principalId === agent);
        expect(agents.length).toBeGreaterThanOrEqual(4); // the artifact reader, secrets, and the three above
        for (const a of agents) {
            const scope = String(a.inputs.scope);
            expect(scope).not.toBe(rg);
            expect(scope).not.toMatch(/^\/subscriptions\/[^/]+\/?$/);
            expect(scope).not.toMatch(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/?$/i);
            expect(scope).toMatch(/\/providers\//);
        }
    });

    it("takes the public IP's and the VNet's ids that the load balancer's body references", () => {
        const body = byName(run, "front-lb").inputs as { frontendIPConfigurations: { publicIPAddress: { id: string } }[]; backendAddressPools: { loadBalancerBackendAddresses: { virtualNetwork: { id: string } }[] }[] };
        expect(body.frontendIPConfigurations[0].publicIPAddress.id).toBe(ip);
        expect(body.backendAddressPools[0].loadBalancerBackendAddresses[0].virtualNetwork.id).toBe(vnet);
    });
});

describe("the flip-back roles' ids and names", () => {
    const sub = "11111111-2222-3333-4444-555555555555";
    it("are GUIDs known before the first deploy: the same for the same stack, different per grant, stack and subscription", () => {
        const ids = FLIP_BACK_GRANTS.map((g) => flipBackRoleGuid(sub, "azure-bluegreen/prod", g));
        for (const id of ids) expect(id).toMatch(GUID);
        expect(new Set(ids).size).toBe(3);
        expect(flipBackRoleGuid(sub.toUpperCase(), "azure-bluegreen/prod", { key: "lb" })).toBe(ids[0]);
        expect(flipBackRoleGuid(sub, "azure-bluegreen/dev", { key: "lb" })).not.toBe(ids[0]);
        expect(flipBackRoleGuid("99999999-2222-3333-4444-555555555555", "azure-bluegreen/prod", { key: "lb" })).not.toBe(ids[0]);
        expect(stableGuid("x")).toBe(stableGuid("x"));
    });

    it("names each role by what it allows and the stack (role names are unique in a tenant)", () => {
        expect(flipBackRoleName(sub, "azure-bluegreen/prod", FLIP_BACK_GRANTS[0])).toBe(`bluegreen flip-back: read and update the load balancer (azure-bluegreen/prod in ${sub})`);
    });

    it("reads the subscription from an ARM id, refusing anything else", () => {
        expect(subscriptionOf(`/subscriptions/${sub}/resourceGroups/rg`)).toBe(sub);
        expect(() => subscriptionOf("rg")).toThrow(/not an ARM resource id/);
    });
});
