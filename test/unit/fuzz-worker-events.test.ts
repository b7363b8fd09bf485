/**
 * Property tests (fast-check) over the worker-event parser and the controller's
 * line-splitting stream path: arbitrary lines never throw and a rejected line comes with a
 * reason; arbitrary chunking of a byte stream yields the same events, and every garbage
 * line is reported with its line number. Fixed seed, so a failure reproduces.
 */
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { followWorkerEventLines } from '../../src/backends/event-lines.js';
import { parseWorkerEventLine, type WorkerEvent } from '../../src/worker/events.js';

const SEED = 20261122;
/** Each property takes about a second alone; on a CPU shared with other suites, far longer. Not a performance bound. */
const FUZZ_TIMEOUT_MS = 120_000;

/** A valid event of any known (or a custom) type, with its required fields. */
const validEvent = fc
  .record({
    type: fc.constantFrom('task.started', 'task.progress', 'heartbeat', 'task.completed', 'task.failed', 'custom.note'),
    task: fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }),
    attempt: fc.integer({ min: 1, max: 9 }),
    seq: fc.integer({ min: 1, max: 1_000_000 }),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    reason: fc.string({ minLength: 1, maxLength: 10, unit: 'grapheme' }),
    extra: fc.string({ maxLength: 20, unit: 'grapheme' }),
  })
  .map(({ type, task, attempt, seq, fraction, reason, extra }) => {
    const event: Record<string, unknown> = { ts: '2026-11-22T04:00:00.000Z', type, run: 'r-1', task, attempt, seq, extra };
    if (type === 'task.progress') event['fraction'] = fraction;
    if (type === 'task.failed') event['reason'] = reason;
    return event;
  });

/** A line that is not an event: log text, broken JSON, JSON of the wrong shape, control characters. */
const garbageLine = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.constantFrom(
      '{',
      '{"ts":',
      '{}',
      '[]',
      'null',
      '{"type":"task.progress"}',
      'npm WARN deprecated',
      '\u0000\u0001',
      '{"ts":"x","type":"heartbeat","run":"r","task":"t","attempt":0}',
      '{"__proto__":{"ts":"x"}}',
    ),
    fc.json().filter((j) => j.startsWith('{')),
  )
  // One line: a newline would make it two; blank lines are not reported at all.
  .map((s) => s.replace(/[\r\n]/g, ' '))
  .filter((s) => s.trim() !== '' && !parseWorkerEventLine(s).ok);

describe('worker-event parser fuzzing (fast-check)', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('fuzz: parseWorkerEventLine never throws, and a rejected line says why', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (line) => {
          const parsed = parseWorkerEventLine(line);
          if (!parsed.ok) expect(parsed.error.length).toBeGreaterThan(0);
          else expect(typeof parsed.event.type).toBe('string');
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('fuzz: any JSON object with the common fields of the wrong type is rejected with the field named', () => {
    const field = fc.constantFrom('ts', 'type', 'run', 'task', 'attempt');
    fc.assert(
      fc.property(validEvent, field, fc.jsonValue(), (event, name, value) => {
        const broken = { ...event, [name]: value };
        const parsed = parseWorkerEventLine(JSON.stringify(broken));
        if (!parsed.ok) expect(parsed.error).toContain(`\`${name}\``);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('fuzz: valid events survive the parser unchanged', () => {
    fc.assert(
      fc.property(validEvent, (event) => {
        const parsed = parseWorkerEventLine(JSON.stringify(event));
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(parsed.event).toEqual(event);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});

/** Feeds `bytes` to followWorkerEventLines in the given chunk sizes, `\n` or `\r\n` line ends. */
async function follow(
  bytes: Buffer,
  cuts: readonly number[],
): Promise<{ events: WorkerEvent[]; invalid: { line: string; lineNumber: number; error: string }[]; eventLines: number[] }> {
  const input = new PassThrough();
  const events: WorkerEvent[] = [];
  const eventLines: number[] = [];
  const invalid: { line: string; lineNumber: number; error: string }[] = [];
  const followed = followWorkerEventLines(input, {
    onEvent: (event, lineNumber) => {
      events.push(event);
      eventLines.push(lineNumber);
    },
    onInvalidLine: (line, error, lineNumber) => invalid.push({ line, lineNumber, error }),
  });
  let offset = 0;
  for (const cut of cuts) {
    if (offset >= bytes.length) break;
    input.write(bytes.subarray(offset, offset + cut));
    offset += cut;
  }
  if (offset < bytes.length) input.write(bytes.subarray(offset));
  input.end();
  await followed.closed;
  return { events, invalid, eventLines };
}

describe('controller line-splitting stream fuzzing (fast-check)', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('fuzz: arbitrary chunking of a stream of events and garbage yields the same events, and each garbage line is reported with its line number', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            { weight: 3, arbitrary: validEvent.map((e) => ({ kind: 'event' as const, e })) },
            { weight: 2, arbitrary: garbageLine.map((g) => ({ kind: 'garbage' as const, g })) },
          ),
          { minLength: 1, maxLength: 25 },
        ),
        fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 200 }),
        fc.boolean(),
        fc.boolean(),
        async (lines, cuts, crlf, finalNewline) => {
          const eol = crlf ? '\r\n' : '\n';
          const texts = lines.map((l) => (l.kind === 'event' ? JSON.stringify(l.e) : l.g));
          const bytes = Buffer.from(texts.join(eol) + (finalNewline ? eol : ''), 'utf8');
          const whole = await follow(bytes, [bytes.length]);
          const chunked = await follow(bytes, cuts);
          // The same events in the same order, however the bytes were cut (even inside a UTF-8 character).
          const expected = lines.flatMap((l) => (l.kind === 'event' ? [l.e] : []));
          expect(chunked.events).toEqual(expected);
          expect(whole.events).toEqual(expected);
          expect(chunked.eventLines).toEqual(lines.flatMap((l, i) => (l.kind === 'event' ? [i + 1] : [])));
          // Every garbage line reported once, with its 1-based line number and a reason.
          const garbage = lines.flatMap((l, i) => (l.kind === 'garbage' ? [{ lineNumber: i + 1, line: l.g.replace(/\r$/, '') }] : []));
          expect(chunked.invalid.map(({ lineNumber, line }) => ({ lineNumber, line: line.replace(/\r$/, '') }))).toEqual(garbage);
          for (const i of chunked.invalid) expect(i.error.length).toBeGreaterThan(0);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });
});
