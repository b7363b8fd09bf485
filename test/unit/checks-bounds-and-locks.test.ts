import { describe, expect, it } from 'vitest';
import {
  attemptIntervals,
  checkAttemptsWithinBound,
  checkLockExclusion,
  checkRecoveryTime,
  checkResourceStability,
  checkWorkspaceCompliance,
  type ContainerEventFact,
  type FaultFacts,
} from '../../src/checks/index.js';
import { conflictingLocks } from '../../src/checks/lock-exclusion.js';
import { isDeclared } from '../../src/checks/workspace-compliance.js';

const a = (task: string, attempt: number, outcome: 'completed' | 'killed' | 'lost' = 'completed', reason?: string) => ({
  task,
  attempt,
  outcome,
  containerId: outcome === 'lost' && reason?.startsWith('launch failed') ? '' : `${task}-c${attempt}`,
  ...(reason ? { reason } : {}),
});

describe('attempts-within-bound', () => {
  it('passes when every task stayed within the bound, naming the busiest task', () => {
    const r = checkAttemptsWithinBound([a('t-01', 1, 'killed'), a('t-01', 2), a('t-02', 1)], 3);
    expect(r.ok).toBe(true);
    expect(r.observed).toContain('at most 2 attempt(s) (t-01)');
  });
  it('fails for a task with more attempts than the bound, listing them', () => {
    const r = checkAttemptsWithinBound([a('t-01', 1, 'killed'), a('t-01', 2, 'killed'), a('t-01', 3)], 2);
    expect(r.ok).toBe(false);
    expect(r.evidence[0]).toBe('t-01: 3 attempts (#1 killed, #2 killed, #3 completed), bound 2');
  });
  it('does not count launches lost to a daemon going away (they spend no attempt)', () => {
    const r = checkAttemptsWithinBound([a('t-01', 1, 'lost', 'launch failed: ECONNREFUSED'), a('t-01', 2, 'lost', 'launch failed: x'), a('t-01', 3)], 1);
    expect(r.ok).toBe(true);
  });
});

describe('recovery-time', () => {
  const attempts = [a('t-01', 1, 'killed'), a('t-01', 2), a('t-02', 1)];
  const fault: FaultFacts = { faultId: 'f1', kind: 'kill', status: 'injected', targets: [{ containerId: 't-01-c1', task: 't-01', attempt: 1 }] };
  const ev = (action: string, containerId: string, ms: number): ContainerEventFact => ({
    action,
    containerId,
    time: new Date(ms).toISOString(),
    timeNano: `${BigInt(ms) * 1_000_000n}`,
  });
  const events = [ev('start', 't-01-c1', 1000), ev('die', 't-01-c1', 2000), ev('start', 't-01-c2', 2450)];

  it('measures die → replacement start and passes within the bound', () => {
    const r = checkRecoveryTime([fault], attempts, events, 1000);
    expect(r.ok).toBe(true);
    expect(r.observed).toBe('1 recovery(ies): max 450 ms, median 450 ms; 0 over 1000 ms');
    expect(r.evidence).toEqual(['f1: t-01 attempt 1 died → attempt 2 running in 450 ms']);
  });
  it('fails past the bound with the figure in evidence', () => {
    const r = checkRecoveryTime([fault], attempts, events, 1);
    expect(r.ok).toBe(false);
    expect(r.evidence[0]).toContain('450 ms (over 1 ms)');
  });
  it('fails when the replacement never started', () => {
    const r = checkRecoveryTime([fault], attempts, events.slice(0, 2), 10_000);
    expect(r.ok).toBe(false);
    expect(r.evidence[0]).toContain('replacement attempt 2');
  });
  it('uses the last die before the replacement started: a restart before it or after it is no part of the recovery', () => {
    const r = checkRecoveryTime([fault], attempts, [ev('die', 't-01-c1', 500), ...events, ev('start', 't-01-c1', 3000), ev('die', 't-01-c1', 4000)], 1000);
    expect(r.evidence).toEqual(['f1: t-01 attempt 1 died → attempt 2 running in 450 ms']);
  });
  it('counts one recovery per hit attempt, naming every fault that hit it', () => {
    const r = checkRecoveryTime([fault, { ...fault, faultId: 'f2', kind: 'pause' }], attempts, events, 1000);
    expect(r.evidence).toEqual(['f1, f2: t-01 attempt 1 died → attempt 2 running in 450 ms']);
  });
  it('ignores a hit attempt that was not retried', () => {
    const r = checkRecoveryTime([{ ...fault, targets: [{ containerId: 't-02-c1' }] }], attempts, events, 1);
    expect(r.ok).toBe(true);
    expect(r.observed).toBe('no fault hit an attempt that was then retried');
  });
});

describe('resource-stability', () => {
  const facts = { controllerRss: { firstBytes: 100e6, lastBytes: 130e6, growthBytes: 30e6 }, peakEventBacklog: 12, backlogSamples: 5 };
  it('passes within both bounds', () => {
    const r = checkResourceStability(facts, { rssGrowthBytes: 64 * 1024 * 1024, eventBacklog: 100 });
    expect(r.ok).toBe(true);
    expect(r.observed).toContain('controller RSS grew 30000000 bytes');
    expect(r.observed).toContain('peak event backlog 12 over 5 sample(s)');
  });
  it('fails on RSS growth past its bound', () => {
    const r = checkResourceStability(facts, { rssGrowthBytes: 1024 });
    expect(r.ok).toBe(false);
    expect(r.evidence).toEqual(['controller RSS grew 30000000 bytes, bound 1024']);
  });
  it('fails on an event backlog past its bound', () => {
    const r = checkResourceStability(facts, { eventBacklog: 3 });
    expect(r.ok).toBe(false);
    expect(r.evidence).toEqual(['event backlog reached 12, bound 3']);
  });
  it('fails when there is no sample to judge by', () => {
    expect(checkResourceStability({ backlogSamples: 0 }, { eventBacklog: 3, rssGrowthBytes: 1 }).ok).toBe(false);
  });
});

