import { describe, expect, it } from 'vitest';
import { judgeAttempt, type AttemptObservation } from '../../src/controller/judge.js';

const seen = (overrides: Partial<AttemptObservation> = {}): AttemptObservation => ({
  exitCode: 0,
  oomKilled: false,
  completedEvents: 0,
  failedReason: undefined,
  targetedBy: [],
  outputMayBeLost: false,
  ...overrides,
});

describe('judge: an attempt from what was observed', () => {
  it('judge: exit 0 with task.completed is completed with no reason', () => {
    expect(judgeAttempt(seen({ completedEvents: 1 }))).toEqual({ outcome: 'completed', reason: null });
  });

  it('judge: task.completed is the commit point: a kill after it is still completed', () => {
    expect(judgeAttempt(seen({ exitCode: 137, completedEvents: 1, targetedBy: ['kill-0'] }))).toEqual({ outcome: 'completed', reason: 'exit 137 after task.completed' });
  });

  it('judge: task.completed wins over the OOM killer', () => {
    expect(judgeAttempt(seen({ exitCode: 137, oomKilled: true, completedEvents: 2 })).outcome).toBe('completed');
  });

  it('judge: the OOM killer without task.completed is oom', () => {
    expect(judgeAttempt(seen({ exitCode: 137, oomKilled: true, targetedBy: ['kill-0'] }))).toEqual({ outcome: 'oom', reason: 'oom' });
  });

  it('judge: a signal exit of an attempt a fault hit is killed by that fault, with the worker reason', () => {
    expect(judgeAttempt(seen({ exitCode: 143, targetedBy: ['stop-0', 'kill-1'] }))).toEqual({ outcome: 'killed', reason: 'fault stop-0, kill-1' });
    expect(judgeAttempt(seen({ exitCode: 137, targetedBy: ['fill-0'], failedReason: 'disk_full' }))).toEqual({ outcome: 'killed', reason: 'fault fill-0 (disk_full)' });
  });

  it('judge: a worker a fault hit that failed by itself (exit ≤ 128) keeps its own reason', () => {
    expect(judgeAttempt(seen({ exitCode: 1, targetedBy: ['fill-0'], failedReason: 'disk_full' }))).toEqual({ outcome: 'failed', reason: 'disk_full' });
  });

  it('judge: exit 137 with no fault is a SIGKILL from outside keelhaul', () => {
    expect(judgeAttempt(seen({ exitCode: 137 }))).toEqual({ outcome: 'killed', reason: 'SIGKILL from outside keelhaul' });
  });

  it('judge: exit 0 without task.completed is failed, unless the output may have been lost in an outage', () => {
    expect(judgeAttempt(seen())).toEqual({ outcome: 'failed', reason: 'exited 0 without task.completed' });
    expect(judgeAttempt(seen({ outputMayBeLost: true }))).toEqual({ outcome: 'completed', reason: 'exit 0; its task.completed was lost with the daemon outage' });
  });

  it('judge: a lost output does not make a non-zero exit completed', () => {
    expect(judgeAttempt(seen({ exitCode: 2, outputMayBeLost: true }))).toEqual({ outcome: 'failed', reason: 'exit 2' });
  });

  it('judge: another exit is failed with the worker task.failed reason, else the exit code', () => {
    expect(judgeAttempt(seen({ exitCode: 1, failedReason: 'invalid_task' }))).toEqual({ outcome: 'failed', reason: 'invalid_task' });
    expect(judgeAttempt(seen({ exitCode: 3 }))).toEqual({ outcome: 'failed', reason: 'exit 3' });
    expect(judgeAttempt(seen({ exitCode: null }))).toEqual({ outcome: 'failed', reason: 'exit null' });
  });

  it('judge: an attempt the heartbeat watch killed is hung, naming the faults on it', () => {
    expect(judgeAttempt(seen({ exitCode: 137, hung: { silentMs: 2000 } }))).toEqual({ outcome: 'hung', reason: 'no event for 2000 ms' });
    expect(judgeAttempt(seen({ exitCode: 137, hung: { silentMs: 2000 }, targetedBy: ['pause-0'] }))).toEqual({ outcome: 'hung', reason: 'no event for 2000 ms (fault pause-0)' });
  });

  it('judge: hung before oom: the watch killed it, whatever the OOM flag says', () => {
    expect(judgeAttempt(seen({ exitCode: 137, oomKilled: true, hung: { silentMs: 500 } })).outcome).toBe('hung');
  });

  it('judge: a hung attempt that had reported task.completed is completed (commit point)', () => {
    expect(judgeAttempt(seen({ exitCode: 137, completedEvents: 1, hung: { silentMs: 500 } })).outcome).toBe('completed');
  });

  it('judge: a watch that fired on an attempt which then exited 0 does not make it hung', () => {
    expect(judgeAttempt(seen({ exitCode: 0, completedEvents: 1, hung: { silentMs: 500 } }))).toEqual({ outcome: 'completed', reason: null });
    expect(judgeAttempt(seen({ exitCode: 0, hung: { silentMs: 500 } })).outcome).toBe('failed');
  });
});
