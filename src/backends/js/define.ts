/**
 * Runners written in TypeScript or JavaScript. A runner is a set of methods, each a
 * function of named, batch-first arguments with a declared signature.
 */
import type { TableFormat } from '../../codecs/columns.js';
import type { PayloadType } from '../../codecs/payload.js';
import type { CallParams } from '../../runner/runner.js';

/** One method of a JS runner. `State` is what `setup` returned. */
export interface JsMethod<State = unknown> {
  inputs: Record<string, PayloadType>;
  outputs: Record<string, PayloadType>;
  /** Each input row is one example (default true). */
  batchable?: boolean;
  /** The method `[runner]` alone addresses. */
  default?: boolean;
  doc?: string;
  /** Table inputs as danfo DataFrames (default) or Arrow RecordBatches. */
  tables?: TableFormat;
  /**
   * Runs a call. Arguments are batch-first (a tensor input of per-example shape [4]
   * arrives as a Tensor of shape [rows, 4]). Return the single output's value, or an
   * object keyed by output name.
   */
  run(args: Record<string, unknown>, params: CallParams, state: State): unknown;
}

/** A JS runner: methods plus optional setup (returning state) and teardown. */
export interface JsRunnerDefinition<State = unknown> {
  name: string;
  version?: string;
  setup?(): State | Promise<State>;
  teardown?(state: State): void | Promise<void>;
  methods: Record<string, JsMethod<State>>;
}

const RUNNER_MARK = Symbol.for('flight-runner.js-runner');

/**
 * Declares a JS runner. The returned object can be exported from a module that
 * `flight-runner serve` loads, or passed to `loadJsRunner` / `local()`.
 *
 * @example
 * export default defineRunner({
 *   name: 'scaler',
 *   methods: {
 *     scale: {
 *       inputs: { x: types.tensor('float32', [4]) },
 *       outputs: { y: types.tensor('float32', [4]) },
 *       run: ({ x }) => new Tensor('float32', (x as Tensor).data.map((v) => v * 2), (x as Tensor).shape),
 *     },
 *   },
 * });
 */
export function defineRunner<State>(definition: JsRunnerDefinition<State>): JsRunnerDefinition<State> {
  Object.defineProperty(definition, RUNNER_MARK, { value: true, enumerable: false });
  return definition;
}

/**
 * A runner from a class instance: each signature names a method of the instance,
 * called as `instance[name](args, params)`; `setup()` / `teardown()` run if present.
 *
 * @example
 * defineRunnerFromClass('counter', new Counter(), { count: { inputs: {...}, outputs: {...} } });
 */
export function defineRunnerFromClass<T extends object>(
  name: string, instance: T, signatures: Record<string, Omit<JsMethod<T>, 'run'>>,
): JsRunnerDefinition<T> {
  const target = instance as unknown as Record<string, unknown>;
  const methods: Record<string, JsMethod<T>> = {};
  for (const [method, sig] of Object.entries(signatures)) {
    if (typeof target[method] !== 'function') throw new TypeError(`class runner '${name}' has no method '${method}'`);
    methods[method] = { ...sig, run: (args, params) => (target[method] as (a: unknown, p: unknown) => unknown).call(instance, args, params) };
  }
  return defineRunner<T>({
    name,
    setup: async () => {
      await (target['setup'] as (() => unknown) | undefined)?.call(instance);
      return instance;
    },
    teardown: async () => {
      await (target['teardown'] as (() => unknown) | undefined)?.call(instance);
    },
    methods,
  });
}

/** True if a module export is a runner definition. */
export function isRunnerDefinition(x: unknown): x is JsRunnerDefinition {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[RUNNER_MARK] === true;
}

/**
 * A runner with one method from a plain function: the quickest way to serve a function.
 *
 * @example
 * export default defineFunction('double', {
 *   inputs: { x: types.scalar('float64') }, outputs: { y: types.scalar('float64') },
 * }, ({ x }) => (x as Float64Array).map((v) => v * 2));
 */
export function defineFunction(
  name: string, signature: Omit<JsMethod<undefined>, 'run'> & { method?: string },
  fn: (args: Record<string, unknown>, params: CallParams) => unknown,
): JsRunnerDefinition<undefined> {
  const { method = 'run', ...rest } = signature;
  return defineRunner<undefined>({ name, methods: { [method]: { ...rest, default: true, run: (args, params) => fn(args, params) } } });
}
