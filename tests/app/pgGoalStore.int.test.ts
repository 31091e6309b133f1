// The app's PostgreSQL store against a real, throw-away PostgreSQL, with engineer C's migrations
// (migrations/postgres/*.sql) applied one by one, as a release applies them: v1 on the initial schema, v1 and v2
// side by side after the expand (the trigger keeps title and name in step), v2 alone after the contract.
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { GoalStore, openGoalStore } from "../../app/src/store/goalStore";
import { startPostgres, TestPostgres } from "../support/postgres";

jest.setTimeout(60_000);

const MIGRATIONS = path.resolve(__dirname, "..", "..", "migrations", "postgres");

let pg: TestPostgres;
let url: string;
const stores: GoalStore[] = [];

async function apply(...prefixes: string[]): Promise<void> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
        for (const prefix of prefixes) {
            const file = fs.readdirSync(MIGRATIONS).find((f) => f.startsWith(prefix));
            if (!file) throw new Error(`no migration ${prefix}* in ${MIGRATIONS}`);
            await client.query(fs.readFileSync(path.join(MIGRATIONS, file), "utf8"));
        }
    } finally {
        await client.end();
    }
}

async function store(version: string): Promise<GoalStore> {
    const s = await openGoalStore(url, version);
    stores.push(s);
    return s;
}

beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase("app_goals");
});
afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await pg?.stop();
});

describe("PgGoalStore on a real PostgreSQL through a whole rename", () => {
    it("answers ping through the driver the postgres:// scheme selects", async () => {
        await expect((await store("1.0.0")).ping()).resolves.toBeUndefined();
    });

    it("v1 adds and lists goals on the initial schema, newest first, limited", async () => {
        await apply("0001");
        const v1 = await store("1.0.0");
        const first = await v1.add("Read 12 books");
        await v1.add("Run a marathon");
        expect(first).toMatchObject({ id: 1, title: "Read 12 books" });
        expect(new Date(first.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
        expect((await v1.list(10)).map((g) => g.title)).toEqual(["Run a marathon", "Read 12 books"]);
        expect(await v1.list(1)).toHaveLength(1);
    });

    it("after the expand, v1 (title) and v2 (name) see each other's goals", async () => {
        await apply("0002", "0003");
        const v1 = await store("1.0.0");
        const v2 = await store("2.0.0");
        expect((await v2.list(10)).map((g) => g.title)).toEqual(["Run a marathon", "Read 12 books"]);
        await v2.add("Learn the cello");
        await v1.add("Plant a tree");
        expect((await v1.list(2)).map((g) => g.title)).toEqual(["Plant a tree", "Learn the cello"]);
        expect((await v2.list(2)).map((g) => g.title)).toEqual(["Plant a tree", "Learn the cello"]);
    });

    it("after the contract, v2 keeps working and v1 would fail (why the contract waits for requires-version 2.0.0)", async () => {
        await apply("0004");
        const v2 = await store("2.0.0");
        await v2.add("Visit Lisbon");
        expect((await v2.list(5)).map((g) => g.title)).toEqual(["Visit Lisbon", "Plant a tree", "Learn the cello", "Run a marathon", "Read 12 books"]);
        const v1 = await store("1.0.0");
        await expect(v1.add("Too late")).rejects.toThrow(/column "title" .*does not exist/);
    });

    it("stores a title with quotes and SQL in it as data", async () => {
        const v2 = await store("2.0.0");
        const title = "Robert'); DROP TABLE goals;--";
        const goal = await v2.add(title);
        expect((await v2.list(1))[0]).toEqual(goal);
        expect(goal.title).toBe(title);
    });
});

describe("the app on PostgreSQL: a client error is a 400, not an outage", () => {
    it("POST /goals with \\u0000 in the title answers 400 naming it (PostgreSQL would refuse it, which read as a 503)", async () => {
        const { startApp } = await import("../../app/src/server");
        const { request } = await import("./httpClient");
        const app = await startApp({
            config: {
                color: "blue", databaseUrl: url, host: "127.0.0.1", port: 0, stagingPort: 0,
                maxConnectionAgeMs: 30_000, drainTimeoutMs: 1_000, drainDelayMs: 0, bodyTimeoutMs: 10_000,
            },
            buildInfo: { version: "2.0.0" },
            log: () => undefined,
        });
        try {
            const reply = await request(app.ports.production, "/goals", { method: "POST", body: '{"title":"Run\\u0000"}' });
            expect(reply.status).toBe(400);
            expect((reply.body as { error: string }).error).toMatch(/title contains a NUL character/);
            expect((await request(app.ports.production, "/goals", { method: "POST", body: '{"title":"Run"}' })).status).toBe(201);
        } finally {
            await app.drain();
        }
    });
});
