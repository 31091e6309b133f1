import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_LATENCY_BUCKETS_MS } from "../../release/postFlipAnalysis";
import {
    LATENCY_BUCKETS_MS,
    main,
    otherSlot,
    parseInFlight,
    parseReleasesMap,
    renderReleasesMap,
    parseShowMap,
    parseSlotMap,
    proxySettingsProblems,
    renderProxyConfig,
    renderLatencyLua,
    renderSlotMap,
    SLOT_PORTS,
} from "../../release/localProxy";

const base = { socketPath: "/var/lib/bluegreen/proxy/admin.sock", mapPath: "/etc/bluegreen/proxy/slot.map" };

describe("the local proxy's configuration", () => {
    it("listens on the load balancer's production and staging ports and sends both to the slot the map names", () => {
        const cfg = renderProxyConfig(base);
        expect(cfg).toContain("    bind 0.0.0.0:8080 name production\n    bind 0.0.0.0:8081 name staging\n");
        expect(cfg).toContain("    use_backend %[str(active),map(/etc/bluegreen/proxy/slot.map,slot_a)]\n");
        expect(cfg).toContain(`backend slot_a\n    server app 127.0.0.1:${SLOT_PORTS.a}\n`);
        expect(cfg).toContain(`backend slot_b\n    server app 127.0.0.1:${SLOT_PORTS.b}\n`);
        expect(cfg).toContain("    stats socket /var/lib/bluegreen/proxy/admin.sock mode 600 level admin\n");
        expect(cfg).toMatch(/^\s+mode http$/m);
    });

    it("sends health probes to the active slot through probe backends the slots' counters never see", () => {
        const cfg = renderProxyConfig(base);
        expect(cfg).toContain("    use_backend %[str(active),map(/etc/bluegreen/proxy/slot.map,slot_a),regsub(^slot_,probe_)] if { path /health }\n");
        // the probe rule comes first: HAProxy takes the first use_backend that matches
        expect(cfg.indexOf("if { path /health }")).toBeLessThan(cfg.indexOf("map(/etc/bluegreen/proxy/slot.map,slot_a)]\n"));
        expect(cfg).toContain(`backend probe_a\n    server app 127.0.0.1:${SLOT_PORTS.a}\n`);
        expect(cfg).toContain(`backend probe_b\n    server app 127.0.0.1:${SLOT_PORTS.b}\n`);
        expect(renderProxyConfig({ ...base, healthPath: "/ready" })).toContain("if { path /ready }\n");
    });

    it("times the slots' answers with its Lua histogram only when given the script and a metrics port", () => {
        const cfg = renderProxyConfig({ ...base, metricsPort: 8405, latencyScriptPath: "/etc/bluegreen/proxy/latency.lua" });
        expect(cfg).toContain("    lua-load /etc/bluegreen/proxy/latency.lua\n");
        expect(cfg).toContain(`backend slot_a\n    http-request lua.bluegreen_latency_start\n    http-response lua.bluegreen_latency_observe\n    server app`);
        expect(cfg).toContain("backend probe_a\n    server app"); // probes are not timed
        expect(cfg).toContain("    http-request use-service lua.bluegreen_latency_metrics if { path /metrics/latency }\n");
        expect(renderProxyConfig({ ...base, metricsPort: 8405 })).not.toContain("lua");
        expect(proxySettingsProblems({ ...base, latencyScriptPath: "/x.lua" })).toEqual(["latencyScriptPath needs metricsPort (the histogram is served there)"]);
    });

    it("keeps the histogram's buckets those of the post-flip analysis, in seconds as Prometheus wants them", () => {
        expect(LATENCY_BUCKETS_MS).toEqual(DEFAULT_LATENCY_BUCKETS_MS);
        const lua = renderLatencyLua();
        expect(lua).toContain("local bounds_ms = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 }\n");
        expect(lua).toContain('local le = { "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf" }\n');
    });

    it("closes a client connection after its next answer once it is older than the bound, and an idle one after the idle bound", () => {
        const cfg = renderProxyConfig({ ...base, maxConnectionAgeMs: 5000 });
        expect(cfg).toContain("    tcp-request session set-var(sess.born) date(0,ms)\n");
        expect(cfg).toContain("    http-after-response set-header Connection close if { var(txn.age) -m int ge 5000 }\n");
        expect(cfg).toContain("    timeout http-keep-alive 5000ms\n");
        expect(renderProxyConfig({ ...base, maxConnectionAgeMs: 5000, keepAliveIdleMs: 2000 })).toContain("    timeout http-keep-alive 2000ms\n");
        expect(renderProxyConfig(base)).toContain("ge 30000 }");
    });

    it("names the VM in x-served-by only when asked, and drops to the given user only when asked", () => {
        expect(renderProxyConfig({ ...base, servedBy: "green-vm-1" })).toContain('http-after-response set-header x-served-by "green-vm-1"\n');
        expect(renderProxyConfig({ ...base, servedBy: "green-vm-1", releasesMapPath: "/etc/r.map" })).toContain(
            'http-after-response set-header x-served-by "%[be_name,regsub(^probe_,slot_),map(/etc/r.map,unknown)] green-vm-1"\n',
        );
        expect(renderProxyConfig(base)).not.toContain("x-served-by");
        expect(renderProxyConfig({ ...base, runAs: "haproxy" })).toContain("    user haproxy\n    group haproxy\n");
        expect(renderProxyConfig(base)).not.toMatch(/^\s+user /m);
    });

    it("serves Prometheus text on the metrics port only when one is given", () => {
        const cfg = renderProxyConfig({ ...base, metricsPort: 8405 });
        expect(cfg).toContain("frontend metrics\n    bind 0.0.0.0:8405\n    no log\n    http-request use-service prometheus-exporter if { path /metrics }\n");
        expect(renderProxyConfig(base)).not.toContain("prometheus-exporter");
    });

    it.each([
        [{ metricsPort: 8081 }, /ports must all differ \(8080, 8081, 9101, 9102, 8081\)/],
        [{ productionPort: 70000 }, /productionPort 70000 is not a TCP port/],
        [{ slotPorts: { a: 8080, b: 9102 } }, /ports must all differ \(8080, 8081, 8080, 9102\)/],
        [{ maxConnectionAgeMs: 10 }, /maxConnectionAgeMs 10 is not a whole number of milliseconds from 100 to 3600000/],
        [{ servedBy: "vm 1; x" }, /servedBy "vm 1; x" must be 1-64 letters/],
        [{ mapPath: "relative/slot.map" }, /mapPath "relative\/slot.map" must be an absolute path/],
        [{ socketPath: "/tmp/x y.sock" }, /socketPath "\/tmp\/x y.sock" must be an absolute path without spaces/],
        [{ runAs: "Root!" }, /runAs "Root!" is not a user name/],
        [{ healthPath: "health; x" }, /healthPath "health; x" must be a path/],
        [{ metricsPort: 8405, latencyScriptPath: "latency.lua" }, /latencyScriptPath "latency.lua" must be an absolute path/],
    ])("refuses %j, naming the setting and why", (bad, message) => {
        const settings = { ...base, ...bad };
        expect(proxySettingsProblems(settings).join("; ")).toMatch(message);
        expect(() => renderProxyConfig(settings)).toThrow(message);
    });
});

