/** The SDK contract through connect() to a real `flight-runner serve`, its runner scheduled in process. */
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/index.js';
import { servedRunners } from '../helpers/contract-matrix.js';
import { sdkContract } from './sdk-contract.js';

sdkContract('remote, scheduled in process', async () => {
  const server = await servedRunners(fileURLToPath(new URL('./sdk-runners.ts', import.meta.url)), 'in-process');
  const client = await connect(server.uri);
  const bigint = await connect(server.uri, { int64: 'bigint' });
  return {
    client,
    bigint,
    close: async () => {
      client.close();
      bigint.close();
      await server.close();
    },
  };
});
