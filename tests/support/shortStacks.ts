/**
 * Jest keeps 100 frames per stack and maps each through source maps when `.stack` is read. @pulumi/pulumi reads
 * `new Error().stack` for every promise it creates (runtime/debuggable.js, for its leak report), so a whole-program
 * run under mocks spent a third of its time formatting stacks nobody reads. Twelve frames still point at the failing
 * line of a test and of the code it calls.
 */
Error.stackTraceLimit = 12;
