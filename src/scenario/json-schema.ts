import { z } from 'zod';
import { EXTENSIBLE_FIELDS } from './load.js';
import { scenarioSchema } from './schema.js';

type JsonNode = Record<string, unknown>;

const isNode = (value: unknown): value is JsonNode => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What the loader ignores (load.ts, `stripIgnoredKeys`): `x-*` keys, said in the schema so editors accept them. */
const EXTENSION_KEYS = { '^x-': { description: 'An extension key (as in Compose): ignored by keelhaul, e.g. a home for YAML anchors.' } };

/** Adds `x-*` to an object schema's allowed keys, and to each branch of a union of them. */
function allowExtensions(node: unknown): void {
  if (!isNode(node)) return;
  for (const key of ['anyOf', 'oneOf']) {
    const branches = node[key];
    if (Array.isArray(branches)) branches.forEach(allowExtensions);
  }
  if (node['type'] === 'object' && isNode(node['properties'])) node['patternProperties'] = EXTENSION_KEYS;
}

/** Each object branch of `node` (itself, or the members of its anyOf/oneOf). */
function objectBranches(node: unknown): JsonNode[] {
  if (!isNode(node)) return [];
  const branches = [node['anyOf'], node['oneOf']].flatMap((b) => (Array.isArray(b) ? b : []));
  return branches.length > 0 ? branches.flatMap(objectBranches) : node['type'] === 'object' ? [node] : [];
}

/**
 * The scenario schema as JSON Schema (draft 2020-12), for editor completion and
 * validation outside keelhaul: what a scenario file may say (before defaults), with the keys
 * the loader ignores — `$schema` at the top, `x-*` where the loader strips them (the top
 * level, its mappings, tasks, faults and their trigger, target and params). Written to
 * docs/scenario.schema.json by `npm run schema`; a unit test keeps the file current.
 */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }) as JsonNode;
  const properties = schema['properties'] as JsonNode;
  schema['properties'] = { $schema: { type: 'string', description: 'The JSON Schema of this file, for editors; ignored by keelhaul.' }, ...properties };
  allowExtensions(schema);
  for (const field of EXTENSIBLE_FIELDS) allowExtensions(properties[field]);
  for (const branch of objectBranches(properties['tasks'])) allowExtensions(branch);
  for (const list of [properties['tasks'], ...objectBranches(properties['tasks'])]) {
    if (!isNode(list)) continue;
    for (const b of [list, ...[list['anyOf'], list['oneOf']].flatMap((x) => (Array.isArray(x) ? x : []))]) if (isNode(b) && b['type'] === 'array') allowExtensions(b['items']);
  }
  const faults = properties['faults'];
  for (const fault of objectBranches(isNode(faults) ? faults['items'] : undefined)) {
    allowExtensions(fault);
    const own = fault['properties'] as JsonNode;
    for (const key of ['trigger', 'target', 'params']) allowExtensions(own[key]);
    for (const trigger of objectBranches(own['trigger'])) {
      const t = trigger['properties'] as JsonNode;
      allowExtensions(t['on']);
      allowExtensions(t['when']);
    }
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://keelhaul.dev/schemas/scenario.schema.json',
    title: 'keelhaul scenario',
    ...schema,
  };
}
