/** The SDK contract through a real Flight server on loopback: connect(). */
import { connect, loadJsRunner, startRunnerServer } from '../../src/index.js';
import { sdkContract } from './sdk-contract.js';
import { sdkRunner } from './sdk-runners.js';

sdkContract('remote', async () => {
  const server = await startRunnerServer({ runners: [await loadJsRunner(sdkRunner)], listen: [{ host: '127.0.0.1', port: 0 }] });
  await server.registry.ready();
  const client = await connect(server.location);
  const bigint = await connect(server.location, { int64: 'bigint' });
  return {
    client,
    bigint,
    close: async () => {
      client.close();
      bigint.close();
      await server.close(1000);
    },
  };
});
