import { describe, expect, it } from 'vitest';
import {
  decideLaunchFailure,
  isLaunchFailure,
  retryAfterFailure,
  retryAfterLaunchFailure,
  spendsNoAttempt,
  taskBudget,
  type BudgetAttempt,
} from '../../src/controller/retry-budget.js';
import { AttemptFailedError, runWithRetry } from '../../src/controller/retry.js';

const attempt = (overrides: Partial<BudgetAttempt> = {}): BudgetAttempt => ({
  status: 'exited',
  outcome: 'killed',
  reason: 'fault kill-0',
  startedAt: '2026-01-01T00:00:00.000Z',
  ...overrides,
});
const launchFailed = (startedAt: string): BudgetAttempt => attempt({ outcome: 'lost', reason: 'launch failed: connect ECONNREFUSED', startedAt });

describe('retry budget: attempts left to a task', () => {
  it('retry budget: a task with no attempts gets maxAttempts', () => {
    expect(taskBudget([], 3, false)).toEqual({ run: true, maxAttempts: 3 });
  });

  it('retry budget: judged attempts count, unfinished ones do not', () => {
    expect(taskBudget([attempt(), attempt({ status: 'running', outcome: null, reason: null })], 3, false)).toEqual({ run: true, maxAttempts: 2 });
  });

  it('retry budget: a lost attempt counts (resume: the container was gone)', () => {
    expect(taskBudget([attempt({ outcome: 'lost', reason: 'container gone when the run was resumed' })], 2, false)).toEqual({ run: true, maxAttempts: 1 });
  });

  it('retry budget: failed launches spend no attempt', () => {
    expect(taskBudget([launchFailed('2026-01-01T00:00:00.000Z'), launchFailed('2026-01-01T00:00:01.000Z'), attempt()], 2, false)).toEqual({ run: true, maxAttempts: 1 });
  });

  it('retry budget: a spent budget fails the task without running it', () => {
    expect(taskBudget([attempt(), attempt()], 2, false)).toEqual({ run: false });
  });

  it('retry budget: adopting a container runs the loop for that one attempt even with the budget spent', () => {
    expect(taskBudget([attempt(), attempt(), attempt({ status: 'running', outcome: null, reason: null })], 2, true)).toEqual({ run: true, maxAttempts: 1 });
  });

  it('retry budget: isLaunchFailure reads the reason prefix', () => {
    expect(isLaunchFailure({ reason: 'launch failed: x' })).toBe(true);
    expect(isLaunchFailure({ reason: 'fault kill-0' })).toBe(false);
    expect(isLaunchFailure({ reason: null })).toBe(false);
  });
});

describe('retry budget: after an unsuccessful attempt', () => {
  const base = { outcome: 'failed', failedReason: undefined, onDiskFull: 'retry', aborted: false } as const;

  it('retry budget: a killed or failed attempt is retried', () => {
    expect(retryAfterFailure({ ...base, outcome: 'killed' })).toEqual({ retryable: true, freshWorkspace: false });
    expect(retryAfterFailure(base)).toEqual({ retryable: true, freshWorkspace: false });
  });

  it('retry budget: invalid_task is never retried', () => {
    expect(retryAfterFailure({ ...base, failedReason: 'invalid_task' }).retryable).toBe(false);
  });

  it('retry budget: disk_full is retried on a fresh workspace with onDiskFull retry', () => {
    expect(retryAfterFailure({ ...base, failedReason: 'disk_full' })).toEqual({ retryable: true, freshWorkspace: true });
  });

  it('retry budget: disk_full is not retried with onDiskFull fail', () => {
    expect(retryAfterFailure({ ...base, failedReason: 'disk_full', onDiskFull: 'fail' })).toEqual({ retryable: false, freshWorkspace: false });
  });

  it('retry budget: disk_full of an attempt a fault killed is an ordinary kill', () => {
    expect(retryAfterFailure({ ...base, outcome: 'killed', failedReason: 'disk_full', onDiskFull: 'fail' })).toEqual({ retryable: true, freshWorkspace: false });
  });

  it('retry budget: nothing is retried while the run aborts', () => {
    expect(retryAfterFailure({ ...base, outcome: 'killed', aborted: true }).retryable).toBe(false);
  });
});

