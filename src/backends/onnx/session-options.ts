/**
 * onnxruntime session options from configuration: threads, graph optimization level,
 * execution providers. Providers the installed build lacks are dropped with a warning
 * rather than failing the load, so one config serves CPU and GPU machines.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { log } from '../../util/log.js';

/** The options a config may set for an ONNX runner. */
export interface OnnxSessionConfig {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** In order of preference, e.g. ['cuda', 'cpu']. Default ['cpu']. */
  executionProviders?: string[];
  /** GPU device of this instance (placement sets it per instance). */
  deviceId?: number;
}

/** Builds onnxruntime SessionOptions, keeping only providers this build supports. */
export function sessionOptions(config: OnnxSessionConfig, supported: readonly string[], model: string): InferenceSession.SessionOptions {
  const wanted = config.executionProviders ?? ['cpu'];
  const providers = wanted.filter((p) => {
    const ok = supported.includes(p);
    if (!ok) log('warn', 'execution provider not available; skipped', { model, provider: p, available: supported });
    return ok;
  });
  const withDevice = providers.map((p) => (p !== 'cpu' && config.deviceId !== undefined ? { name: p, deviceId: config.deviceId } : p));
  return {
    executionProviders: (withDevice.length ? withDevice : ['cpu']) as InferenceSession.SessionOptions['executionProviders'],
    ...(config.intraOpNumThreads !== undefined ? { intraOpNumThreads: config.intraOpNumThreads } : {}),
    ...(config.interOpNumThreads !== undefined ? { interOpNumThreads: config.interOpNumThreads } : {}),
    graphOptimizationLevel: config.graphOptimizationLevel ?? 'all',
  };
}
