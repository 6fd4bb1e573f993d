/** The runner contract with the test runners in this process (local()), scheduled in process as `serve` schedules them. */
import { runnerContractIn } from './contract.js';

runnerContractIn('local', 'in-process');
