// Two tiers. "unit" needs nothing but Node (target: under 60 s on 2 cores).
// The integration tier starts real servers: PostgreSQL, HAProxy, app processes (*.int.test.ts), in two projects:
// "integration-parallel" holds the files known to be safe to run beside another (PARALLEL_INTEGRATION); every other
// integration file is in "integration", run one file at a time with the machine to itself (.ci/run runs the first on
// both cores, then the second on one).
// `npm test` runs every project; `npm run test:unit` the fast tier only; `npm run test:integration` both integration
// projects.
const common = {
  preset: "ts-jest",
  // Node, plus the worker's real process for collecting a Pulumi run's unhandled rejections (see the file).
  testEnvironment: "<rootDir>/tests/support/nodeEnvironment.js",
  // Pulumi keeps global state that Jest 30's globals cleanup would tear down between files.
  testEnvironmentOptions: { globalsCleanup: "off" },
  transform: {
    "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
  },
  roots: ["<rootDir>/tests"],
  // Short stacks: Pulumi's SDK captures one per promise, and Jest source-maps each (see the file).
  setupFilesAfterEnv: ["<rootDir>/tests/support/shortStacks.ts"],
};

/**
 * Integration files that may share the machine with another test file: none asserts on a time shorter than several
 * times what it waits for, or on a window of a second or two. The others stay in "integration", one at a time: they
 * measure elapsed times or rely on short windows (connection ages, drain delays, lock timeouts, retry back-offs,
 * progress lines every 200 ms), or they are the rehearsal, which measures the cut-over. A new integration file
 * starts there; list it here once it is known not to depend on timing.
 */
const PARALLEL_INTEGRATION = [
  "app-python/pythonApp",
  "app/databaseReadiness",
  "app/pack",
  "app/packInterrupt",
  "app/pgGoalStore",
  "components/artifactBlobHost",
  "components/cliEntry",
  "delivery/previewStacks",
  "delivery/promotionRoute",
  "delivery/releaseCheck",
  "delivery/releaseCheck.repo",
  "migrator/deployFetchOnly",
  "migrator/lint/command",
  "migrator/lint/postgresTwins",
  "migrator/mssqlRunner",
  "migrator/runMigrationsScript",
  "release/flipBack",
  "release/healthGateScript",
  "release/releaseGuardHost",
  "release/smokeChecks",
  "release/watchSignals",
  "rehearsal/gate",
  "support/postgres",
  "vm-scripts/agentWatch",
  "vm-scripts/azuriteArtifact",
  "vm-scripts/keyVaultSecret",
].map((file) => `/tests/${file.replace(/\./g, "\\.")}\\.int\\.test\\.ts$`);

module.exports = {
  // A worker that holds more than this after a file is restarted: whole-program runs under mocks grow a worker's heap
  // to several GB, and garbage collection then costs more than a new worker (measured: the unit tier 353 s → 261 s).
  workerIdleMemoryLimit: "1500MB",
  testTimeout: 120000, // runs of the whole program under mocks take seconds each, more on a loaded machine
  projects: [
    { ...common, displayName: "unit", testMatch: ["**/*.test.ts"], testPathIgnorePatterns: ["\\.int\\.test\\.ts$", "/node_modules/"] },
    { ...common, displayName: "integration", testMatch: ["**/*.int.test.ts"], testPathIgnorePatterns: ["/node_modules/", ...PARALLEL_INTEGRATION] },
    { ...common, displayName: "integration-parallel", testRegex: PARALLEL_INTEGRATION, testPathIgnorePatterns: ["/node_modules/"] },
  ],
};
