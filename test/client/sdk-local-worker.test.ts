/** The SDK contract through local(), its runner scheduled in worker threads as `serve` schedules it. */
import { fileURLToPath } from 'node:url';
import { local } from '../../src/index.js';
import { scheduledRunners } from '../helpers/contract-matrix.js';
import { sdkContract } from './sdk-contract.js';

sdkContract('local, scheduled in worker threads', async () => {
  const scheduled = await scheduledRunners(fileURLToPath(new URL('./sdk-runners.ts', import.meta.url)), 'worker');
  const client = await local(scheduled.runners);
  const bigint = await local(scheduled.runners, { int64: 'bigint' });
  return {
    client,
    bigint,
    close: async () => {
      client.close();
      bigint.close();
      await scheduled.close();
    },
  };
});
