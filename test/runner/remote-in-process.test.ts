/** The runner contract through connect() to a real `flight-runner serve` scheduling the runners in process. */
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/index.js';
import { servedRunners } from '../helpers/contract-matrix.js';
import { runnerContract } from './contract.js';

runnerContract('remote, scheduled in process', async () => {
  const server = await servedRunners(fileURLToPath(new URL('../helpers/contract-runners.ts', import.meta.url)), 'in-process');
  const client = await connect(server.uri);
  return {
    client,
    close: async () => {
      client.close();
      await server.close();
    },
  };
});
