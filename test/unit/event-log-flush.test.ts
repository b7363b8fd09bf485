/**
 * EventLog.flush(): every event emitted before it is in the file when it resolves, in
 * order, and events emitted while it reopens the file follow them — the event-schema
 * check reads the file right after a flush.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventLog } from '../../src/events/index.js';

const dir = mkdtempSync(join(tmpdir(), 'keelhaul-eventlog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('EventLog.flush', () => {
  it('event log: 20,000 events emitted in one burst are all in the file when flush resolves; later ones follow in order', async () => {
    const path = join(dir, 'events.jsonl');
    const log = new EventLog('r1', path);
    for (let i = 0; i < 20_000; i++) log.emit({ type: 'attempt.lost', task: `t-${i}`, attempt: 1, reason: 'x'.repeat(200) });
    const flushing = log.flush();
    // Emitted while the file is being reopened: held, then written after the first 20,000.
    log.emit({ type: 'attempt.lost', task: 'during', attempt: 1, reason: 'x' });
    await flushing;
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(20_000);
    expect(lines.slice(0, 20_000).map((l) => (JSON.parse(l) as { task: string }).task)).toEqual(Array.from({ length: 20_000 }, (_, i) => `t-${i}`));
    log.emit({ type: 'attempt.lost', task: 'after', attempt: 1, reason: 'x' });
    await log.close();
    const all = readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { task: string }).task);
    expect(all).toHaveLength(20_002);
    expect(all.slice(-2)).toEqual(['during', 'after']);
  });
});
