import type { AttemptOutcome } from './events.js';

/** Everything the controller observed of one attempt that bears on its outcome. */
export interface AttemptObservation {
  /** The exit code the backend reported; 128 + n for signal n. `null` when none was seen. */
  readonly exitCode: number | null;
  /** The OOM killer ended it (`State.OOMKilled`, or the daemon's `oom` event). */
  readonly oomKilled: boolean;
  /** `task.completed` events the attempt emitted (replayed ones included). */
  readonly completedEvents: number;
  /** `reason` of the attempt's last `task.failed` event, if any. */
  readonly failedReason: string | undefined;
  /** Fault ids that acted on the attempt's container (the injector's `faultsTargeting`). */
  readonly targetedBy: readonly string[];
  /**
   * The daemon went away while the attempt ran, so its output (a `task.completed` among it)
   * may have been lost in a pipe nobody drained.
   */
  readonly outputMayBeLost: boolean;
  /**
   * The heartbeat watch declared the attempt hung and killed it; `silentMs` is the watch's
   * `heartbeatTimeoutMs`. Absent when the watch did not fire.
   */
  readonly hung?: { readonly silentMs: number } | undefined;
}

/** An attempt's outcome and the reason recorded with it (`null` for a plain success). */
export interface Judgement {
  readonly outcome: AttemptOutcome;
  readonly reason: string | null;
}

/**
 * Judges an attempt from what was observed of it (docs/recovery.md, "What exactly once
 * means here"). Pure: no clock, no I/O, never throws.
 *
 * In order: a `hung` attempt that did not exit 0 and never reported `task.completed`;
 * `task.completed` as the commit point (whatever the exit code after it); the OOM killer;
 * a signal exit of an attempt a fault hit (the fault's doing); SIGKILL from outside;
 * exit 0 whose `task.completed` was lost with a daemon outage (completed); exit 0 without
 * `task.completed` (failed); any other exit (failed, with the worker's own reason).
 */
export function judgeAttempt(seen: AttemptObservation): Judgement {
  // task.completed is the commit point even for an attempt that went silent afterwards.
  if (seen.hung && seen.exitCode !== 0 && seen.completedEvents === 0) {
    return { outcome: 'hung', reason: `no event for ${seen.hung.silentMs} ms${seen.targetedBy.length ? ` (fault ${seen.targetedBy.join(', ')})` : ''}` };
  }
  // task.completed is the commit point: a worker killed after reporting it did its task,
  // and running the task again would do it twice.
  if (seen.completedEvents > 0) {
    return { outcome: 'completed', reason: seen.exitCode === 0 ? null : `exit ${seen.exitCode} after task.completed` };
  }
  if (seen.oomKilled) return { outcome: 'oom', reason: 'oom' };
  // A signal exit (128 + n) of an attempt a fault hit is the fault's doing; a worker that
  // failed by itself after, say, a fill-disk keeps its own reason.
  if (seen.targetedBy.length > 0 && (seen.exitCode ?? 0) > 128) {
    return { outcome: 'killed', reason: `fault ${seen.targetedBy.join(', ')}${seen.failedReason ? ` (${seen.failedReason})` : ''}` };
  }
  if (seen.exitCode === 137) return { outcome: 'killed', reason: 'SIGKILL from outside keelhaul' };
  // The contract makes exit 0 success; task.completed is also required only while the
  // output stream is intact. A worker that finished while the daemon was down wrote its
  // task.completed into a pipe nobody drained.
  if (seen.exitCode === 0 && seen.outputMayBeLost) return { outcome: 'completed', reason: 'exit 0; its task.completed was lost with the daemon outage' };
  if (seen.exitCode === 0) return { outcome: 'failed', reason: 'exited 0 without task.completed' };
  return { outcome: 'failed', reason: seen.failedReason ?? `exit ${seen.exitCode}` };
}
