import { checkInputs } from "../../components/releaseGuardProvider";
import { databaseSourceChangeProblem, databaseSourceOf } from "../../release/databaseSource";

const ID = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Sql/servers/s/databases/goals";
const OTHER = ID.replace("/goals", "/goals-copy");

describe("databaseSourceChangeProblem", () => {
    it.each([
        ["created, again", "created", "created", undefined],
        ["a state from before the record (a created database), again", undefined, "created", undefined],
        ["the same existing database", `existing:${ID}`, `existing:${ID}`, undefined],
        ["the same ID in another letter case (Azure IDs are case-insensitive)", `existing:${ID}`, `existing:${ID.toUpperCase()}`, undefined],
        ["created → existing", "created", `existing:${ID}`, /created its Azure SQL server and database.*refused.*pulumi config rm existingSqlDatabaseId/s],
        ["a state from before the record → existing", undefined, `existing:${ID}`, /created its Azure SQL server/],
        ["existing → created", `existing:${ID}`, "created", new RegExp(`without existingSqlDatabaseId.*pulumi config set existingSqlDatabaseId ${ID}`, "s")],
        ["existing → another existing", `existing:${ID}`, `existing:${OTHER}`, new RegExp(`names another one \\(${OTHER}\\).*pulumi config set existingSqlDatabaseId ${ID} `, "s")],
    ])("%s", (_label, recorded, requested, problem) => {
        const result = databaseSourceChangeProblem(recorded, requested);
        if (problem === undefined) expect(result).toBeUndefined();
        else expect(result).toMatch(problem);
    });

    it("records created or existing:<id> from the config", () => {
        expect(databaseSourceOf(undefined)).toBe("created");
        expect(databaseSourceOf(ID)).toBe(`existing:${ID}`);
    });
});

describe("the release guard's check", () => {
    const inputs = {
        liveColor: "blue" as const,
        blue: { version: "1.0.0", vmSize: "Standard_B2s", image: "a:b:c:d", settings: {} },
        green: { version: "1.0.0", vmSize: "Standard_B2s", image: "a:b:c:d", settings: {} },
        runContractMigrations: false,
        rollbackWindowMinutes: 60,
        allowDeployIntoRollbackWindow: false,
        contractMigrations: [],
    };

    it("fails on a changed database source, naming the property; passes on the first deploy and on the same source", () => {
        const refused = checkInputs({ ...inputs, database: `existing:${ID}` }, { ...inputs, database: "created" });
        expect(refused.failures?.map((f) => f.property)).toEqual(["database"]);
        expect(checkInputs({ ...inputs, database: `existing:${ID}` }, undefined).failures).toBeUndefined();
        expect(checkInputs({ ...inputs, database: `existing:${ID}` }, { ...inputs, database: `existing:${ID}` }).failures).toBeUndefined();
    });
});
