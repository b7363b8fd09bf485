import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/controller/index.js';
import { createRunOutput, eventLevel, parseLogLevel, RunProgress } from '../../src/cli/run-output.js';
import { failedEvents } from './report-fixtures.js';

const ev = (event: Record<string, unknown>): RunEvent => ({ ts: '2026-01-01T12:00:00.000Z', run: 'r1', ...event }) as unknown as RunEvent;

/** A CliIo that records lines and, when `tty`, raw terminal writes. */
function recordingIo(tty: boolean) {
  const out: string[] = [];
  const err: string[] = [];
  const raw: string[] = [];
  return {
    out: (l: string) => {
      out.push(l);
      raw.push(`${l}\n`);
    },
    err: (l: string) => err.push(l),
    ...(tty ? { tty: { write: (t: string) => raw.push(t), columns: 120 } } : {}),
    lines: out,
    errors: err,
    raw,
  };
}

const started = ev({ type: 'run.started', scenario: 's', seed: 1, image: 'i', network: 'none', tasks: 2, concurrency: 2, runDir: '/tmp/r' });
const running = ev({ type: 'attempt.running', task: 't-01', attempt: 1, containerId: 'c'.repeat(64), containerName: 'kh-t-01-a1' });
const heartbeat = ev({ type: 'worker.event', task: 't-01', attempt: 1, event: { ts: '2026-01-01T12:00:00.100Z', type: 'heartbeat', run: 'r1', task: 't-01', attempt: 1 } });
const progress = ev({
  type: 'worker.event',
  task: 't-01',
  attempt: 1,
  event: { ts: '2026-01-01T12:00:00.200Z', type: 'task.progress', run: 'r1', task: 't-01', attempt: 1, fraction: 0.5, usage: { tokensIn: 300, tokensOut: 50, costUsd: 0.0021 } },
});
const failedCheck = ev({ type: 'check.result', name: 'budget', ok: false, expected: 'tokens ≤ 1', observed: '350 tokens' });
const okCheck = ev({ type: 'check.result', name: 'no-leaks', ok: true, expected: '0', observed: '0' });

describe('run output: levels, --json, the status line', () => {
  it('log level: --log-level takes winston npm levels and names the flag when wrong', () => {
    expect(parseLogLevel('warn')).toBe('warn');
    expect(() => parseLogLevel('loud')).toThrow('Expected `--log-level` to be one of error, warn, info, verbose, debug, got `loud`');
  });

  it('log level: every event type has a level; failures are errors, detail is verbose', () => {
    for (const e of failedEvents()) expect(['error', 'warn', 'info', 'verbose', 'debug']).toContain(eventLevel(e));
    expect(eventLevel(failedCheck)).toBe('error');
    expect(eventLevel(okCheck)).toBe('info');
    expect(eventLevel(heartbeat)).toBe('verbose');
    expect(eventLevel(running)).toBe('info');
  });

  it('not a TTY: one line per event, no escape sequence, filtered by level', () => {
    const io = recordingIo(false);
    const output = createRunOutput(io, { logLevel: 'info' });
    for (const e of [started, running, heartbeat, progress, okCheck, failedCheck]) output.onEvent(e);
    output.close();
    expect(io.lines[0]).toMatch(/^run r1: scenario s, seed 1/);
    expect(io.lines.some((l) => l.includes('t-01#1 running'))).toBe(true);
    expect(io.lines.some((l) => l.includes('heartbeat'))).toBe(false);
    expect(io.lines.filter((l) => l === 'checks:')).toHaveLength(1);
    expect(io.raw.join('')).not.toContain('\x1b');
    expect(io.raw.join('')).not.toContain('\r');

    const errorsOnly = recordingIo(false);
    const quiet = createRunOutput(errorsOnly, { logLevel: 'error' });
    for (const e of [started, running, heartbeat, okCheck, failedCheck]) quiet.onEvent(e);
    expect(errorsOnly.lines).toEqual(['  FAIL budget: 350 tokens (expected tokens ≤ 1)']);

    const verbose = recordingIo(false);
    const loud = createRunOutput(verbose, { logLevel: 'verbose' });
    loud.onEvent(heartbeat);
    expect(verbose.lines).toEqual(['  t-01#1 heartbeat']);
  });

  it('--json: every event as one JSON line, nothing else, whatever the level', () => {
    const io = recordingIo(true);
    const output = createRunOutput(io, { json: true, logLevel: 'error' });
    for (const e of [started, heartbeat, okCheck]) output.onEvent(e);
    output.close();
    expect(io.lines.map((l) => JSON.parse(l) as RunEvent)).toEqual([started, heartbeat, okCheck]);
    expect(io.raw.join('')).not.toContain('\x1b');
  });

  it('TTY: a status line under the event lines, erased before each line and redrawn after it', () => {
    const io = recordingIo(true);
    const output = createRunOutput(io, {});
    output.onEvent(started);
    output.onEvent(running);
    output.onEvent(progress);
    output.onEvent(
      ev({
        type: 'fault.injected',
        fault: { faultId: 'f1', kind: 'kill', trigger: 'at 1 s', status: 'injected', firedAt: '2026-01-01T12:00:01.000Z', offsetMs: 1000, params: {}, targets: [] },
      }),
    );
    const text = io.raw.join('');
    const statuses = text.split('\r\x1b[2K').filter((s) => s.startsWith('['));
    expect(statuses.at(-1)).toMatch(/^\[\d+\.\d s\] done 0\/2, running 1, failed 0 \| faults 1 \| tokens 350 \(\$0\.0021\)$/);
    // Each event line starts on an erased row: the status line never mixes with it.
    expect(text).toContain('\r\x1b[2K  t-01#1 running');
    output.onEvent(ev({ type: 'run.finished', status: 'passed', durationMs: 10, reportPath: '/tmp/r/report.json' }));
    output.close();
    expect(io.raw.join('').endsWith('report: /tmp/r/report.json\n')).toBe(true);
  });

  it('progress: counts tasks done and failed, running attempts, faults and usage', () => {
    const p = new RunProgress();
    p.observe(started);
    p.observe(running);
    p.observe(ev({ type: 'attempt.exited', task: 't-01', attempt: 1, containerId: 'c', exitCode: 0, oomKilled: false, outcome: 'completed', durationMs: 5 }));
    p.observe(ev({ type: 'task.finished', task: 't-01', outcome: 'completed', attempts: 1 }));
    p.observe(ev({ type: 'task.finished', task: 't-02', outcome: 'failed', attempts: 3 }));
    p.observe(progress);
    expect(p.line(Date.parse('2026-01-01T12:00:02.500Z'))).toBe('[2.5 s] done 1/2, running 0, failed 1 | faults 0 | tokens 350 ($0.0021)');
  });
});
