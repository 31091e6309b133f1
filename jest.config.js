// Two tiers. "unit" needs nothing but Node (target: under 60 s on 2 cores).
// "integration" starts real servers: PostgreSQL, HAProxy, app processes (*.int.test.ts).
// `npm test` runs both; `npm run test:unit` runs the fast tier only.
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

module.exports = {
  testTimeout: 120000, // runs of the whole program under mocks take seconds each, more on a loaded machine
  projects: [
    { ...common, displayName: "unit", testMatch: ["**/*.test.ts"], testPathIgnorePatterns: ["\\.int\\.test\\.ts$", "/node_modules/"] },
    { ...common, displayName: "integration", testMatch: ["**/*.int.test.ts"] },
  ],
};
