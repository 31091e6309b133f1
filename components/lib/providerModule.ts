/**
 * Loading a dynamic provider's implementation in Pulumi's dynamic provider host, a plain Node process without ts-node:
 * by its absolute path, compiled JavaScript as it is, TypeScript through the project's own ts-node (registered once,
 * transpile-only). The providers' serialized shims capture only this function and two strings (the paths), so the
 * serializer never has to capture the implementation's imports (components/releaseGuard.ts explains why).
 */

/** Requires the module at `implementation` (absolute, without extension), registering ts-node from `projectRoot` if needed. */
export function requireProviderModule<T>(implementation: string, projectRoot: string): T {
    try {
        return require(implementation) as T;
    } catch (error) {
        if ((error as { code?: string }).code !== "MODULE_NOT_FOUND") throw error;
        const tsNode = require(require.resolve("ts-node", { paths: [projectRoot] }));
        tsNode.register({ transpileOnly: true, projectSearchDir: projectRoot, compilerOptions: { module: "commonjs" } });
        return require(implementation) as T;
    }
}
