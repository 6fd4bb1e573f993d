/** The SDK contract with its runner in this process (local()), in worker threads as `serve` runs them (the JS default). */
import { sdkContractIn } from './sdk-contract.js';

sdkContractIn('local', 'worker');
