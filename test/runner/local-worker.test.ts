/** The runner contract through local(), with the runners scheduled in worker threads as `serve` schedules them. */
import { fileURLToPath } from 'node:url';
import { local } from '../../src/index.js';
import { scheduledRunners } from '../helpers/contract-matrix.js';
import { runnerContract } from './contract.js';

runnerContract('local, scheduled in worker threads', async () => {
  const scheduled = await scheduledRunners(fileURLToPath(new URL('../helpers/contract-runners.ts', import.meta.url)), 'worker');
  const client = await local(scheduled.runners);
  return {
    client,
    close: async () => {
      client.close();
      await scheduled.close();
    },
  };
});
