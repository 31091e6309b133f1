/**
 * Where the stack's database comes from, as the release guard records it: `created` (the stack declares the server
 * and database) or `existing:<resource ID>` (config existingSqlDatabaseId). Pure; the guard's `check` refuses a
 * change between two updates (components/releaseGuardProvider.ts), before anything is created or deleted.
 */

/** The recorded source for a config: `created`, or `existing:<id>` for an existing database. */
export function databaseSourceOf(existingDatabaseId: string | undefined): string {
    return existingDatabaseId ? `existing:${existingDatabaseId}` : "created";
}

const existingIdOf = (source: string): string | undefined => (source.startsWith("existing:") ? source.slice("existing:".length) : undefined);

/**
 * Why going from the recorded source to the requested one is refused, or `undefined` when it is the same. `recorded`
 * is undefined for a stack whose guard state predates this record: such a stack created its database. On the first
 * deploy (no previous update) the caller does not ask.
 */
export function databaseSourceChangeProblem(recorded: string | undefined, requested: string): string | undefined {
    const before = recorded ?? "created";
    if (before.toLowerCase() === requested.toLowerCase()) return undefined;
    const wasExisting = existingIdOf(before);
    const nowExisting = existingIdOf(requested);
    if (wasExisting === undefined && nowExisting !== undefined) {
        return `This stack created its Azure SQL server and database; the config now names an existing one (${nowExisting}). ` +
            "Going on would delete the created server and database, with their data, from the stack: refused, nothing was changed. " +
            "Fix: pulumi config rm existingSqlDatabaseId (keep the created database). To adopt an existing database, deploy it with a " +
            "new stack (docs/existing-database.md).";
    }
    if (wasExisting !== undefined && nowExisting === undefined) {
        return `This stack uses the existing database ${wasExisting}; without existingSqlDatabaseId it would create a new, empty ` +
            "server and database and point both colors at them: refused, nothing was changed. " +
            `Fix: pulumi config set existingSqlDatabaseId ${wasExisting}`;
    }
    return `This stack uses the existing database ${wasExisting}; the config now names another one (${nowExisting}), which has ` +
        "neither its data nor its migration journal: refused, nothing was changed. " +
        `Fix: pulumi config set existingSqlDatabaseId ${wasExisting} (to move databases, use a new stack).`;
}
