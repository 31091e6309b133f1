/**
 * The picture of the cut-over: a self-contained SVG of requests per second served by each color and failed requests
 * over time, with each flip (and each refusal) marked by a vertical line; the post-flip watch as a shaded span, each
 * of its verdicts as a tick on the top edge, and each automatic flip-back as a purple line. Pure: data in, SVG out.
 */
import { Bucket } from "./report";

/** A vertical marker on the chart. */
export interface ChartMarker {
    /** ms since the rehearsal started. */
    readonly at: number;
    /** A short label (a few words). */
    readonly label: string;
    /** `flip` (solid), `auto-rollback` (the watch's automatic flip-back: solid purple), `refused` (dashed red) or `note` (dotted grey). */
    readonly kind: "flip" | "auto-rollback" | "refused" | "note";
}

/** A span of time the post-flip watch watched a color. */
export interface ChartWatch {
    /** ms since the rehearsal started. */
    readonly startMs: number;
    readonly endMs: number;
    /** e.g. `watch green`. */
    readonly label: string;
}

/** One verdict of the watch (one per analysis interval). */
export interface ChartVerdict {
    /** ms since the rehearsal started. */
    readonly at: number;
    readonly verdict: "pass" | "fail" | "inconclusive";
}

export interface ChartInput {
    readonly title: string;
    readonly buckets: readonly Bucket[];
    readonly bucketMs: number;
    /** End of the run (ms): the last bucket's rate is taken over its real width. @default buckets × bucketMs */
    readonly endMs?: number;
    readonly markers: readonly ChartMarker[];
    /** The watches (shaded). @default none */
    readonly watches?: readonly ChartWatch[];
    /** The watch's verdicts (ticks on the top edge; a `fail` is labelled). @default none */
    readonly verdicts?: readonly ChartVerdict[];
}

export const CHART_COLORS = {
    blue: "#1f6fd1",
    green: "#2b9a3e",
    errors: "#d62728",
    refused: "#d62728",
    note: "#888888",
    autoRollback: "#8e44ad",
    watch: "#f3e9c6",
    verdict: { pass: "#2b9a3e", inconclusive: "#888888", fail: "#d62728" },
};

const W = 1000;
const H = 420;
const M = { left: 60, right: 20, top: 50, bottom: 110 };

/** Escapes text for SVG/XML content and attributes. */
export function escapeXml(s: string): string {
    return s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] as string);
}

/** A "nice" axis maximum ≥ value: 1, 2 or 5 times a power of ten. */
export function niceMax(value: number): number {
    if (value <= 0) return 1;
    const p = 10 ** Math.floor(Math.log10(value));
    for (const m of [1, 2, 5, 10]) if (m * p >= value) return m * p;
    return 10 * p;
}

/** Requests per second of `count` requests in bucket `b` (the last one may be cut short by the end of the run). */
export function bucketRate(b: Bucket, count: number, bucketMs: number, endMs: number): number {
    return (count * 1000) / Math.max(1, Math.min(bucketMs, endMs - b.t));
}

