/** The `kserve` backend: models on a V2 (Open Inference Protocol) server, called over gRPC. */
export { loadKserveRunner, type KserveRunnerOptions } from './kserve-runner.js';
