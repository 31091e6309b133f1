/** Builders of release-guard states and inputs shared by the guard's tests (one place to change their shape). */
import type { ReleaseGuardInputs } from "../../components/releaseGuard";
import type { ColorState } from "../../release/guard";

/** One color's deployment state: `version` on a small VM, one instance. */
export const colorState = (version: string, extra: Partial<ColorState> = {}): ColorState => ({
    version,
    vmSize: "Standard_B1s",
    image: "Canonical:ubuntu-24_04-lts:server:latest",
    settings: { instanceCount: "1" },
    ...extra,
});

/** The guard's inputs: blue 1.0.0 live, green 1.0.0 idle, a 60-minute window, no contract. */
export const guardInputs = (extra: Partial<ReleaseGuardInputs> = {}): ReleaseGuardInputs => ({
    liveColor: "blue",
    blue: colorState("1.0.0"),
    green: colorState("1.0.0"),
    runContractMigrations: false,
    rollbackWindowMinutes: 60,
    allowDeployIntoRollbackWindow: false,
    contractMigrations: [],
    ...extra,
});
