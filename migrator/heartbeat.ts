/**
 * A progress line while something long runs (a migration whose batch takes minutes would otherwise be silent until it
 * ends, in a run command whose output people watch): `still <what> (<n> s)` every `everyMs`.
 */

/** Starts logging `still <what> (<elapsed> s)` every `everyMs`; call the returned function to stop. */
export function heartbeat(log: (line: string) => void, what: string, everyMs: number, now: () => number = Date.now): () => void {
    const started = now();
    const timer = setInterval(() => log(`still ${what} (${Math.round((now() - started) / 1000)} s)`), everyMs);
    timer.unref?.();
    return () => clearInterval(timer);
}