describe("slots and the map", () => {
    it("alternates slots", () => {
        expect(otherSlot("a")).toBe("b");
        expect(otherSlot("b")).toBe("a");
    });

    it("reads back the slot it wrote, and nothing from a missing or foreign file", () => {
        expect(parseSlotMap(renderSlotMap("b"))).toBe("b");
        expect(parseSlotMap(renderSlotMap("a"))).toBe("a");
        expect(parseSlotMap(undefined)).toBeUndefined();
        expect(parseSlotMap("live be_blue\n")).toBeUndefined();
        expect(parseSlotMap("active slot_c\n")).toBeUndefined();
    });

    it("reads back what each slot runs from the releases map it wrote", () => {
        expect(renderReleasesMap({ a: "blue@1.0.0", b: "" })).toBe("slot_a blue@1.0.0\nslot_b -\n");
        expect(parseReleasesMap(renderReleasesMap({ a: "blue@1.0.0", b: "blue@2.0.0" }))).toEqual({ a: "blue@1.0.0", b: "blue@2.0.0" });
        expect(parseReleasesMap(undefined)).toEqual({ a: "-", b: "-" });
    });

    it("parses HAProxy's show map and show stat answers", () => {
        expect(parseShowMap("0x55d0c5a3e0a0 active slot_b\n\n")).toEqual({ active: "slot_b" });
        const csv = [
            "# pxname,svname,qcur,qmax,scur,smax,slim",
            "app,FRONTEND,,,7,9,4096",
            "slot_a,app,1,2,3,5,",
            "slot_a,BACKEND,0,0,3,5,",
            "slot_b,app,0,0,0,1,",
            "",
        ].join("\n");
        expect(parseInFlight(csv)).toEqual({ "slot_a/app": 4, "slot_b/app": 0 });
        expect(parseInFlight("garbage")).toEqual({});
    });
});

describe("the command line deploy-app.sh calls", () => {
    const run = async (argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> => {
        const out: string[] = [];
        const err: string[] = [];
        const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
        return { code, out, err };
    };

    it("prints the configuration from a settings file and the active slot from a map file", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "local-proxy-"));
        try {
            fs.writeFileSync(path.join(dir, "s.json"), JSON.stringify({ ...base, servedBy: "blue-vm-0" }));
            const config = await run(["config", path.join(dir, "s.json")]);
            expect(config.code).toBe(0);
            expect(config.out.join("\n")).toBe(renderProxyConfig({ ...base, servedBy: "blue-vm-0" }).trimEnd());
            expect((await run(["active", path.join(dir, "none.map")])).out).toEqual([]);
            fs.writeFileSync(path.join(dir, "slot.map"), renderSlotMap("b"));
            expect((await run(["active", path.join(dir, "slot.map")])).out).toEqual(["b"]);
            fs.writeFileSync(path.join(dir, "bad.json"), JSON.stringify({ ...base, productionPort: 0 }));
            const bad = await run(["config", path.join(dir, "bad.json")]);
            expect(bad.code).toBe(1);
            expect(bad.err.join("\n")).toMatch(/local-proxy: local proxy settings refused: productionPort 0 is not a TCP port/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("prints its usage with exit 2 on an unknown command or a slot that is not a or b", async () => {
        expect((await run(["switch", "/s", "/m", "c"])).code).toBe(2);
        const usage = await run(["nope"]);
        expect(usage.code).toBe(2);
        expect(usage.err.join("\n")).toMatch(/usage: node local-proxy.js config/);
    });
});
