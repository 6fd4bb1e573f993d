/** The SDK contract with its runner in this process (local()), scheduled in process as `serve` schedules them. */
import { sdkContractIn } from './sdk-contract.js';

sdkContractIn('local', 'in-process');