describe('retry budget: after a failed launch', () => {
  const t0 = Date.parse('2026-01-01T00:00:00.000Z');

  it('retry budget: a failed launch is retried within the outage limit of the first one', () => {
    const attempts = [launchFailed('2026-01-01T00:00:00.000Z'), launchFailed('2026-01-01T00:00:05.000Z')];
    expect(retryAfterLaunchFailure(attempts, '2026-01-01T00:00:05.000Z', t0 + 9_000, 10_000)).toBe(true);
    expect(retryAfterLaunchFailure(attempts, '2026-01-01T00:00:05.000Z', t0 + 10_000, 10_000)).toBe(false);
  });

  it('retry budget: without a recorded failed launch the failed one counts from its own start', () => {
    expect(retryAfterLaunchFailure([attempt()], '2026-01-01T00:00:03.000Z', t0 + 12_000, 10_000)).toBe(true);
    expect(retryAfterLaunchFailure([], '2026-01-01T00:00:03.000Z', t0 + 13_000, 10_000)).toBe(false);
  });
});

describe('retry budget: whose a failed launch is (issue 16, item 10)', () => {
  const base = {
    daemonWentAway: false,
    daemonFaultRecent: false,
    aborted: false,
    failedStartedAt: '2026-01-01T00:00:05.000Z',
    nowMs: Date.parse('2026-01-01T00:00:06.000Z'),
    outageLimitMs: 30_000,
  };

  it('launch failure: refused by an answering daemon, it is failed, spends an attempt and may be retried within maxAttempts', () => {
    const failed = attempt({ outcome: 'failed', reason: 'launch failed: (HTTP 400) exec: "/nope": no such file or directory' });
    expect(decideLaunchFailure({ ...base, attempts: [failed] })).toEqual({ outcome: 'failed', consumesAttempt: true, retryable: true });
  });

  it('launch failure: while the daemon went away, it is lost, spends nothing and is retried within the outage limit', () => {
    const lost = launchFailed('2026-01-01T00:00:05.000Z');
    expect(decideLaunchFailure({ ...base, daemonWentAway: true, attempts: [lost] })).toEqual({ outcome: 'lost', consumesAttempt: false, retryable: true });
    expect(decideLaunchFailure({ ...base, daemonWentAway: true, attempts: [lost], nowMs: Date.parse('2026-01-01T00:00:40.000Z') }).retryable).toBe(false);
  });

  it('launch failure: soon after a daemon fault acted, it is the daemon going away even if pings answer', () => {
    expect(decideLaunchFailure({ ...base, daemonFaultRecent: true, attempts: [launchFailed(base.failedStartedAt)] })).toMatchObject({ outcome: 'lost', consumesAttempt: false });
  });

  it('launch failure: nothing is retried while the run aborts', () => {
    expect(decideLaunchFailure({ ...base, aborted: true, attempts: [] }).retryable).toBe(false);
    expect(decideLaunchFailure({ ...base, aborted: true, daemonWentAway: true, attempts: [] }).retryable).toBe(false);
  });

  it('launch failure: a failed launch spends budget on resume, a lost one does not', () => {
    const refused = attempt({ outcome: 'failed', reason: 'launch failed: rlimit' });
    expect(spendsNoAttempt(refused)).toBe(false);
    expect(spendsNoAttempt(launchFailed(base.failedStartedAt))).toBe(true);
    expect(taskBudget([refused, refused], 3, false)).toEqual({ run: true, maxAttempts: 1 });
    expect(taskBudget([launchFailed(base.failedStartedAt), refused], 3, false)).toEqual({ run: true, maxAttempts: 2 });
  });

  it('launch failure: runWithRetry gives up after maxAttempts launches the daemon refused', async () => {
    let launches = 0;
    const result = await runWithRetry({ maxAttempts: 3, backoffMs: 1, factor: 1, maxBackoffMs: 1 }, async () => {
      launches += 1;
      const decision = decideLaunchFailure({ ...base, attempts: [] });
      throw new AttemptFailedError('refused', launches, { retryable: decision.retryable, consumesAttempt: decision.consumesAttempt });
    });
    expect(result.ok).toBe(false);
    expect(launches).toBe(3);
  });
});
