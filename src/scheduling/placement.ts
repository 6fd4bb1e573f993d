/**
 * Instance groups: how many instances of a runner, where, and with how many threads.
 * `auto` reads the hardware so that instances x threads fit the cores (oversubscribing
 * cores makes every instance slower), and gives each GPU one instance.
 */
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { InstancesConfig } from '../config/schema.js';

/** What a config may say about a runner's instances (`scheduling.instances`; schema in src/config/schema.ts). */
export type InstanceGroupConfig = InstancesConfig;

/** The decided placement. */
export interface Placement {
  count: number;
  kind: 'cpu' | 'gpu';
  /** Device of each instance (gpu), or undefined (cpu). */
  devices: (number | undefined)[];
  threadsPerInstance: number;
}

/** The hardware placement reads. */
export interface Hardware {
  cores: number;
  gpus: number[];
}

/** Cores from the OS; GPUs from /dev/nvidia<N> device files (none on CPU-only machines). */
export function detectHardware(): Hardware {
  let gpus: number[] = [];
  try {
    if (existsSync('/dev')) {
      gpus = readdirSync('/dev').flatMap((f) => { const m = /^nvidia(\d+)$/.exec(f); return m ? [Number(m[1])] : []; }).sort((a, b) => a - b);
    }
  } catch { /* no /dev: no GPUs */ }
  return { cores: availableParallelism(), gpus };
}

/**
 * Decides counts and threads.
 *
 * @example
 * decidePlacement({ count: 'auto' }, { cores: 8, gpus: [] }) // 4 instances x 2 threads
 */
export function decidePlacement(config: InstanceGroupConfig = {}, hw: Hardware = detectHardware()): Placement {
  const kind = config.kind ?? 'cpu';
  if (kind === 'gpu') {
    const devices = config.devices ?? hw.gpus;
    if (!devices.length) throw new Error('instance kind gpu, but no GPU was found (no /dev/nvidia<N>); use kind: cpu');
    const count = config.count === 'auto' || config.count === undefined ? devices.length : config.count;
    return { count, kind, devices: Array.from({ length: count }, (_, i) => devices[i % devices.length]), threadsPerInstance: config.threadsPerInstance ?? 1 };
  }
  const count = config.count === 'auto' ? Math.max(1, Math.min(hw.cores, 4)) : Math.max(1, config.count ?? 1);
  const threadsPerInstance = config.threadsPerInstance ?? Math.max(1, Math.floor(hw.cores / count));
  return { count, kind, devices: Array.from({ length: count }, () => undefined), threadsPerInstance };
}
