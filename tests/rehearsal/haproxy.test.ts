import { backendName, renderHaproxyConfig, renderLiveMap } from "../../rehearsal/haproxy";

const layout = {
    socketPath: "/tmp/x/admin.sock",
    mapPath: "/tmp/x/live.map",
    productionPort: 8000,
    stagingPort: 8001,
    servers: {
        blue: [{ name: "blue-0", port: 9000 }, { name: "blue-1", port: 9001 }],
        green: [{ name: "green-0", port: 9002 }, { name: "green-1", port: 9003 }],
    },
};

describe("renderHaproxyConfig", () => {
    const cfg = renderHaproxyConfig(layout);

    it("runs every proxy in TCP mode, like the Azure load balancer", () => {
        expect(cfg).toMatch(/^defaults\n {4}mode tcp$/m);
        expect(cfg).not.toMatch(/mode http/);
    });

    it("opens the runtime API with admin level on the given socket", () => {
        expect(cfg).toContain("stats socket /tmp/x/admin.sock mode 600 level admin");
    });

    it("routes production by the map's live entry and staging by its idle entry", () => {
        expect(cfg).toContain("frontend production\n    bind 127.0.0.1:8000\n    use_backend %[str(live),map(/tmp/x/live.map,be_blue)]");
        expect(cfg).toContain("frontend staging\n    bind 127.0.0.1:8001\n    use_backend %[str(idle),map(/tmp/x/live.map,be_green)]");
    });

    it("puts each color's instances in its own backend, health-checked on /health", () => {
        const blue = cfg.slice(cfg.indexOf("backend be_blue"), cfg.indexOf("backend be_green"));
        const green = cfg.slice(cfg.indexOf("backend be_green"));
        expect(blue).toContain("server blue-0 127.0.0.1:9000 check");
        expect(blue).toContain("server blue-1 127.0.0.1:9001 check");
        expect(blue).not.toContain("green-");
        expect(green).toContain("server green-1 127.0.0.1:9003 check");
        expect(green).toContain("option httpchk GET /health");
        expect(green).toContain("http-check expect status 200");
    });

    it("uses the given health path and interval", () => {
        const custom = renderHaproxyConfig({ ...layout, healthPath: "/ready", checkIntervalMs: 100 });
        expect(custom).toContain("option httpchk GET /ready");
        expect(custom).toContain("default-server inter 100ms");
    });
});

describe("renderLiveMap", () => {
    it.each([
        ["blue", "live be_blue\nidle be_green\n"],
        ["green", "live be_green\nidle be_blue\n"],
    ] as const)("for live %s maps live and idle to the two backends", (live, expected) => {
        expect(renderLiveMap(live)).toBe(expected);
        expect(backendName(live)).toBe(`be_${live}`);
    });
});
