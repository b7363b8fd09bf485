import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEventsFile } from '../../src/report/events-file.js';
import { failedEvents } from './report-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'keelhaul-events-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('readEventsFile', () => {
  it('events file: reads every line of a complete log, in order', async () => {
    const events = failedEvents();
    const { events: read, invalidLines } = await readEventsFile(file('complete.jsonl', events.map((e) => JSON.stringify(e)).join('\n') + '\n'));
    expect(invalidLines).toEqual([]);
    expect(read).toEqual(events);
  });

  it('events file: a last line cut short by a crash is reported with its line number, not thrown', async () => {
    const events = failedEvents().slice(0, 5);
    const whole = JSON.stringify(failedEvents()[5]);
    const text = `${events.map((e) => JSON.stringify(e)).join('\n')}\n${whole.slice(0, whole.length / 2)}`;
    const { events: read, invalidLines } = await readEventsFile(file('truncated.jsonl', text));
    expect(read).toEqual(events);
    expect(invalidLines).toHaveLength(1);
    expect(invalidLines[0]!.line).toBe(6);
    expect(invalidLines[0]!.error).toMatch(/^not JSON/);
  });

  it('events file: blank lines are skipped but counted; CRLF is fine; non-events are named', async () => {
    const [a, b] = failedEvents();
    const text = [JSON.stringify(a), '', '[1,2]', '{"ts":"x","run":"r"}', `${JSON.stringify(b)}\r`, '   '].join('\r\n');
    const { events, invalidLines } = await readEventsFile(file('mixed.jsonl', text));
    expect(events).toEqual([a, b]);
    expect(invalidLines).toEqual([
      { line: 3, error: 'not a JSON object' },
      { line: 4, error: '`type` must be a non-empty string' },
    ]);
  });

  it('events file: an empty file has no events', async () => {
    expect(await readEventsFile(file('empty.jsonl', ''))).toEqual({ events: [], invalidLines: [] });
  });

  it('events file: a missing file rejects with ENOENT', async () => {
    await expect(readEventsFile(join(dir, 'nope.jsonl'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
