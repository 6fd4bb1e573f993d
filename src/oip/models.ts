/**
 * V2 models are runner methods: `runner` names its default method, `runner.method` any
 * method. This file resolves names and describes models the V2 way: metadata, Triton's
 * model configuration, and statistics from the same `stats` the Flight action reports.
 */
import { FlightError } from '../flight/index.js';
import { methodOf } from '../runner/call.js';
import { describe } from '../runner/model-metadata.js';
import type { RunnerRegistry } from '../runner/registry.js';
import { defaultMethod, type Runner, type RunnerMethod } from '../runner/runner.js';
import type { StatsRegistry } from '../runner/stats.js';
import { configDataType } from './datatypes.js';

/** A resolved model. */
export interface ModelRef {
  /** The name the client used. */
  name: string;
  runner: Runner;
  method: RunnerMethod;
}

/**
 * max_batch_size of a batchable method that declares no row limit: the server takes any
 * number of rows (the scheduler splits large calls), and int32 is the field's range.
 */
export const UNLIMITED_BATCH = 2147483647;

/** Every model name clients may use: each runner (when it has a default method) and each `runner.method`. */
export function modelNames(registry: RunnerRegistry): string[] {
  const states = registry.states();
  return registry.names().flatMap((name) => {
    if (states[name] !== 'ready') return [name];
    const runner = registry.get(name);
    return [...(defaultMethod(runner) ? [name] : []), ...runner.methods.map((m) => `${name}.${m.signature.name}`)];
  });
}

/**
 * The runner method a model name (and version: empty for any) addresses; NOT_FOUND for
 * an unknown model, method or version, UNAVAILABLE for a runner loading or failed.
 */
export function resolveModel(registry: RunnerRegistry, name: string, version: string): ModelRef {
  if (!name) throw FlightError.invalidArgument('the request names no model: set the model name');
  // A few names: a scan, not a Set built per call.
  const runners = registry.names();
  let ref: ModelRef;
  if (runners.includes(name)) {
    const runner = registry.get(name);
    ref = { name, runner, method: methodOf(runner, undefined) };
  } else {
    const dot = name.lastIndexOf('.');
    const runnerName = dot > 0 ? name.slice(0, dot) : undefined;
    if (!runnerName || !runners.includes(runnerName)) {
      const known = modelNames(registry).map((n) => `'${n}'`).join(', ') || 'none';
      throw FlightError.notFound(`unknown model '${name.slice(0, 100)}'; models: ${known}`);
    }
    const runner = registry.get(runnerName);
    ref = { name, runner, method: methodOf(runner, name.slice(dot + 1)) };
  }
  if (version && !ref.runner.versions.includes(version)) {
    throw FlightError.notFound(`model '${name}' has no version '${version.slice(0, 40)}'; versions: ${ref.runner.versions.map((v) => `'${v}'`).join(', ')}`);
  }
  return ref;
}

/** Whether a model name resolves to a ready runner method (never throws: readiness probes ask it). */
export function modelReady(registry: RunnerRegistry, name: string, version: string): boolean {
  try {
    resolveModel(registry, name, version);
    return true;
  } catch {
    return false;
  }
}

/** V2 model metadata: inputs and outputs with the rows first (-1). */
export function v2Metadata(ref: ModelRef): { name: string; versions: string[]; platform: string; inputs: V2TensorMeta[]; outputs: V2TensorMeta[] } {
  const sig = ref.method.signature;
  const tensors = (params: typeof sig.inputs) => params.flatMap((p) => describe(p))
    .map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape }));
  return { name: ref.name, versions: [...ref.runner.versions], platform: ref.runner.platform, inputs: tensors(sig.inputs), outputs: tensors(sig.outputs) };
}

/** One tensor of model metadata. */
export interface V2TensorMeta { name: string; datatype: string; shape: number[] }

/**
 * Triton's model configuration of a model: max_batch_size > 0 for a batchable method,
 * with dims that leave the batch dimension out; 0 and the full dims (rows first, -1)
 * for a method that is not batchable.
 */
export function v2Config(ref: ModelRef): Record<string, unknown> {
  const sig = ref.method.signature;
  const meta = v2Metadata(ref);
  const dims = (t: V2TensorMeta) => (sig.batchable ? t.shape.slice(1) : t.shape);
  return {
    name: ref.name,
    platform: ref.runner.platform,
    backend: ref.runner.platform,
    max_batch_size: sig.batchable ? (sig.limits?.maxBatchRows ?? UNLIMITED_BATCH) : 0,
    input: meta.inputs.map((t) => ({ name: t.name, data_type: configDataType(t.datatype), format: 'FORMAT_NONE', dims: dims(t) })),
    output: meta.outputs.map((t) => ({ name: t.name, data_type: configDataType(t.datatype), dims: dims(t) })),
    version_policy: { latest: { num_versions: 1 } },
    instance_group: [{ name: ref.name, kind: 'KIND_CPU', count: 1 }],
    model_transaction_policy: { decoupled: false },
  };
}

/**
 * Statistics of one model, or of every ready model (name empty), in Triton's form and
 * units (durations in ns, summed over calls), from the counters the `stats` action shows
 * and the batcher's time by phase: `queue` from admission to dispatch, `compute_input`
 * merging rows into the backend's input, `compute_infer` the backend call,
 * `compute_output` handing each call its rows back.
 */
export function v2Statistics(registry: RunnerRegistry, stats: StatsRegistry, name: string, version: string): Record<string, unknown>[] {
  const refs: ModelRef[] = name
    ? [resolveModel(registry, name, version)]
    : registry.readyRunners().flatMap((runner) => runner.methods.map((method) => ({
      name: method === defaultMethod(runner) ? runner.name : `${runner.name}.${method.signature.name}`, runner, method,
    })));
  return refs.map((ref) => {
    const s = stats.of(ref.runner.name, ref.method.signature.name);
    const ns = (ms: number) => Math.round(ms * 1e6);
    const phase = (ms: number) => ({ count: s.answered, ns: ns(ms) });
    return {
      name: ref.name,
      version: version || (ref.runner.versions[0] ?? ''),
      last_inference: s.lastCallAt,
      // Rows the model answered, as Triton counts inferences (a failed call's rows are not).
      inference_count: s.batchRowsTotal,
      execution_count: s.batches,
      inference_stats: {
        success: { count: s.calls - s.errors, ns: ns(s.okMs) },
        fail: { count: s.errors, ns: ns(s.failedMs) },
        queue: phase(s.queueMs),
        compute_input: phase(s.inputMs),
        compute_infer: phase(s.computeMs),
        compute_output: phase(s.outputMs),
        cache_hit: { count: 0, ns: 0 },
        cache_miss: { count: 0, ns: 0 },
      },
      batch_stats: [],
    };
  });
}
