import { backendName, renderHaproxyConfig, renderLiveMap, stagingBackendName } from "../../rehearsal/haproxy";

const layout = {
    socketPath: "/tmp/x/admin.sock",
    mapPath: "/tmp/x/live.map",
    productionPort: 8000,
    stagingPort: 8001,
    servers: {
        blue: [{ name: "blue-0", port: 9000, stagingPort: 9100 }, { name: "blue-1", port: 9001, stagingPort: 9101 }],
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
        expect(cfg).toContain("frontend staging\n    bind 127.0.0.1:8001\n    use_backend %[str(idle),map(/tmp/x/live.map,stg_green)]");
    });

    /** The text of one backend section. */
    function section(name: string): string {
        const start = cfg.indexOf(`backend ${name}\n`);
        const end = cfg.indexOf("\nbackend ", start + 1);
        return cfg.slice(start, end < 0 ? undefined : end);
    }

    it("puts each color's instances in its own backends, health-checked on /health", () => {
        const blue = section("be_blue");
        expect(blue).toContain("server blue-0 127.0.0.1:9000 check");
        expect(blue).toContain("server blue-1 127.0.0.1:9001 check");
        expect(blue).not.toContain("green-");
        const green = section("be_green");
        expect(green).toContain("server green-1 127.0.0.1:9003 check");
        expect(green).toContain("option httpchk GET /health");
        expect(green).toContain("http-check expect status 200");
    });

    it("sends staging to each instance's staging port, or its production port when it has none", () => {
        expect(section("stg_blue")).toContain("server blue-0 127.0.0.1:9100 check");
        expect(section("stg_blue")).toContain("server blue-1 127.0.0.1:9101 check");
        expect(section("stg_green")).toContain("server green-0 127.0.0.1:9002 check");
    });

    it("uses the given health path and interval", () => {
        const custom = renderHaproxyConfig({ ...layout, healthPath: "/ready", checkIntervalMs: 100 });
        expect(custom).toContain("option httpchk GET /ready");
        expect(custom).toContain("default-server inter 100ms fall 3 rise 2");
    });

    it("takes an instance out after three failed probes, not one slow answer", () => {
        expect(cfg).toContain("default-server inter 500ms fall 3 rise 2");
        expect(cfg).toContain("timeout check 1s");
    });

    it("logs only failed connections, and only when asked", () => {
        expect(cfg).not.toMatch(/^\s*log /m);
        const logged = renderHaproxyConfig({ ...layout, logErrors: true });
        expect(logged).toContain("log stdout format raw local0");
        expect(logged).toContain("option dontlog-normal");
    });
});

describe("renderLiveMap", () => {
    it.each([
        ["blue", "live be_blue\nidle stg_green\n"],
        ["green", "live be_green\nidle stg_blue\n"],
    ] as const)("for live %s maps live to its production backend and idle to the other's staging backend", (live, expected) => {
        expect(renderLiveMap(live)).toBe(expected);
        expect(backendName(live)).toBe(`be_${live}`);
        expect(stagingBackendName(live)).toBe(`stg_${live}`);
    });
});
