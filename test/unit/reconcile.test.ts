import { describe, expect, it } from 'vitest';
import { applyResumePlan, planResume, type FoundAttempt, type ResumeInput } from '../../src/controller/reconcile.js';
import type { AttemptRecord, TaskRecord } from '../../src/controller/state.js';

const record = (attempt: number, overrides: Partial<AttemptRecord> = {}): AttemptRecord => ({
  attempt,
  containerId: `c${attempt}`,
  containerName: `kh-r-t-a${attempt}`,
  status: 'exited',
  startedAt: '2026-01-01T00:00:00.000Z',
  endedAt: null,
  exitCode: 137,
  oomKilled: false,
  outcome: 'killed',
  reason: 'fault kill-0',
  completedEvents: 0,
  interfaces: null,
  auditProblems: [],
  audited: true,
  ...overrides,
});
const running = (attempt: number): AttemptRecord => record(attempt, { status: 'running', exitCode: null, outcome: null, reason: null });
const found = (task: string, attempt: number, state = 'running'): FoundAttempt => ({
  containerId: `${task}-c${attempt}`,
  containerName: `kh-r-${task}-a${attempt}`,
  task,
  attempt,
  state,
});
const input = (tasks: Record<string, TaskRecord>, overrides: Partial<ResumeInput> = {}): ResumeInput => ({
  taskIds: Object.keys(tasks),
  tasks,
  completedInLedger: new Set(),
  resumed: true,
  ...overrides,
});

describe('reconcile: planResume', () => {
  it('reconcile: a fresh run runs every task with nothing found', () => {
    const plan = planResume(input({ a: { status: 'pending', attempts: [] } }, { resumed: false }), []);
    expect(plan.tasks).toEqual([{ task: 'a', action: 'run', discovered: [], lost: [] }]);
  });

  it('reconcile: a task in the ledger is completed whatever state.json says', () => {
    const plan = planResume(input({ a: { status: 'running', attempts: [running(1)] } }, { completedInLedger: new Set(['a']) }), [found('a', 1)]);
    expect(plan.tasks).toEqual([{ task: 'a', action: 'completed' }]);
  });

  it('reconcile: completed and failed tasks stay as they are', () => {
    const plan = planResume(input({ a: { status: 'completed', attempts: [record(1)] }, b: { status: 'failed', attempts: [record(1)] } }), []);
    expect(plan.tasks.map((t) => t.action)).toEqual(['completed', 'failed']);
  });

  it('reconcile: the latest attempt whose container is there is adopted, running or exited', () => {
    for (const state of ['running', 'exited']) {
      const plan = planResume(input({ a: { status: 'running', attempts: [record(1), running(2)] } }), [found('a', 2, state)]);
      expect(plan.tasks).toEqual([{ task: 'a', action: 'run', discovered: [], lost: [], adopt: found('a', 2, state) }]);
    }
  });

  it('reconcile: an unfinished attempt whose container is missing is lost', () => {
    const plan = planResume(input({ a: { status: 'running', attempts: [running(1)] } }), []);
    expect(plan.tasks).toEqual([{ task: 'a', action: 'run', discovered: [], lost: [{ attempt: 1, reason: 'container gone when the run was resumed' }] }]);
  });

  it('reconcile: a container state.json never recorded is discovered, adopted, and supersedes the earlier unfinished one', () => {
    const plan = planResume(input({ a: { status: 'running', attempts: [running(1)] } }), [found('a', 1), found('a', 2)]);
    expect(plan.tasks).toEqual([{ task: 'a', action: 'run', discovered: [found('a', 2)], lost: [{ attempt: 1, reason: 'superseded by a later attempt' }], adopt: found('a', 2) }]);
  });

  it('reconcile: containers of other tasks and exited attempts are left alone', () => {
    const plan = planResume(input({ a: { status: 'running', attempts: [record(1)] }, b: { status: 'pending', attempts: [] } }), [found('a', 1, 'exited'), found('b', 1)]);
    expect(plan.tasks).toEqual([
      { task: 'a', action: 'run', discovered: [], lost: [] },
      { task: 'b', action: 'run', discovered: [found('b', 1)], lost: [], adopt: found('b', 1) },
    ]);
  });
});

describe('reconcile: applyResumePlan', () => {
  it('reconcile: writes discovered and lost attempts into the tasks and returns the ones to run with their adopted record', () => {
    const tasks: Record<string, TaskRecord> = {
      a: { status: 'running', attempts: [running(1)] },
      b: { status: 'running', attempts: [running(1)] },
      c: { status: 'running', attempts: [record(1)] },
    };
    const plan = planResume(input(tasks, { completedInLedger: new Set(['c']) }), [found('a', 1), found('a', 2)]);
    const lost: string[] = [];
    const toRun = applyResumePlan(tasks, plan, '2026-02-02T00:00:00.000Z', (t, n, reason) => lost.push(`${t}#${n}: ${reason}`));
    expect(lost).toEqual(['a#1: superseded by a later attempt', 'b#1: container gone when the run was resumed']);
    expect(tasks['c']!.status).toBe('completed');
    expect(tasks['a']!.attempts.map((r) => [r.attempt, r.status, r.outcome])).toEqual([
      [1, 'exited', 'lost'],
      [2, 'launching', null],
    ]);
    expect(tasks['a']!.attempts[1]).toMatchObject({ containerId: 'a-c2', containerName: 'kh-r-a-a2', startedAt: '2026-02-02T00:00:00.000Z' });
    expect(toRun.map((t) => t.task)).toEqual(['a', 'b']);
    expect(toRun[0]!.adopt?.record).toBe(tasks['a']!.attempts[1]);
    expect(toRun[0]!.adopt?.container).toEqual(found('a', 2));
    expect(toRun[1]!.adopt).toBeUndefined();
  });
});
