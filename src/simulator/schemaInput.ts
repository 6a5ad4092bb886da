/**
 * Tool inputs from a tool's `input_schema`: the simulated model fills every required property
 * (and some optional ones) with plausible values — query-like strings from the task, URLs
 * under the simulated domain, small numbers inside the bounds, `false`, the first enum value,
 * one-item arrays — so the input validates against the schema the client declared.
 */
import type { Random } from './random.ts';
import { SIMULATED_WEB_DOMAIN, slugOf } from './web.ts';

/** What string values are made from. */
export interface InputHints {
  /** A query-like phrase about the task. */
  query: string;
  /** A URL under the simulated domain. */
  url: string;
}

type Schema = Record<string, unknown>;

const MAX_DEPTH = 8;

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Resolves a local `$ref` (`#/$defs/X`, `#/definitions/X`, any JSON pointer into the root). */
function resolveRef(ref: string, root: Schema): Schema | null {
  if (!ref.startsWith('#')) return null;
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = isSchema(node) ? node[key] : undefined;
  }
  return isSchema(node) ? node : null;
}

function typeOf(schema: Schema): string | null {
  const type = schema['type'];
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return (type.find((item) => item !== 'null' && typeof item === 'string') as string | undefined) ?? 'null';
  if (isSchema(schema['properties'])) return 'object';
  if (schema['items'] !== undefined) return 'array';
  return null;
}

function numberOr(value: unknown, fallback: number | null): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** A small number inside the schema's bounds (integers stay integers). */
function numberFor(schema: Schema, integer: boolean, random: Random): number {
  const exclusiveMin = numberOr(schema['exclusiveMinimum'], null);
  const exclusiveMax = numberOr(schema['exclusiveMaximum'], null);
  const step = integer ? 1 : 0.5;
  let low = numberOr(schema['minimum'], exclusiveMin !== null ? exclusiveMin + step : null) ?? 1;
  let high = numberOr(schema['maximum'], exclusiveMax !== null ? exclusiveMax - step : null) ?? low + 4;
  if (integer) {
    low = Math.ceil(low);
    high = Math.floor(high);
  }
  if (high < low) return low;
  // Small values: near the low end of the range.
  const span = Math.min(high - low, 4);
  const value = low + (integer ? random.int(span + 1) : Math.round(random.next() * span * 2) / 2);
  return Math.min(high, value);
}

function stringFor(name: string, schema: Schema, hints: InputHints): string {
  const format = typeof schema['format'] === 'string' ? schema['format'] : '';
  const key = name.toLowerCase();
  let value: string;
  if (/^(uri|url|iri|uri-reference)$/.test(format) || /url|uri|link|href|website|webpage|page_?address/.test(key)) value = hints.url;
  else if (format === 'date-time') value = '2026-01-15T09:00:00Z';
  else if (format === 'date' || /date/.test(key)) value = '2026-01-15';
  else if (format === 'email' || /email/.test(key)) value = `researcher@${SIMULATED_WEB_DOMAIN}`;
  else if (/(^|_)(lang|language|locale)$/.test(key)) value = 'en';
  else if (/(^|_)id$|slug|key$/.test(key)) value = slugOf(hints.query);
  else value = hints.query;
  const maxLength = numberOr(schema['maxLength'], null);
  const minLength = numberOr(schema['minLength'], null) ?? 0;
  if (maxLength !== null && value.length > maxLength) value = value.slice(0, Math.max(0, maxLength)).trimEnd();
  if (value.length < minLength) value = value.padEnd(minLength, value.length > 0 ? ` ${value}` : 'x');
  return value;
}

function valueFor(name: string, schema: Schema, root: Schema, hints: InputHints, random: Random, depth: number): unknown {
  if (depth > MAX_DEPTH) return null;
  if (typeof schema['$ref'] === 'string') {
    const target = resolveRef(schema['$ref'], root);
    return target ? valueFor(name, target, root, hints, random, depth + 1) : hints.query;
  }
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) return schema['enum'][0];
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const branches = schema[key];
    if (Array.isArray(branches)) {
      const branch = branches.find((item) => isSchema(item) && item['type'] !== 'null');
      if (isSchema(branch)) return valueFor(name, { ...schema, [key]: undefined, ...branch }, root, hints, random, depth + 1);
    }
  }
  switch (typeOf(schema)) {
    case 'object':
      return objectFor(schema, root, hints, random, depth + 1);
    case 'array': {
      const items = Array.isArray(schema['items']) ? schema['items'][0] : schema['items'];
      const count = Math.max(1, numberOr(schema['minItems'], null) ?? 1);
      const itemSchema = isSchema(items) ? items : {};
      return Array.from({ length: count }, () => valueFor(name, itemSchema, root, hints, random, depth + 1));
    }
    case 'integer':
      return numberFor(schema, true, random);
    case 'number':
      return numberFor(schema, false, random);
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return stringFor(name, schema, hints);
  }
}

function objectFor(schema: Schema, root: Schema, hints: InputHints, random: Random, depth: number): Record<string, unknown> {
  const properties = isSchema(schema['properties']) ? schema['properties'] : {};
  const required = new Set(Array.isArray(schema['required']) ? schema['required'].filter((key): key is string => typeof key === 'string') : []);
  const input: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(properties)) {
    // Required properties always; an optional one now and then, as a model sometimes adds them.
    if (!required.has(key) && random.int(3) !== 0) continue;
    input[key] = valueFor(key, isSchema(property) ? property : {}, root, hints, random, depth);
  }
  for (const key of required) if (!(key in input)) input[key] = hints.query;
  return input;
}

/** An input object for a tool whose `input_schema` is `schema` (an object schema). */
export function inputFromSchema(schema: Record<string, unknown>, hints: InputHints, random: Random): Record<string, unknown> {
  return objectFor(schema, schema, hints, random, 0);
}
