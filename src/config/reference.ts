/**
 * The key reference of docs/configuration.md, generated from the schema's types and
 * descriptions so the doc cannot drift from what the loader accepts. A test checks the
 * doc holds exactly this text; `npm run docs:config` rewrites it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { backends } from '../backends/registry.js';
import { serveConfigSchema } from './schema.js';

/** One documented key. */
export interface ReferenceRow {
  /** e.g. `runners[].scheduling.batching.maxBatchRows`. */
  path: string;
  type: string;
  required: boolean;
  description: string;
}

/** Strips optional, effects (preprocess, refinements, transforms) and the like; keeps the first description met. */
function unwrap(schema: z.ZodTypeAny): { inner: z.ZodTypeAny; optional: boolean; description: string } {
  let s = schema;
  let optional = false;
  let description = s.description ?? '';
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) { optional = true; s = s._def.innerType; }
    else if (s instanceof z.ZodDefault) { optional = true; s = s._def.innerType; }
    else if (s instanceof z.ZodEffects) s = s._def.schema;
    else break;
    description ||= s.description ?? '';
  }
  return { inner: s, optional, description };
}

function typeName(schema: z.ZodTypeAny): string {
  const { inner } = unwrap(schema);
  if (inner instanceof z.ZodString) return 'string';
  if (inner instanceof z.ZodBoolean) return 'boolean';
  if (inner instanceof z.ZodNumber) {
    const checks = inner._def.checks;
    const min = checks.find((c) => c.kind === 'min') as { value: number } | undefined;
    const max = checks.find((c) => c.kind === 'max') as { value: number } | undefined;
    const kind = checks.some((c) => c.kind === 'int') ? 'integer' : 'number';
    if (min && max && max.value < Number.MAX_SAFE_INTEGER) return `${kind} ${min.value}..${max.value}`;
    return min ? `${kind} >= ${min.value}` : kind;
  }
  if (inner instanceof z.ZodEnum) return (inner._def.values as string[]).map((v) => `\`${v}\``).join(' \\| ');
  if (inner instanceof z.ZodLiteral) return `\`${String(inner._def.value)}\``;
  if (inner instanceof z.ZodUnion) return (inner._def.options as z.ZodTypeAny[]).map(typeName).join(' \\| ');
  if (inner instanceof z.ZodArray) return `list of ${typeName(inner._def.type)}`;
  if (inner instanceof z.ZodRecord) return `mapping: name -> ${typeName(inner._def.valueType)}`;
  if (inner instanceof z.ZodObject) return 'mapping';
  if (inner instanceof z.ZodUnknown) return 'mapping';
  return 'value';
}

/** Every key under `schema`, depth first, with `prefix` as the path of `schema` itself. */
export function referenceRows(schema: z.ZodTypeAny, prefix = ''): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  const visit = (s: z.ZodTypeAny, path: string) => {
    const { inner } = unwrap(s);
    if (inner instanceof z.ZodObject) {
      for (const [key, child] of Object.entries(inner.shape as z.ZodRawShape)) {
        const childPath = path ? `${path}.${key}` : key;
        const { optional, description } = unwrap(child);
        rows.push({ path: childPath, type: typeName(child), required: !optional, description });
        visit(child, childPath);
      }
    } else if (inner instanceof z.ZodArray) {
      visit(inner._def.type, `${path}[]`);
    } else if (inner instanceof z.ZodRecord) {
      visit(inner._def.valueType, `${path}.<name>`);
    }
  };
  visit(schema, prefix);
  return rows;
}

function table(rows: ReferenceRow[]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    '| Key | Type | Meaning |',
    '| --- | --- | --- |',
    ...rows.map((r) => `| \`${r.path}\` | ${r.type}${r.required ? ' (required)' : ''} | ${cell(r.description)} |`),
  ].join('\n');
}

/** The generated reference, as it stands in docs/configuration.md: the config file, then each backend's options. */
export function configReference(): string {
  const backendSections = backends().flatMap((backend) => {
    const rows = referenceRows(backend.options, 'runners[].options');
    return [
      '',
      `### \`runners[].options\` for the ${backend.name} backend`,
      '',
      rows.length ? table(rows) : `${unwrap(backend.options).description} Any key here is an error.`,
    ];
  });
  return ['### The config file', '', table(referenceRows(serveConfigSchema)), ...backendSections].join('\n');
}

/** The markers around the generated part of docs/configuration.md. */
export const REFERENCE_BEGIN = '<!-- BEGIN reference: generated from src/config/schema.ts by `npm run docs:config`; do not edit by hand -->';
export const REFERENCE_END = '<!-- END reference -->';

/** docs/configuration.md with its reference section replaced by the current one. */
export function withReference(doc: string): string {
  const begin = doc.indexOf(REFERENCE_BEGIN);
  const end = doc.indexOf(REFERENCE_END);
  if (begin < 0 || end < begin) throw new Error(`docs/configuration.md lacks the markers ${REFERENCE_BEGIN} ... ${REFERENCE_END}`);
  return `${doc.slice(0, begin + REFERENCE_BEGIN.length)}\n\n${configReference()}\n\n${doc.slice(end)}`;
}

// `tsx src/config/reference.ts` (npm run docs:config) rewrites the doc.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = fileURLToPath(new URL('../../docs/configuration.md', import.meta.url));
  writeFileSync(file, withReference(readFileSync(file, 'utf8')));
  process.stdout.write(`wrote the reference in ${file}\n`);
}
