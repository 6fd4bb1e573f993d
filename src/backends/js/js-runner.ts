/**
 * Loads a JS runner definition as a Runner: arguments decoded from the input batch by
 * the column codecs, results encoded back by the same codecs.
 */
import { batchToValues, valuesToBatch } from '../../codecs/columns.js';
import type { Runner, RunnerMethod } from '../../runner/runner.js';
import type { MethodSignature, ParamSpec } from '../../runner/signature.js';
import { NAME_PATTERN, outputSchema } from '../../runner/signature.js';
import type { JsMethod, JsRunnerDefinition } from './define.js';

function specs(record: Record<string, ParamSpec['type']>): ParamSpec[] {
  return Object.entries(record).map(([name, type]) => ({ name, type }));
}

/** The signature a JS method declares. */
export function jsSignature(name: string, method: JsMethod<never>): MethodSignature {
  if (!NAME_PATTERN.test(name)) throw new Error(`method name ${JSON.stringify(name)} must match [A-Za-z0-9_.-]+`);
  return {
    name,
    inputs: specs(method.inputs),
    outputs: specs(method.outputs),
    batchable: method.batchable ?? true,
    ...(method.default ? { isDefault: true } : {}),
    ...(method.doc ? { doc: method.doc } : {}),
  };
}

/** Names a single output's value, or checks an object of outputs. */
function outputsOf(result: unknown, outputs: ParamSpec[]): Record<string, unknown> {
  const isPlain = typeof result === 'object' && result !== null && Object.getPrototypeOf(result) === Object.prototype;
  if (outputs.length === 1) {
    const only = outputs[0]!.name;
    return isPlain && only in (result as object) ? (result as Record<string, unknown>) : { [only]: result };
  }
  if (!isPlain) {
    throw new TypeError(`the method has outputs ${outputs.map((o) => `'${o.name}'`).join(', ')}: return an object keyed by output name`);
  }
  return result as Record<string, unknown>;
}

/**
 * Runs `setup`, then serves the definition's methods.
 *
 * @example
 * const runner = await loadJsRunner(defineRunner({ name: 'echo', methods: { ... } }));
 */
export async function loadJsRunner<State>(definition: JsRunnerDefinition<State>): Promise<Runner> {
  const state = (await definition.setup?.()) as State;
  const methods: RunnerMethod[] = Object.entries(definition.methods).map(([name, method]) => {
    const signature = jsSignature(name, method as JsMethod<never>);
    return {
      signature,
      async invoke(input, params) {
        const args = batchToValues(signature.inputs, input, method.tables ?? 'dataframe');
        const result = await method.run(args, params, state);
        return valuesToBatch(signature.outputs, outputsOf(result, signature.outputs), undefined, outputSchema(signature));
      },
    };
  });
  return {
    name: definition.name,
    platform: 'js',
    versions: [definition.version ?? '1'],
    methods,
    close: async () => {
      await definition.teardown?.(state);
    },
  };
}
