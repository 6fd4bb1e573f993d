/** The SDK contract with its runner in this process (local()), unscheduled. */
import { sdkContractIn } from './sdk-contract.js';

sdkContractIn('local', 'none');