describe('workspace-compliance', () => {
  it('isDeclared: declared files, files under a declared directory, parents of declared paths', () => {
    expect(isDeclared('out/a.txt', ['out/a.txt'])).toBe(true);
    expect(isDeclared('out/', ['out/a.txt'])).toBe(true);
    expect(isDeclared('build/x/y.o', ['build'])).toBe(true);
    expect(isDeclared('build/x/', ['build/'])).toBe(true);
    expect(isDeclared('outside.txt', ['out/a.txt'])).toBe(false);
    expect(isDeclared('out/b.txt', ['out/a.txt'])).toBe(false);
    expect(isDeclared('other/', ['out/a.txt'])).toBe(false);
  });
  it('passes when every path is declared, and says which tasks were not checked', () => {
    const r = checkWorkspaceCompliance([
      { task: 't-01', attempt: 2, declared: ['notes/plan.md'], entries: ['notes/', 'notes/plan.md'] },
      { task: 't-02', attempt: 1 },
    ]);
    expect(r.ok).toBe(true);
    expect(r.evidence).toEqual(['not checked (no writes declared): t-02']);
  });
  it('fails with the undeclared path in observed', () => {
    const r = checkWorkspaceCompliance([{ task: 't-01', attempt: 1, declared: ['a.txt'], entries: ['a.txt', 'sneaky/', 'sneaky/b.txt'] }]);
    expect(r.ok).toBe(false);
    expect(r.observed).toContain('sneaky/b.txt');
    expect(r.evidence).toContain('t-01 attempt 1: wrote sneaky/b.txt, not in writes [a.txt]');
  });
  it('fails when a completed attempt has no listing', () => {
    const r = checkWorkspaceCompliance([{ task: 't-01', attempt: 1, declared: ['a.txt'], error: 'lister did not start' }]);
    expect(r.ok).toBe(false);
    expect(r.evidence[0]).toContain('lister did not start');
  });
  it('ignores the files a fault wrote', () => {
    expect(checkWorkspaceCompliance([{ task: 't-01', attempt: 1, declared: ['a.txt'], entries: ['.keelhaul-fill', 'a.txt'] }], ['.keelhaul-fill']).ok).toBe(true);
  });
});

describe('lock-exclusion', () => {
  it('conflictingLocks: readers-writer', () => {
    expect(conflictingLocks({ reads: ['db'], writes: [] }, { reads: ['db'], writes: [] })).toEqual([]);
    expect(conflictingLocks({ reads: ['db'], writes: [] }, { reads: [], writes: ['db'] })).toEqual(['db']);
    expect(conflictingLocks({ reads: [], writes: ['db', 'fs'] }, { reads: ['fs'], writes: ['db'] })).toEqual(['db', 'fs']);
    expect(conflictingLocks({ reads: [], writes: ['a'] }, { reads: [], writes: ['b'] })).toEqual([]);
  });
  const locks = [
    { task: 'w1', reads: [], writes: ['db'] },
    { task: 'w2', reads: [], writes: ['db'] },
    { task: 'r1', reads: ['db'], writes: [] },
    { task: 'r2', reads: ['db'], writes: [] },
  ];
  const ev = (type: string, task: string, attempt: number, ms: number) => ({ type, ts: new Date(ms).toISOString(), task, attempt });
  it('builds intervals from attempt.running / attempt.exited, open ones to the end', () => {
    const intervals = attemptIntervals([ev('attempt.running', 'w1', 1, 0), ev('attempt.exited', 'w1', 1, 10), ev('attempt.running', 'w2', 1, 10)]);
    expect(intervals).toEqual([
      { task: 'w1', attempt: 1, startMs: 0, endMs: 10 },
      { task: 'w2', attempt: 1, startMs: 10 },
    ]);
  });
  it('passes for serialised writers and concurrent readers, counting the conflicting pairs', () => {
    const r = checkLockExclusion(locks, [
      { task: 'w1', attempt: 1, startMs: 0, endMs: 10 },
      { task: 'w2', attempt: 1, startMs: 10, endMs: 20 },
      { task: 'r1', attempt: 1, startMs: 20, endMs: 30 },
      { task: 'r2', attempt: 1, startMs: 21, endMs: 31 },
    ]);
    expect(r.ok).toBe(true);
    expect(r.observed).toBe('4 attempt(s) of 4 locking task(s), 5 conflicting pair(s), 0 overlapping');
  });
  it('fails when a reader ran while a writer did, naming both and the lock', () => {
    const r = checkLockExclusion(locks, [
      { task: 'w1', attempt: 1, startMs: 0, endMs: 10 },
      { task: 'r1', attempt: 2, startMs: 5 },
    ]);
    expect(r.ok).toBe(false);
    expect(r.evidence[0]).toMatch(/^w1 attempt 1 .* overlapped r1 attempt 2 .*the end of the run\) on lock\(s\) db$/);
  });
});

describe('workspace lister output', () => {
  it('parseListing: relative paths, directories with a trailing /, sorted', async () => {
    const { parseListing } = await import('../../src/controller/workspace-lister.js');
    expect(parseListing('./out/\n./out/a.txt\n./sneaky.txt\n\n')).toEqual(['out/', 'out/a.txt', 'sneaky.txt']);
    expect(parseListing('')).toEqual([]);
  });
});
