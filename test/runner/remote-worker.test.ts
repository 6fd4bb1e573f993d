/** The runner contract with the test runners behind a real `flight-runner serve`, in worker threads (the JS default). */
import { runnerContractIn } from './contract.js';

runnerContractIn('remote', 'worker');
