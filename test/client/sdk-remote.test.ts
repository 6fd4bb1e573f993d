/** The SDK contract with its runner behind a real Flight server on loopback (connect()), unscheduled. */
import { sdkContractIn } from './sdk-contract.js';

sdkContractIn('remote', 'none');
