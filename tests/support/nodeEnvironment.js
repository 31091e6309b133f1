// Jest's Node environment, plus one global: the worker's real `process` (`__realProcess`).
// The Pulumi program under mocks reports a failed resource or a failed read-back the way the Pulumi language host
// sees it: as promise rejections nobody awaits (the host turns them into a failed update). Jest would count them
// against the running test; tests/support/pulumiProgram.ts collects them as the update's failures instead, by
// swapping the real process's listeners while a run is in progress.
const { TestEnvironment } = require("jest-environment-node");

class PulumiTestEnvironment extends TestEnvironment {
    constructor(config, context) {
        super(config, context);
        this.global.__realProcess = process;
    }
}

module.exports = PulumiTestEnvironment;