/** Renders the chart as a standalone SVG document. */
export function renderChart(input: ChartInput): string {
    const endMs = input.endMs ?? Math.max(input.bucketMs, input.buckets.length * input.bucketMs);
    const rate = (b: Bucket, count: number): number => bucketRate(b, count, input.bucketMs, endMs);
    const maxRate = niceMax(Math.max(1, ...input.buckets.map((b) => rate(b, Math.max(b.blue, b.green, b.errors)))));
    const pw = W - M.left - M.right;
    const ph = H - M.top - M.bottom;
    const x = (ms: number): number => M.left + (ms / endMs) * pw;
    const y = (rate: number): number => M.top + ph - (rate / maxRate) * ph;
    const f = (n: number): string => n.toFixed(1);

    const line = (key: "blue" | "green" | "errors"): string => {
        const pts = input.buckets.map((b) => `${f(x(Math.min(b.t + input.bucketMs / 2, endMs)))},${f(y(rate(b, b[key])))}`);
        return `<polyline class="series-${key}" fill="none" stroke="${CHART_COLORS[key]}" stroke-width="2" points="${pts.join(" ")}"/>`;
    };

    const parts: string[] = [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
        `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
        `<text x="${M.left}" y="22" font-size="15" font-weight="bold">${escapeXml(input.title)}</text>`,
    ];
    // Grid and axes.
    for (let i = 0; i <= 4; i++) {
        const r = (maxRate * i) / 4;
        parts.push(
            `<line x1="${M.left}" x2="${W - M.right}" y1="${f(y(r))}" y2="${f(y(r))}" stroke="#e5e5e5"/>`,
            `<text x="${M.left - 6}" y="${f(y(r) + 4)}" text-anchor="end">${r}</text>`,
        );
    }
    const stepS = niceMax(endMs / 1000 / 10);
    for (let s = 0; s * 1000 <= endMs; s += stepS) {
        parts.push(`<text x="${f(x(s * 1000))}" y="${M.top + ph + 16}" text-anchor="middle">${s}s</text>`);
    }
    parts.push(
        `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#333"/>`,
        `<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#333"/>`,
        `<text x="14" y="${M.top + ph / 2}" transform="rotate(-90 14 ${M.top + ph / 2})" text-anchor="middle">requests / s</text>`,
    );
    // The watches: a shaded span behind everything, labelled at its top left.
    for (const w of input.watches ?? []) {
        const x0 = x(Math.max(0, w.startMs));
        const x1 = x(Math.min(endMs, w.endMs));
        parts.push(
            `<g class="watch">`,
            `<rect x="${f(x0)}" y="${M.top}" width="${f(Math.max(1, x1 - x0))}" height="${ph}" fill="${CHART_COLORS.watch}" fill-opacity="0.6"/>`,
            `<text x="${f(x0 + 4)}" y="${M.top + 12}" fill="#7a6a2a">${escapeXml(w.label)}</text>`,
            `</g>`,
        );
    }
    // The verdicts: a tick each on the top edge; the first fail is labelled.
    let failLabelled = false;
    for (const v of input.verdicts ?? []) {
        const vx = f(x(v.at));
        const color = CHART_COLORS.verdict[v.verdict];
        const label = v.verdict === "fail" && !failLabelled ? `<text x="${f(x(v.at) - 4)}" y="${M.top + 24}" text-anchor="end" fill="${color}">watch: fail</text>` : "";
        if (v.verdict === "fail") failLabelled = true;
        parts.push(`<g class="verdict verdict-${v.verdict}"><line x1="${vx}" x2="${vx}" y1="${M.top - 4}" y2="${M.top + 8}" stroke="${color}" stroke-width="3"/>${label}</g>`);
    }
    // Markers: a vertical line each, labels staggered in the bottom margin so they do not overlap.
    input.markers.forEach((m, i) => {
        const mx = f(x(m.at));
        const stroke =
            m.kind === "flip" ? "#333" : m.kind === "auto-rollback" ? CHART_COLORS.autoRollback : m.kind === "refused" ? CHART_COLORS.refused : CHART_COLORS.note;
        const dash = m.kind === "flip" || m.kind === "auto-rollback" ? "" : m.kind === "refused" ? ' stroke-dasharray="6 4"' : ' stroke-dasharray="2 3"';
        const ly = M.top + ph + 32 + (i % 4) * 16;
        // Labels near an edge are anchored so that they stay inside the picture.
        const anchor = x(m.at) < M.left + 80 ? "start" : x(m.at) > W - M.right - 80 ? "end" : "middle";
        parts.push(
            `<g class="marker marker-${m.kind}">`,
            `<line x1="${mx}" x2="${mx}" y1="${M.top}" y2="${ly - 10}" stroke="${stroke}" stroke-width="${m.kind === "auto-rollback" ? 2.5 : 1.5}"${dash}/>`,
            `<text x="${mx}" y="${ly}" text-anchor="${anchor}" fill="${stroke}">${escapeXml(m.label)}</text>`,
            `</g>`,
        );
    });
    parts.push(line("blue"), line("green"), line("errors"));
    // Legend.
    const legend: [string, string][] = [
        ["served by blue", CHART_COLORS.blue],
        ["served by green", CHART_COLORS.green],
        ["failed", CHART_COLORS.errors],
        ...((input.watches ?? []).length > 0 ? ([["watched", CHART_COLORS.watch]] as [string, string][]) : []),
        ...(input.markers.some((m) => m.kind === "auto-rollback") ? ([["automatic flip-back", CHART_COLORS.autoRollback]] as [string, string][]) : []),
    ];
    legend.forEach(([label, color], i) => {
        const lx = M.left + i * 135;
        parts.push(
            color === CHART_COLORS.watch
                ? `<rect x="${lx}" y="30" width="18" height="12" fill="${color}" stroke="#c9b77a"/>`
                : `<line x1="${lx}" x2="${lx + 18}" y1="36" y2="36" stroke="${color}" stroke-width="3"/>`,
            `<text x="${lx + 24}" y="40">${escapeXml(label)}</text>`,
        );
    });
    parts.push("</svg>");
    return parts.join("\n") + "\n";
}
