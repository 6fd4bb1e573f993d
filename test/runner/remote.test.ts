/** The runner contract with the test runners behind a real Flight server on loopback (connect()), unscheduled. */
import { runnerContractIn } from './contract.js';

runnerContractIn('remote', 'none');
