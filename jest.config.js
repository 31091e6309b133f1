// Two tiers. "unit" needs nothing but Node (target: under 60 s on 2 cores).
// "integration" starts real servers: PostgreSQL, HAProxy, app processes (*.int.test.ts).
// `npm test` runs both; `npm run test:unit` runs the fast tier only.
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  // Pulumi keeps global state that Jest 30's globals cleanup would tear down between files.
  testEnvironmentOptions: { globalsCleanup: "off" },
  transform: {
    "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
  },
  roots: ["<rootDir>/tests"],
};

module.exports = {
  testTimeout: 30000,
  projects: [
    { ...common, displayName: "unit", testMatch: ["**/*.test.ts"], testPathIgnorePatterns: ["\\.int\\.test\\.ts$", "/node_modules/"] },
    { ...common, displayName: "integration", testMatch: ["**/*.int.test.ts"] },
  ],
};
