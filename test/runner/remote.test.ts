/** The runner contract, with the test runners behind a real Flight server on loopback. */
import { connect, startRunnerServer } from '../../src/index.js';
import { loadTestRunners } from '../helpers/runners.js';
import { runnerContract } from './contract.js';

runnerContract('remote', async () => {
  const server = await startRunnerServer({ runners: await loadTestRunners(), listen: [{ host: '127.0.0.1', port: 0 }] });
  await server.registry.ready();
  const client = await connect(server.location);
  return {
    client,
    close: async () => {
      client.close();
      await server.close(1000);
    },
  };
});
