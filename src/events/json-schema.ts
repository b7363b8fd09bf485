import { z } from 'zod';
import { RUN_EVENT_TYPES, runEventSchema } from './schema.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * What zod adds that the hand-written schema never said, removed so that the file keeps
 * its meaning and its small keyword set (draft 2020-12 validators in users' tools, and the
 * test validator in test/unit/report-schema.test.ts, which refuses keywords it does not know):
 * - `minimum`/`maximum` of ±2^53-1 on every integer (zod's safe-integer bound);
 * - `pattern` beside `format: date-time` (zod's own regex for its ISO check);
 * - `propertyNames: {type: string}` and `additionalProperties: {}` of records and loose
 *   objects (both say "any", which is the default);
 * - `readOnly` from `.readonly()` (a TypeScript matter, not a rule for the data).
 */
function tidy(node: Json): Json {
  if (Array.isArray(node)) return node.map(tidy);
  if (node === null || typeof node !== 'object') return node;
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'maximum' && value === Number.MAX_SAFE_INTEGER) || (key === 'minimum' && value === Number.MIN_SAFE_INTEGER)) continue;
    if (key === 'pattern' && node['format'] === 'date-time') continue;
    if (key === 'propertyNames' || key === 'readOnly') continue;
    if (key === 'additionalProperties' && typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0) continue;
    out[key] = tidy(value);
  }
  return out;
}

/**
 * The run-event schema as JSON Schema (draft 2020-12): one line of events.jsonl, a `oneOf`
 * of closed branches discriminated by `type` (ajv's `discriminator` keyword), each
 * requiring `ts`, `run` and `type` first. Generated from {@link runEventSchema}; written to
 * docs/events.schema.json by `npm run schema`, and a unit test keeps the file current.
 * src/checks/event-schema.ts validates every line of a run's events.jsonl against the file.
 */
export function eventsJsonSchema(): Record<string, unknown> {
  const generated = tidy(z.toJSONSchema(runEventSchema, { io: 'input', target: 'draft-2020-12' }) as Json) as { [key: string]: Json };
  const { oneOf, $defs } = generated;
  if (!Array.isArray(oneOf)) throw new Error('zod rendered the run-event union without oneOf: check eventsJsonSchema against the zod version');
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'urn:keelhaul:schema:event:1',
    title: 'keelhaul events.jsonl line',
    description:
      'One line of .keelhaul/runs/<run-id>/events.jsonl: one RunEvent (src/events/schema.ts), discriminated by `type`. Every event has `ts` (ISO 8601, UTC) and `run` (the run id). Durations and offsets are milliseconds. The terminal shows the same events, rendered.',
    type: 'object',
    required: ['ts', 'run', 'type'],
    properties: {
      ts: { $ref: '#/$defs/timestamp' },
      run: { $ref: '#/$defs/runId' },
      type: { enum: [...RUN_EVENT_TYPES] },
    },
    discriminator: { propertyName: 'type' },
    oneOf: oneOf.map((branch) => {
      // Branch keys in a reader's order: title and description before the fields.
      if (branch === null || typeof branch !== 'object' || Array.isArray(branch)) return branch;
      const { title, description, ...rest } = branch;
      return { ...(title !== undefined ? { title } : {}), ...(description !== undefined ? { description } : {}), ...rest };
    }),
    $defs: $defs ?? {},
  };
}
