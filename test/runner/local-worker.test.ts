/** The runner contract with the test runners in this process (local()), in worker threads as `serve` runs them (the JS default). */
import { runnerContractIn } from './contract.js';

runnerContractIn('local', 'worker');
