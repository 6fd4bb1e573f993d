/** The SDK contract with its runners in this process: local() given the definition itself. */
import { local } from '../../src/index.js';
import { sdkContract } from './sdk-contract.js';
import { sdkRunner } from './sdk-runners.js';

sdkContract('local', async () => {
  const client = await local([sdkRunner]);
  const bigint = await local([sdkRunner], { int64: 'bigint' });
  return {
    client,
    bigint,
    close: async () => {
      client.close();
      bigint.close();
    },
  };
});
