/**
 * Runs `work` while the worker's unhandled promise rejections are collected instead of failing the running test.
 * A Pulumi program reports a failed resource or read-back as rejections nobody awaits; the Pulumi language host turns
 * them into a failed update, and so does the harness (tests/support/pulumiProgram.ts): they become `failures`.
 * Needs the test environment tests/support/nodeEnvironment.js (it exposes the real process).
 */
type Listener = (...args: unknown[]) => void;

export async function collectRejections<T>(work: () => Promise<T>, settleMs = 30): Promise<{ result: T; rejections: string[] }> {
    const real = (globalThis as { __realProcess?: NodeJS.Process }).__realProcess;
    if (!real) throw new Error("collectRejections needs the test environment tests/support/nodeEnvironment.js (jest.config.js)");
    const events = ["unhandledRejection", "rejectionHandled"] as const;
    const saved = new Map(events.map((e) => [e, real.rawListeners(e) as Listener[]]));
    const rejections: string[] = [];
    for (const e of events) real.removeAllListeners(e);
    real.on("unhandledRejection", (reason: unknown) => rejections.push(String((reason as Error)?.message ?? reason)));
    real.on("rejectionHandled", () => undefined);
    try {
        const result = await work();
        await new Promise((resolve) => setTimeout(resolve, settleMs));
        return { result, rejections: [...new Set(rejections)] };
    } finally {
        for (const e of events) {
            real.removeAllListeners(e);
            for (const l of saved.get(e) ?? []) real.on(e, l);
        }
    }
}
