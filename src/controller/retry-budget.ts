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

/** Whether the attempt never ran because its launch failed (`launch failed: …`), whoever's failure it was. */
export function isLaunchFailure(attempt: Pick<BudgetAttempt, 'reason'>): boolean {
  return attempt.reason?.startsWith(LAUNCH_FAILED) ?? false;
}

/**
 * Whether the attempt spends none of `maxAttempts`: a launch that failed because the daemon
 * was going away, recorded `lost`. A launch the answering daemon refused is `failed` and
 * spends one ({@link decideLaunchFailure}).
 */
export function spendsNoAttempt(attempt: Pick<BudgetAttempt, 'outcome' | 'reason'>): boolean {
  return attempt.outcome === 'lost' && isLaunchFailure(attempt);
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
  const judgedBefore = attempts.filter((a) => a.status === 'exited' && !spendsNoAttempt(a)).length;
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
  const first = attempts.find((a) => spendsNoAttempt(a));
  const lostSince = Date.parse(first?.startedAt ?? failedStartedAt);
  return nowMs - lostSince < outageLimitMs;
}

/** What decides whose a failed launch is: the daemon's (going away) or the task's. */
export interface LaunchFailure {
  /**
   * The daemon did not answer (the launch failed with `DaemonUnavailableError`), an outage
   * was in progress, or it stopped answering while it was watched after the failure
   * (`DaemonOutage.waitIfGoingAway`).
   */
  readonly daemonWentAway: boolean;
  /**
   * A daemon fault (stop, kill, restart) acted on the run's daemon within the last
   * {@link DAEMON_FAULT_GRACE_MS}: a daemon shutting down answers pings for seconds (13.5 s
   * to stop its containers with live-restore off, DOCKER-NOTES) while it refuses work.
   */
  readonly daemonFaultRecent: boolean;
  /** The run is aborting (timeout, lost daemon, Ctrl-C): nothing is retried. */
  readonly aborted: boolean;
  /** The task's attempts, the failed one included (for the outage limit). */
  readonly attempts: readonly BudgetAttempt[];
  /** ISO start of the launch that failed. */
  readonly failedStartedAt: string;
  /** ms since the epoch. */
  readonly nowMs: number;
  /** The scenario's `daemon.outageLimitMs`. */
  readonly outageLimitMs: number;
}

/** How a failed launch is recorded and whether another attempt follows. */
export interface LaunchDecision {
  /** `lost`: the daemon's doing, spends no attempt; `failed`: the task's, spends one. */
  readonly outcome: 'lost' | 'failed';
  /** Whether it counts against `maxAttempts` (and grows the backoff). */
  readonly consumesAttempt: boolean;
  /** Whether another attempt may follow (within `maxAttempts` when it consumes one). */
  readonly retryable: boolean;
}

/**
 * How long after a daemon fault's last action (fired, failed or undone) a launch failure is
 * still taken for the daemon's, ms: a SIGTERMed dockerd answers for up to ~13.5 s while it
 * stops containers, and one restarting after a SIGKILL takes ~11 s (DOCKER-NOTES).
 */
export const DAEMON_FAULT_GRACE_MS = 20_000;

/**
 * Whose a failed launch is (issue 16, item 10). Retries that spend no attempt are for a
 * daemon going away only: then the attempt is `lost` and tried again, without counting,
 * until the task's launches have failed for longer than `daemon.outageLimitMs`. A launch the
 * daemon refused while answering (an entrypoint missing from the image — Docker 20.10
 * answers 400 "exec: …: no such file or directory"; a ulimit above the host's hard limit —
 * 500 "error setting rlimit type 7") fails the same way every time: it is `failed`, spends
 * an attempt, and the task fails after `maxAttempts` such launches instead of looping until
 * the run's `timeoutMs`. Pure.
 */
export function decideLaunchFailure(failure: LaunchFailure): LaunchDecision {
  if (failure.daemonWentAway || failure.daemonFaultRecent) {
    return {
      outcome: 'lost',
      consumesAttempt: false,
      retryable: !failure.aborted && retryAfterLaunchFailure(failure.attempts, failure.failedStartedAt, failure.nowMs, failure.outageLimitMs),
    };
  }
  return { outcome: 'failed', consumesAttempt: true, retryable: !failure.aborted };
}
