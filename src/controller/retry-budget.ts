/**
 * How a task spends its `retry.maxAttempts`: which attempts count, whether a failed
 * attempt or launch asks for another. Pure decisions; `runWithRetry` (retry.ts) carries
 * them out, reading `retryable` and `consumesAttempt` off the `AttemptFailedError`.
 */

/** The part of an attempt record the budget looks at. */
export interface BudgetAttempt {
  readonly status: 'launching' | 'running' | 'exited';
  readonly outcome: string | null;
  readonly reason: string | null;
  /** ISO time. */
  readonly startedAt: string;
}

/** The `reason` prefix of an attempt whose launch failed (it never ran). */
export const LAUNCH_FAILED = 'launch failed';

/** Whether the attempt never ran because its launch failed: it spends none of `maxAttempts`. */
export function isLaunchFailure(attempt: Pick<BudgetAttempt, 'reason'>): boolean {
  return attempt.reason?.startsWith(LAUNCH_FAILED) ?? false;
}

/** What a task's run loop is to do, given the attempts it already has. */
export type TaskBudget =
  /** Nothing left to spend and nothing to adopt: the task is failed as it stands. */
  | { readonly run: false }
  /** Run the loop for at most `maxAttempts` attempts (≥ 1; an adopted attempt is the first). */
  | { readonly run: true; readonly maxAttempts: number };

/**
 * The attempts left to a task: `maxAttempts` minus its attempts already judged, launch
 * failures aside (they never ran). A task adopting a container on resume always runs its
 * loop, for at least that one attempt, even with no budget left.
 *
 * @param attempts the task's attempts as state.json has them
 * @param maxAttempts the scenario's `retry.maxAttempts` (≥ 1)
 * @param adopting whether the loop starts by adopting a running or exited container
 */
export function taskBudget(attempts: readonly BudgetAttempt[], maxAttempts: number, adopting: boolean): TaskBudget {
  const judgedBefore = attempts.filter((a) => a.status === 'exited' && !isLaunchFailure(a)).length;
  const left = maxAttempts - judgedBefore;
  if (left <= 0 && !adopting) return { run: false };
  return { run: true, maxAttempts: Math.max(1, left) };
}

/** What decides whether a judged, unsuccessful attempt is retried. */
export interface FailedAttempt {
  readonly outcome: string;
  /** `reason` of the attempt's `task.failed`, e.g. `invalid_task`, `disk_full`. */
  readonly failedReason: string | undefined;
  /** The scenario's `workspace.onDiskFull`. */
  readonly onDiskFull: 'retry' | 'fail';
  /** The run is aborting (timeout, lost daemon, Ctrl-C): nothing is retried. */
  readonly aborted: boolean;
}

/** The decision after an unsuccessful attempt. */
export interface RetryDecision {
  /** Another attempt may follow (within the budget). */
  readonly retryable: boolean;
  /** The next attempt gets an empty workspace (a full disk with `onDiskFull: retry`); the full one stays for the post-mortem. */
  readonly freshWorkspace: boolean;
}

/**
 * Whether an attempt judged anything but `completed` asks for another: not a task the
 * worker refused as `invalid_task` (it fails the same way on every attempt), not a full
 * disk with `workspace.onDiskFull: fail`, not while the run aborts.
 */
export function retryAfterFailure(failed: FailedAttempt): RetryDecision {
  const diskFull = failed.failedReason === 'disk_full' && failed.outcome === 'failed';
  return {
    retryable: failed.failedReason !== 'invalid_task' && !(diskFull && failed.onDiskFull === 'fail') && !failed.aborted,
    freshWorkspace: diskFull && failed.onDiskFull === 'retry',
  };
}

/**
 * Whether a launch that failed because the daemon was going away is tried again. Such
 * launches are not the task's failures and spend no attempt, but they stop being retried
 * once they have gone on for longer than the outage limit, counted from the task's first
 * failed launch.
 *
 * @param attempts the task's attempts, the failed one included (marked lost, `launch failed: …`)
 * @param failedStartedAt ISO start of the launch that just failed (used when no earlier one is recorded)
 * @param nowMs the time now, ms since the epoch
 * @param outageLimitMs the scenario's `daemon.outageLimitMs`
 */
export function retryAfterLaunchFailure(attempts: readonly BudgetAttempt[], failedStartedAt: string, nowMs: number, outageLimitMs: number): boolean {
  const first = attempts.find((a) => a.outcome === 'lost' && isLaunchFailure(a));
  const lostSince = Date.parse(first?.startedAt ?? failedStartedAt);
  return nowMs - lostSince < outageLimitMs;
}
