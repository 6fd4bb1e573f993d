/** The SDK contract with its runner behind a real `flight-runner serve`, in worker threads (the JS default). */
import { sdkContractIn } from './sdk-contract.js';

sdkContractIn('remote', 'worker');
