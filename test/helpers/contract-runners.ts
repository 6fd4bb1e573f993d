/**
 * The contract suite's test runners as a module `serve` can load (and worker threads
 * import): one default export, so they load in the order the suite expects (a module's
 * named exports arrive sorted by name).
 */
import { testRunnerDefinitions } from './runners.js';

export default testRunnerDefinitions;
