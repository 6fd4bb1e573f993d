/** The runner contract with the test runners in this process (local()), unscheduled. */
import { runnerContractIn } from './contract.js';

runnerContractIn('local', 'none');
