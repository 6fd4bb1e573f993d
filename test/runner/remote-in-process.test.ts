/** The runner contract with the test runners behind a real `flight-runner serve`, scheduled in process. */
import { runnerContractIn } from './contract.js';

runnerContractIn('remote', 'in-process');
