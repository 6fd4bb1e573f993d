/** The runner contract, with the test runners in this process (local()). */
import { local } from '../../src/index.js';
import { loadTestRunners } from '../helpers/runners.js';
import { runnerContract } from './contract.js';

runnerContract('local', async () => {
  const client = await local(await loadTestRunners());
  return { client, close: async () => client.close() };
});
