/**
 * The app's readiness when the database is not there yet or refuses it (app/src/server.ts with migrator/transient.ts):
 * a PostgreSQL that starts late is waited for with each retry said; a refused login is not retried and says the fix.
 */
import { AppConfig } from "../../app/src/config";
import { RunningApp, startApp } from "../../app/src/server";
import { MemoryGoalStore } from "../../app/src/store/memoryGoalStore";
import { findPostgresBin, freePort, startPostgres, TestPostgres } from "../support/postgres";
import { fakeLoginError } from "../support/fakeMssql";
import { waitFor } from "./httpClient";

const baseConfig: AppConfig = {
    color: "blue",
    databaseUrl: "memory:",
    host: "127.0.0.1",
    port: 0,
    stagingPort: 0,
    maxConnectionAgeMs: 30_000,
    drainTimeoutMs: 2_000,
    drainDelayMs: 0,
    bodyTimeoutMs: 10_000,
};

type Event = Record<string, unknown> & { event: string };
const running: RunningApp[] = [];
let pg: TestPostgres | undefined;
afterEach(async () => {
    for (const app of running.splice(0)) await app.drain();
});
afterAll(async () => {
    await pg?.stop();
});

/** A store whose ping fails with the given errors, one per ping, then answers. */
class FlakyStore extends MemoryGoalStore {
    pings = 0;
    constructor(private readonly errors: Error[]) {
        super();
    }
    override async ping(): Promise<void> {
        this.pings++;
        const e = this.errors.shift();
        if (e) throw e;
    }
}

async function start(store: MemoryGoalStore | undefined, config: Partial<AppConfig> = {}): Promise<{ app: RunningApp; events: Event[] }> {
    const events: Event[] = [];
    const app = await startApp({ config: { ...baseConfig, ...config }, buildInfo: { version: "1.0.0" }, ...(store ? { store } : {}), log: (e) => events.push(e as Event) });
    running.push(app);
    return { app, events };
}

describe("the app's readiness check", () => {
    it("waits out Azure SQL's transient errors, saying each with its code, then is ready", async () => {
        const store = new FlakyStore([
            fakeLoginError("Database 'goals' on server 'bg-sql' is not currently available. Please retry the connection later."),
            fakeLoginError("The service has encountered an error processing your request. Please try again. Error code 40143."),
        ]);
        const { app, events } = await start(store);
        await waitFor(() => app.isReady(), 5_000, "the app ready");
        expect(events.filter((e) => e.event === "database-not-ready").map((e) => [e.code, e.attempt, e.retryInMs])).toEqual([["40613", 1, 250], ["40197", 2, 500]]);
    });

    it("does not retry a refused login: it stays unready and says the fix", async () => {
        const store = new FlakyStore([fakeLoginError("Login failed for user 'app_user'."), new Error("never reached")]);
        const { app, events } = await start(store);
        await waitFor(() => events.some((e) => e.event === "database-refused"), 5_000, "the refusal logged");
        await new Promise((resolve) => setTimeout(resolve, 700));
        expect(store.pings).toBe(1);
        expect(app.isReady()).toBe(false);
        const refused = events.find((e) => e.event === "database-refused");
        expect(refused).toMatchObject({ code: "18456" });
        expect(String(refused?.fix)).toMatch(/not transient and was not retried: the user or password in the connection URL is wrong/);
    });

    (findPostgresBin() ? it : it.skip)("waits for a PostgreSQL that starts late, then is ready", async () => {
        const port = await freePort();
        const { app, events } = await start(undefined, { databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres` });
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        expect(app.isReady()).toBe(false);
        pg = await startPostgres({ port });
        await waitFor(() => app.isReady(), 20_000, "the app ready once PostgreSQL is up");
        const waits = events.filter((e) => e.event === "database-not-ready");
        expect(waits.length).toBeGreaterThanOrEqual(2);
        expect(waits[0]).toMatchObject({ code: "ECONNREFUSED", attempt: 1, retryInMs: 250 });
        expect(events.at(-1)).toMatchObject({ event: "ready" });
    }, 40_000);
});
