import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { packageRoot } from '../version.js';
import type { CheckResult } from './invariants.js';

// ajv-formats is CommonJS: under ESM its default export can arrive wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

let validator: ((value: unknown) => { ok: boolean; errors: string }) | undefined;

/** Compiles docs/events.schema.json (draft 2020-12, discriminated by `type`) once. */
function eventValidator(): (value: unknown) => { ok: boolean; errors: string } {
  if (!validator) {
    const ajv = new Ajv2020({ discriminator: true, allErrors: true, strict: false });
    addFormats(ajv);
    const schema = JSON.parse(readFileSync(join(packageRoot, 'docs', 'events.schema.json'), 'utf8')) as object;
    const validate = ajv.compile(schema);
    validator = (value) => ({ ok: validate(value) === true, errors: ajv.errorsText(validate.errors) });
  }
  return validator;
}

/**
 * Every event the run recorded validates against docs/events.schema.json — the one
 * schema of events.jsonl that users' tools read.
 */
export function checkEventSchema(events: readonly unknown[]): CheckResult {
  const validate = eventValidator();
  const evidence: string[] = [];
  events.forEach((event, i) => {
    const { ok, errors } = validate(event);
    if (!ok) evidence.push(`event ${i + 1} (${String((event as { type?: unknown }).type)}): ${errors}`);
  });
  return {
    name: 'event-schema',
    ok: evidence.length === 0 && events.length > 0,
    expected: 'every event of events.jsonl validates against docs/events.schema.json',
    observed: `${events.length - evidence.length} of ${events.length} events valid`,
    evidence: evidence.slice(0, 20),
  };
}

/**
 * {@link checkEventSchema} one event at a time, keeping only a count and the first 20
 * failures: a run's events are never all held in memory (a worker flooding 10,000
 * events/s would otherwise grow the controller by every event it sent).
 */
export function createEventSchemaCheck(): { observe(event: unknown): void; result(): CheckResult } {
  const validate = eventValidator();
  const evidence: string[] = [];
  let count = 0;
  let invalid = 0;
  return {
    observe(event) {
      count += 1;
      const { ok, errors } = validate(event);
      if (ok) return;
      invalid += 1;
      if (evidence.length < 20) evidence.push(`event ${count} (${String((event as { type?: unknown }).type)}): ${errors}`);
    },
    result() {
      return {
        name: 'event-schema',
        ok: invalid === 0 && count > 0,
        expected: 'every event of events.jsonl validates against docs/events.schema.json',
        observed: `${count - invalid} of ${count} events valid`,
        evidence: [...evidence],
      };
    },
  };
}
