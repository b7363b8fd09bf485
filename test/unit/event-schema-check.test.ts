/**
 * checkEventsFile (src/checks/event-schema.ts) over src/events/'s reader: a clean file
 * passes, and each kind of bad line fails it with its line number — stricter than the
 * reader's tolerance, which skips what the check must report.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkEventsFile } from '../../src/checks/event-schema.js';
import { failedEvents } from './report-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'keelhaul-event-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string): string {
  const path = join(dir, `events-${(n += 1)}.jsonl`);
  writeFileSync(path, text);
  return path;
}
const good = failedEvents()
  .map((e) => `${JSON.stringify(e)}\n`)
  .join('');
const count = failedEvents().length;

describe('checkEventsFile', () => {
  it('event-schema check: every line of a clean file is valid', async () => {
    const c = await checkEventsFile(file(good));
    expect(c).toMatchObject({ name: 'event-schema', ok: true, observed: `${count} of ${count} lines valid`, evidence: [] });
  });

  it('event-schema check: a torn last line, a malformed line, a blank line, an unknown type and a non-event each fail it, by line', async () => {
    const text = `${good}{"ts":"2026-11-22T00:00:00.000Z","run":"x","ty\n\n{"ts":"2026-11-22T00:00:00.000Z","run":"x","type":"attempt.bogus"}\n{"ts":"x","run":"r"}\n{"ts":"2026-11-22T00:00:00.000Z","run":"x","type":"run.aborted","reason":"cut`;
    const c = await checkEventsFile(file(text));
    expect(c.ok).toBe(false);
    expect(c.observed).toBe(`${count} of ${count + 5} lines valid`);
    expect(c.evidence[0]).toMatch(new RegExp(`^line ${count + 1}: not JSON \\(`));
    expect(c.evidence[1]).toBe(`line ${count + 2}: not JSON (a blank line)`);
    expect(c.evidence[2]).toMatch(new RegExp(`^line ${count + 3} \\(attempt\\.bogus\\): `));
    expect(c.evidence[3]).toMatch(new RegExp(`^line ${count + 4} \\(undefined\\): .*type`));
    expect(c.evidence[4]).toMatch(new RegExp(`^line ${count + 5}: not JSON \\(.*\\) \\(the last line, cut short: no newline\\): `));
  });

  it('event-schema check: an event with an extra field fails it', async () => {
    const c = await checkEventsFile(file(`${good}${JSON.stringify({ ...failedEvents()[0], extra: 1 })}\n`));
    expect(c.ok).toBe(false);
    expect(c.evidence).toEqual([expect.stringMatching(new RegExp(`^line ${count + 1} \\(run\\.started\\): .*additional`))]);
  });

  it('event-schema check: an empty or missing file fails it without throwing', async () => {
    expect(await checkEventsFile(file(''))).toMatchObject({ ok: false, observed: 'events.jsonl has no line' });
    const missing = await checkEventsFile(join(dir, 'nope.jsonl'));
    expect(missing.ok).toBe(false);
    expect(missing.evidence[0]).toMatch(/nope\.jsonl: cannot be read \(ENOENT/);
  });
});
