/**
 * src/events/schema.ts is the one source of the run-event schema: docs/events.schema.json is
 * generated from it (and must be current), and the zod schema and the generated JSON Schema
 * (under ajv, as the event-schema check uses it) agree on what is an event.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { eventsJsonSchema, RUN_EVENT_TYPES, runEventSchema } from '../../src/events/index.js';
import { failedEvents } from './report-fixtures.js';

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

type JsonObject = { [key: string]: unknown };
const clone = <T>(v: T): JsonObject => JSON.parse(JSON.stringify(v)) as JsonObject;
const obj = (v: unknown): JsonObject => v as JsonObject;

describe('run-event JSON Schema', () => {
  it('docs/events.schema.json is the schema generated from the zod schema (run `npm run schema`)', () => {
    const onDisk = JSON.parse(readFileSync('docs/events.schema.json', 'utf8')) as unknown;
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(eventsJsonSchema())));
  });

  it('events schema: one branch per zod branch, in order, and the type enum lists them', () => {
    const schema = eventsJsonSchema() as { oneOf: { title: string }[]; properties: { type: { enum: string[] } } };
    expect(schema.oneOf.map((b) => b.title)).toEqual([...RUN_EVENT_TYPES]);
    expect(schema.properties.type.enum).toEqual([...RUN_EVENT_TYPES]);
    expect(JSON.stringify(schema)).not.toMatch(/"(pattern|propertyNames|readOnly)"/);
  });
});

describe('zod run-event schema and the generated JSON Schema agree', () => {
  const ajv = new Ajv2020({ discriminator: true, allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(eventsJsonSchema());
  const both = (value: unknown): { zod: boolean; ajv: boolean } => ({ zod: runEventSchema.safeParse(value).success, ajv: validate(value) === true });

  it('events schema: every fixture event (one of each type) is valid for both', () => {
    for (const event of failedEvents()) expect(both(clone(event)), event.type).toEqual({ zod: true, ajv: true });
  });

  it('events schema: both reject an extra field, a missing field, an unknown type, a bad time, a bad worker event, a bad outcome', () => {
    const events = failedEvents().map(clone);
    const started = events.find((e) => e.type === 'run.started')!;
    const exited = events.find((e) => e.type === 'attempt.exited')!;
    const progress = events.find((e) => e.type === 'worker.event' && obj(e.event).type === 'task.progress')!;
    const injected = events.find((e) => e.type === 'fault.injected')!;
    const { seed: _seed, ...noSeed } = started;
    const bad: [string, unknown][] = [
      ['extra field', { ...started, extra: 1 }],
      ['missing field', noSeed],
      ['no run', { ...started, run: '' }],
      ['unknown type', { ...started, type: 'run.exploded' }],
      ['bad ts', { ...started, ts: 'not a time' }],
      ['seed out of range', { ...started, seed: 2 ** 32 }],
      ['fraction missing', { ...progress, event: { ...obj(progress.event), fraction: undefined } }],
      ['fraction above 1', { ...progress, event: { ...obj(progress.event), fraction: 1.5 } }],
      ['outcome unknown', { ...exited, outcome: 'vanished' }],
      ['attempt 0', { ...exited, attempt: 0 }],
      ['fault record extra', { ...injected, fault: { ...obj(injected.fault), extra: true } }],
    ];
    for (const [what, value] of bad) expect(both(JSON.parse(JSON.stringify(value))), what).toEqual({ zod: false, ajv: false });
  });

  it('events schema: a worker event of a type the contract does not define, with its own fields, is valid for both', () => {
    const progress = failedEvents()
      .map(clone)
      .find((e) => e.type === 'worker.event' && obj(e.event).type === 'task.progress')!;
    const custom = { ...progress, event: { ts: 'x', type: 'agent.tool_call', run: 'r', task: 't', attempt: 1, tool: 'grep' } };
    expect(both(custom)).toEqual({ zod: true, ajv: true });
  });
});
