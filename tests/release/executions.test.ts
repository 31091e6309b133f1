import * as fc from "fast-check";
import {
    allocateExecutions,
    EMPTY_LEDGER,
    executionNames,
    executionRequestProblems,
    ExecutionLedger,
    ExecutionRequest,
    newExecutions,
} from "../../release/executions";

const req = (key: string, digest: string): ExecutionRequest => ({ key, digest });

describe("allocateExecutions: a name per execution, never reused on the agent", () => {
    it("names every execution of the first update from 1, in key order", () => {
        const ledger = allocateExecutions(undefined, [req("migrate-expand-green", "g1"), req("gate", "blue@1.0.0"), req("migrate-expand-blue", "b1")]);
        expect(executionNames(ledger)).toEqual({ gate: "gate-1", "migrate-expand-blue": "migrate-expand-blue-2", "migrate-expand-green": "migrate-expand-green-3" });
        expect(ledger.counter).toBe(3);
    });

    it("keeps the name of an unchanged execution (nothing runs again, a failed one stays failed)", () => {
        const first = allocateExecutions(undefined, [req("gate", "green@1.1.0")]);
        const again = allocateExecutions(first, [req("gate", "green@1.1.0")]);
        expect(again).toEqual(first);
        expect(newExecutions(first, again)).toEqual([]);
    });

    it("gives flip, rollback and flip again three different gate names although the first and last are identical", () => {
        let ledger: ExecutionLedger = EMPTY_LEDGER;
        const names: string[] = [];
        for (const digest of ["green@1.1.0", "blue@1.0.0", "green@1.1.0"]) {
            ledger = allocateExecutions(ledger, [req("gate", digest)]);
            names.push(ledger.records.gate.name);
        }
        expect(new Set(names).size).toBe(3);
    });

    it("gives a contract run asked for a second time a new name (it was absent in between)", () => {
        const on = allocateExecutions(undefined, [req("migrate-contract-blue", "c")]);
        const off = allocateExecutions(on, []);
        const onAgain = allocateExecutions(off, [req("migrate-contract-blue", "c")]);
        expect(off.records).toEqual({});
        expect(onAgain.records["migrate-contract-blue"].name).not.toBe(on.records["migrate-contract-blue"].name);
        expect(newExecutions(off, onAgain)).toEqual(["migrate-contract-blue"]);
    });

    it("reports only the executions whose name changed as new", () => {
        const before = allocateExecutions(undefined, [req("gate", "a"), req("migrate-expand-blue", "x")]);
        const after = allocateExecutions(before, [req("gate", "b"), req("migrate-expand-blue", "x")]);
        expect(newExecutions(before, after)).toEqual(["gate"]);
    });

    it("recovers from a damaged counter by starting from 0, never from a negative or fractional number", () => {
        const ledger = allocateExecutions({ records: {}, counter: -4.5 }, [req("gate", "a")]);
        expect(ledger.records.gate.name).toBe("gate-1");
    });

    it("property: along any sequence of updates, a name is only ever seen again for the same, uninterrupted execution", () => {
        const keys = ["gate", "migrate-expand-blue", "migrate-contract-blue"];
        const update = fc.subarray(keys).chain((present) =>
            fc.tuple(...present.map((key) => fc.constantFrom("d1", "d2", "d3").map((digest) => req(key, digest)))),
        );
        fc.assert(
            fc.property(fc.array(update, { minLength: 1, maxLength: 12 }), (updates) => {
                let ledger: ExecutionLedger | undefined;
                /** name → (key, digest, index of the last update that had it) */
                const seen = new Map<string, { key: string; digest: string; last: number }>();
                updates.forEach((requests, index) => {
                    ledger = allocateExecutions(ledger, requests);
                    for (const [key, record] of Object.entries(ledger.records)) {
                        const earlier = seen.get(record.name);
                        if (earlier) {
                            // The same execution, unchanged and present in every update since it was named.
                            expect({ key: earlier.key, digest: earlier.digest, last: earlier.last }).toEqual({ key, digest: record.digest, last: index - 1 });
                        }
                        seen.set(record.name, { key, digest: record.digest, last: index });
                    }
                });
            }),
        );
    });
});

describe("executionRequestProblems", () => {
    it("accepts lowercase keys with digits and dashes", () => {
        expect(executionRequestProblems([req("gate", "x"), req("migrate-expand-blue", "y")])).toEqual([]);
    });

    it.each([
        ["an upper-case key", [req("Gate", "x")], /"Gate" must be lowercase/],
        ["a key with a slash", [req("gate/1", "x")], /"gate\/1"/],
        ["an empty digest", [req("gate", "")], /gate has no digest/],
        ["a key asked for twice", [req("gate", "x"), req("gate", "y")], /requested twice/],
    ])("refuses %s", (_what, requests, message) => {
        expect(executionRequestProblems(requests).join("\n")).toMatch(message);
    });
});
