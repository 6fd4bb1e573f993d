/** The SDK contract with its runner behind a real `flight-runner serve`, scheduled in process. */
import { sdkContractIn } from './sdk-contract.js';

sdkContractIn('remote', 'in-process');
