import { CHART_COLORS, escapeXml, niceMax, renderChart } from "../../rehearsal/chart";

const input = {
    title: "Rehearsal <blue → green>",
    bucketMs: 1000,
    buckets: [
        { t: 0, blue: 1000, green: 0, errors: 0 },
        { t: 1000, blue: 400, green: 600, errors: 0 },
        { t: 2000, blue: 0, green: 990, errors: 10 },
    ],
    markers: [
        { at: 1200, label: "flip → green", kind: "flip" as const },
        { at: 2500, label: "flip → blue refused", kind: "refused" as const },
    ],
};

describe("renderChart", () => {
    const svg = renderChart(input);

    it("is one standalone SVG document with no external references", () => {
        expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
        expect(svg.trim().endsWith("</svg>")).toBe(true);
        expect(svg).not.toMatch(/href=|<script|url\(/);
    });

    it("draws one line per color and one for failures, with a point per bucket", () => {
        for (const key of ["blue", "green", "errors"] as const) {
            const m = new RegExp(`<polyline class="series-${key}"[^>]*stroke="${CHART_COLORS[key]}"[^>]*points="([^"]*)"`).exec(svg);
            expect(m).not.toBeNull();
            expect(m![1].split(" ")).toHaveLength(3);
        }
    });

    it("puts the busiest bucket at the top of the axis and an empty one at the bottom", () => {
        // max rate 1000 req/s → axis max 1000; plot area from y=50 to y=310.
        const blue = /class="series-blue"[^>]*points="([^"]*)"/.exec(svg)![1].split(" ").map((p) => Number(p.split(",")[1]));
        expect(blue[0]).toBeCloseTo(50);
        expect(blue[1]).toBeCloseTo(310 - 0.4 * 260);
        expect(blue[2]).toBeCloseTo(310);
    });

    it("takes the rate of a last bucket cut short by the end of the run over its real width", () => {
        const cut = renderChart({ ...input, endMs: 2500 });
        // the last bucket holds 990 green requests in 0.5 s = 1980 req/s: the axis grows to 2000
        const green = /class="series-green"[^>]*points="([^"]*)"/.exec(cut)![1].split(" ").map((p) => Number(p.split(",")[1]));
        expect(green[2]).toBeCloseTo(310 - (1980 / 2000) * 260);
        expect(cut).toContain(">2000</text>");
    });

    it("marks each flip and each refusal with a labelled vertical line", () => {
        expect(svg.match(/<g class="marker marker-flip">/g)).toHaveLength(1);
        expect(svg.match(/<g class="marker marker-refused">/g)).toHaveLength(1);
        expect(svg).toContain(">flip → green</text>");
        expect(svg).toContain(">flip → blue refused</text>");
    });

    it("draws no watch, verdict or automatic flip-back when there was none", () => {
        expect(svg).not.toMatch(/class="watch"|class="verdict|marker-auto-rollback/);
        expect(svg).not.toContain(">watched</text>");
    });

    it("shades each watch, ticks each verdict on the top edge (the first fail labelled) and marks the automatic flip-back", () => {
        const watched = renderChart({
            ...input,
            markers: [...input.markers, { at: 2600, label: "automatic flip-back → blue", kind: "auto-rollback" }],
            watches: [{ startMs: 1200, endMs: 2600, label: "watch green" }],
            verdicts: [
                { at: 1700, verdict: "inconclusive" },
                { at: 2200, verdict: "fail" },
                { at: 2500, verdict: "fail" },
            ],
        });
        // one shaded span from the flip (x = 60 + 1200/3000 × 920 = 428) to the flip-back (x = 857.3)
        expect(watched).toMatch(/<g class="watch">\n<rect x="428\.0" y="50" width="429\.3"/);
        expect(watched).toContain(">watch green</text>");
        expect(watched.match(/<g class="verdict verdict-fail">/g)).toHaveLength(2);
        expect(watched.match(/<g class="verdict verdict-inconclusive">/g)).toHaveLength(1);
        expect(watched.match(/>watch: fail<\/text>/g)).toHaveLength(1);
        expect(watched).toMatch(new RegExp(`<g class="marker marker-auto-rollback">\n<line [^>]*stroke="${CHART_COLORS.autoRollback}" stroke-width="2[.]5"`));
        expect(watched).toContain(">automatic flip-back → blue</text>");
        expect(watched).toContain(">watched</text>");
        expect(watched).toContain(">automatic flip-back</text>");
    });

    it("escapes text so a label cannot break the document", () => {
        expect(svg).toContain("Rehearsal &lt;blue → green&gt;");
        expect(escapeXml(`a<b>&"c'`)).toBe("a&lt;b&gt;&amp;&quot;c&apos;");
    });
});

describe("niceMax", () => {
    it.each([
        [0, 1],
        [7, 10],
        [1000, 1000],
        [1001, 2000],
        [2100, 5000],
        [0.3, 0.5],
    ])("rounds %d up to %d", (value, expected) => {
        expect(niceMax(value)).toBeCloseTo(expected);
    });
});
