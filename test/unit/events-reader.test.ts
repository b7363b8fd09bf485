/**
 * src/events/ reader: the one tolerant, streaming reader of events.jsonl (torn last line,
 * malformed lines with their numbers, blank lines, empty and missing files, big files).
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventsFileReadError, readRunEventLines, readRunEventsFile, type RunEvent, type RunEventLine } from '../../src/events/index.js';
import { failedEvents } from './report-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'keelhaul-events-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(text: string): string {
  const path = join(dir, `events-${(n += 1)}.jsonl`);
  writeFileSync(path, text);
  return path;
}
const lines = (events: readonly RunEvent[]): string => events.map((e) => `${JSON.stringify(e)}\n`).join('');

async function all(path: string): Promise<RunEventLine[]> {
  const out: RunEventLine[] = [];
  for await (const entry of readRunEventLines(path)) out.push(entry);
  return out;
}

describe('readRunEventsFile', () => {
  it('events reader: a complete file gives every event, in order, and no invalid line', async () => {
    const events = failedEvents();
    expect(await readRunEventsFile(file(lines(events)))).toEqual({ events, invalidLines: [], lines: events.length });
  });

  it('events reader: a torn last line (no newline) is skipped and reported as torn with its line number', async () => {
    const events = failedEvents().slice(0, 5);
    const whole = JSON.stringify(failedEvents()[5]);
    const { events: read, invalidLines } = await readRunEventsFile(file(`${lines(events)}${whole.slice(0, whole.length / 2)}`));
    expect(read).toEqual(events);
    expect(invalidLines).toEqual([{ line: 6, problem: 'torn', error: expect.stringMatching(/^not JSON \(/), text: whole.slice(0, whole.length / 2) }]);
  });

  it('events reader: a last line without a newline that is a whole event is an event (the cut fell before the newline)', async () => {
    const events = failedEvents().slice(0, 3);
    const { events: read, invalidLines } = await readRunEventsFile(file(lines(events).slice(0, -1)));
    expect(read).toEqual(events);
    expect(invalidLines).toEqual([]);
  });

  it('events reader: a malformed middle line is reported with its line number and reading goes on', async () => {
    const [a, b] = failedEvents();
    const { events, invalidLines } = await readRunEventsFile(file(`${JSON.stringify(a)}\n{"ts":"2026-01-01T00:00:00.000Z","ru\n${JSON.stringify(b)}\n`));
    expect(events).toEqual([a, b]);
    expect(invalidLines).toHaveLength(1);
    expect(invalidLines[0]).toMatchObject({ line: 2, problem: 'not-json', text: '{"ts":"2026-01-01T00:00:00.000Z","ru' });
    expect(invalidLines[0]!.error).toMatch(/^not JSON \(/);
  });

  it('events reader: JSON that is not an event is named and keeps its value; an unknown type is an event', async () => {
    const [a] = failedEvents();
    const unknown = { ts: '2026-01-01T00:00:00.000Z', run: 'r', type: 'from.the-future', x: 1 };
    const text = [JSON.stringify(a), '[1,2]', '{"ts":"x","run":"r"}', 'null', JSON.stringify(unknown)].join('\n') + '\n';
    const { events, invalidLines } = await readRunEventsFile(file(text));
    expect(events).toEqual([a, unknown]);
    expect(invalidLines).toEqual([
      { line: 2, problem: 'not-an-event', error: 'not a JSON object', text: '[1,2]', value: [1, 2] },
      { line: 3, problem: 'not-an-event', error: '`type` must be a non-empty string', text: '{"ts":"x","run":"r"}', value: { ts: 'x', run: 'r' } },
      { line: 4, problem: 'not-an-event', error: 'not a JSON object', text: 'null', value: null },
    ]);
  });

  it('events reader: blank lines are neither events nor invalid but count for line numbers; CRLF reads as LF', async () => {
    const [a, b] = failedEvents();
    const text = [JSON.stringify(a), '', '   ', 'oops', JSON.stringify(b), ''].join('\r\n');
    const entries = await all(file(text));
    expect(entries.map((e) => [e.kind, e.line])).toEqual([
      ['event', 1],
      ['blank', 2],
      ['blank', 3],
      ['invalid', 4],
      ['event', 5],
    ]);
    expect(entries[3]).toMatchObject({ problem: 'not-json', text: 'oops' });
    expect((await readRunEventsFile(file(text))).lines).toBe(5);
  });

  it('events reader: an empty file has no events', async () => {
    expect(await readRunEventsFile(file(''))).toEqual({ events: [], invalidLines: [], lines: 0 });
  });

  it('events reader: a missing file rejects with EventsFileReadError (code ENOENT, cause), or is empty when told', async () => {
    const missing = join(dir, 'nope.jsonl');
    const error = await readRunEventsFile(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventsFileReadError);
    expect(error).toMatchObject({ name: 'EventsFileReadError', code: 'ENOENT', path: missing });
    expect((error as Error).cause).toMatchObject({ code: 'ENOENT' });
    expect(await readRunEventsFile(missing, { missing: 'empty' })).toEqual({ events: [], invalidLines: [], lines: 0 });
  });

  it('events reader: a directory rejects with EventsFileReadError (EISDIR) even when a missing file would be empty', async () => {
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    await expect(readRunEventsFile(sub, { missing: 'empty' })).rejects.toMatchObject({ name: 'EventsFileReadError', code: 'EISDIR' });
  });
});

describe('readRunEventLines streams', () => {
  it('events reader: 200,000 events with multi-byte text and a 1 MiB line across chunk boundaries read exactly', async () => {
    const path = join(dir, 'big.jsonl');
    const out = createWriteStream(path);
    const base = { ts: '2026-01-01T00:00:00.000Z', run: 'r', type: 'attempt.lost', attempt: 1 };
    for (let i = 0; i < 200_000; i++) {
      const line = `${JSON.stringify({ ...base, task: `t-${i}`, reason: i === 100_000 ? 'é'.repeat(512 * 1024) : `née ${i} ✓` })}\n`;
      if (!out.write(line)) await new Promise((resolve) => out.once('drain', resolve));
    }
    await new Promise((resolve) => out.end(resolve));
    let count = 0;
    const wrong: string[] = [];
    for await (const entry of readRunEventLines(path)) {
      const e = entry.kind === 'event' ? (entry.event as Extract<RunEvent, { type: 'attempt.lost' }>) : undefined;
      const reason = count === 100_000 ? 'é'.repeat(512 * 1024) : `née ${count} ✓`;
      if (entry.line !== count + 1 || e?.task !== `t-${count}` || e.reason !== reason) wrong.push(`line ${entry.line}: ${entry.kind}`);
      count += 1;
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(count).toBe(200_000);
  }, 60_000);

  it('events reader: yields a line as soon as it is written (a pipe still open), before the file ends', async () => {
    const fifo = join(dir, 'events.fifo');
    execFileSync('mkfifo', [fifo]);
    const [a, b] = failedEvents();
    const lines = readRunEventLines(fifo)[Symbol.asyncIterator]();
    const first = lines.next();
    const writer = await open(fifo, 'w');
    await writer.write(`${JSON.stringify(a)}\n`);
    expect(await first).toEqual({ done: false, value: { kind: 'event', line: 1, event: a } });
    await writer.write(`${JSON.stringify(b)}\n`);
    expect(await lines.next()).toEqual({ done: false, value: { kind: 'event', line: 2, event: b } });
    await writer.close();
    expect(await lines.next()).toEqual({ done: true, value: undefined });
  });

  it('events reader: breaking out of the loop closes the file', async () => {
    const path = file(lines(failedEvents()));
    const iterator = readRunEventLines(path);
    for await (const entry of iterator) {
      expect(entry.line).toBe(1);
      break;
    }
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });
});
