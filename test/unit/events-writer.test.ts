/**
 * src/events/ writer: EventLog stamps, redacts, writes and broadcasts; appendRunEvent (the
 * reaper's) appends one line; both end a torn last line first, so a new line is never
 * glued to the line a killed writer left unfinished.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendRunEvent, EventLog, readRunEventsFile, type EventRedactor, type RunEvent } from '../../src/events/index.js';

const dir = mkdtempSync(join(tmpdir(), 'keelhaul-events-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const path = (): string => join(dir, `events-${(n += 1)}.jsonl`);

const reaped: RunEvent = { ts: '2026-01-01T00:00:00.000Z', run: 'r1', type: 'run.reaped', containers: 1, networks: 0, volumes: 2, deadControllerPid: 4242 };

describe('EventLog', () => {
  it('event log: stamps ts and run, writes one JSON line per event, broadcasts the same object, returns it', async () => {
    const file = path();
    const log = new EventLog('r1', file);
    const heard: RunEvent[] = [];
    const unsubscribe = log.subscribe((e) => heard.push(e));
    const before = Date.now();
    const first = log.emit({ type: 'attempt.lost', task: 't-01', attempt: 1, reason: 'gone' });
    unsubscribe();
    log.emit({ type: 'run.aborted', reason: 'stop' });
    await log.close();
    expect(first).toMatchObject({ run: 'r1', type: 'attempt.lost', task: 't-01', attempt: 1, reason: 'gone' });
    expect(Date.parse(first.ts)).toBeGreaterThanOrEqual(before);
    expect(heard).toEqual([first]);
    const text = readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(
      text
        .split('\n')
        .slice(0, -1)
        .map((l) => JSON.parse(l) as RunEvent),
    ).toEqual([first, expect.objectContaining({ type: 'run.aborted' })]);
    expect(Object.keys(JSON.parse(text.split('\n')[0]!) as object).slice(0, 3)).toEqual(['ts', 'run', 'type']);
  });

  it('event log: the redactor sees every event before it is written or broadcast', async () => {
    const file = path();
    const redactor: EventRedactor = { value: <T>(v: T): T => JSON.parse(JSON.stringify(v).replaceAll('hunter2', '[REDACTED:PW]')) as T };
    const log = new EventLog('r1', file, { redactor });
    const heard: RunEvent[] = [];
    log.subscribe((e) => heard.push(e));
    log.emit({ type: 'run.aborted', reason: 'password hunter2 rejected' });
    await log.close();
    expect(heard[0]).toMatchObject({ reason: 'password [REDACTED:PW] rejected' });
    expect(readFileSync(file, 'utf8')).not.toContain('hunter2');
  });

  it('event log: after close, events reach listeners only; backlog is 0', async () => {
    const file = path();
    const log = new EventLog('r1', file);
    await log.close();
    const heard: string[] = [];
    log.subscribe((e) => heard.push(e.type));
    log.emit({ type: 'run.aborted', reason: 'late' });
    expect(heard).toEqual(['run.aborted']);
    expect(log.backlog).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('event log: appending to a file whose last line is torn ends that line first; the reader then reports it, not the new event', async () => {
    const file = path();
    writeFileSync(file, `${JSON.stringify(reaped)}\n{"ts":"2026-01-01T00:00:00.000Z","run":"r1","ty`);
    const log = new EventLog('r1', file);
    const resumed = log.emit({ type: 'run.resumed', controllerPid: 7, previousControllers: 1 });
    await log.close();
    const { events, invalidLines } = await readRunEventsFile(file);
    expect(events).toEqual([reaped, resumed]);
    expect(invalidLines).toEqual([expect.objectContaining({ line: 2, problem: 'not-json' })]);
  });

  it('event log: a file that ends with a newline is appended to as is', async () => {
    const file = path();
    writeFileSync(file, `${JSON.stringify(reaped)}\n`);
    const log = new EventLog('r1', file);
    log.emit({ type: 'run.aborted', reason: 'x' });
    await log.close();
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(3);
  });
});

describe('appendRunEvent', () => {
  it('append: creates a missing file with one line', async () => {
    const file = path();
    await appendRunEvent(file, reaped);
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(reaped)}\n`);
  });

  it('append: after a torn last line the appended event stays readable (the torn line is reported)', async () => {
    const file = path();
    writeFileSync(file, '{"ts":"2026-01-01T00:00:00.000Z","run":"r1","type":"attempt.runn');
    await appendRunEvent(file, reaped);
    const { events, invalidLines } = await readRunEventsFile(file);
    expect(events).toEqual([reaped]);
    expect(invalidLines.map((l) => [l.line, l.problem])).toEqual([[1, 'not-json']]);
  });

  it('append: rejects with the file system error when the file cannot be opened', async () => {
    await expect(appendRunEvent(join(dir, 'no-such-dir', 'events.jsonl'), reaped)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
