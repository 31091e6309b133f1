/** The two production environments. Exactly one is live at a time; the other is idle (staging or rollback target). */
export type Color = "blue" | "green";

export const COLORS: readonly Color[] = ["blue", "green"];

export function isColor(value: unknown): value is Color {
    return value === "blue" || value === "green";
}

/** The color that is not live: where the next version is deployed and checked, and the instant rollback target. */
export function idleColor(live: Color): Color {
    return live === "blue" ? "green" : "blue";
}

/**
 * Which backend pool each load-balancer rule sends traffic to.
 * Production (port 80) goes to the live color; staging goes to the idle one.
 * This is the whole cut-over: `pulumi config set liveColor green` changes this mapping and nothing else.
 */
export function rulePools(live: Color): { production: Color; staging: Color } {
    return { production: live, staging: idleColor(live) };
}
