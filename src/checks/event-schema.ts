import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { EventsFileReadError, readRunEventLines } from '../events/index.js';
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
 * Every line of an events.jsonl file parses as JSON and validates against
 * docs/events.schema.json: the file as written, read back line by line with src/events/'s
 * streaming reader (never whole), so that what another writer, a torn write or a
 * serialisation slip put in it is caught too, not only what the controller meant to write.
 * Stricter than the reader's tolerance: a torn last line, a blank line and a line that is
 * JSON but no event all fail the check. Evidence names line numbers (1-based), at most 20.
 *
 * @param path the run's events.jsonl; a missing file fails the check, it does not throw
 */
export async function checkEventsFile(path: string): Promise<CheckResult> {
  const validate = eventValidator();
  const evidence: string[] = [];
  let lines = 0;
  let invalid = 0;
  const note = (problem: string): void => {
    invalid += 1;
    if (evidence.length < 20) evidence.push(problem);
  };
  const check = (line: number, event: unknown): void => {
    const { ok, errors } = validate(event);
    if (!ok) note(`line ${line} (${String((event as { type?: unknown } | null)?.type)}): ${errors}`);
  };
  try {
    for await (const entry of readRunEventLines(path)) {
      lines = entry.line;
      if (entry.kind === 'event') check(entry.line, entry.event);
      else if (entry.kind === 'blank') note(`line ${entry.line}: not JSON (a blank line)`);
      // JSON but not an event (no `type`, an array): the schema says what is wrong with it.
      else if (entry.problem === 'not-an-event') check(entry.line, entry.value);
      else note(`line ${entry.line}: ${entry.error}${entry.problem === 'torn' ? ' (the last line, cut short: no newline)' : ''}: ${entry.text.slice(0, 120)}`);
    }
  } catch (error) {
    const cause = error instanceof EventsFileReadError ? error.cause : error;
    note(`${path}: cannot be read (${cause instanceof Error ? cause.message : String(cause)})`);
  }
  return {
    name: 'event-schema',
    ok: invalid === 0 && lines > 0,
    expected: 'every line of events.jsonl is JSON that validates against docs/events.schema.json',
    observed: lines === 0 ? 'events.jsonl has no line' : `${lines - invalid} of ${lines} lines valid`,
    evidence,
  };
}
