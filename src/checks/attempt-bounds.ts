/**
 * Checks on how many attempts a run spent and how fast it replaced the attempts faults
 * took down: `attempts-within-bound` and `recovery-time`.
 */
import type { AttemptFacts, CheckResult, FaultFacts } from './invariants.js';

/**
 * Whether an attempt counted against `retry.maxAttempts`. A launch that failed because the
 * daemon was going away does not (the controller retries it with `consumesAttempt: false`,
 * src/controller/retry.ts), and its reason starts with `launch failed`.
 */
export function spendsAnAttempt(attempt: Pick<AttemptFacts, 'reason'>): boolean {
  return !attempt.reason?.startsWith('launch failed');
}

/**
 * attempts-within-bound: no task used more attempts than `maxAttempts` (the scenario's
 * `expect.maxAttempts`, else `retry.maxAttempts`). Launches lost to a daemon going away are
 * not counted: they spend no attempt ({@link spendsAnAttempt}).
 */
export function checkAttemptsWithinBound(attempts: readonly Pick<AttemptFacts, 'task' | 'attempt' | 'outcome' | 'reason'>[], maxAttempts: number): CheckResult {
  const perTask = new Map<string, number[]>();
  for (const a of attempts) {
    if (!spendsAnAttempt(a)) continue;
    perTask.set(a.task, [...(perTask.get(a.task) ?? []), a.attempt]);
  }
  let most = 0;
  let mostTask = '';
  const evidence: string[] = [];
  for (const [task, numbers] of perTask) {
    if (numbers.length > most) {
      most = numbers.length;
      mostTask = task;
    }
    if (numbers.length > maxAttempts) {
      const outcomes = attempts.filter((a) => a.task === task && spendsAnAttempt(a)).map((a) => `#${a.attempt} ${a.outcome}`);
      evidence.push(`${task}: ${numbers.length} attempts (${outcomes.join(', ')}), bound ${maxAttempts}`);
    }
  }
  return {
    name: 'attempts-within-bound',
    ok: evidence.length === 0,
    expected: `every task used at most ${maxAttempts} attempt(s)`,
    observed: perTask.size === 0 ? 'no attempt was made' : `at most ${most} attempt(s) (${mostTask}); ${evidence.length} task(s) over the bound`,
    evidence,
  };
}

/** A container event the controller recorded (a `docker.event` line of events.jsonl). */
export interface ContainerEventFact {
  readonly action: string;
  readonly containerId: string;
  /** The daemon's time, ISO 8601 (ms). */
  readonly time: string;
  /** The daemon's time in ns since the epoch, decimal; preferred over `time` when present. */
  readonly timeNano?: string | undefined;
  readonly role?: string | undefined;
}

/** ms since the epoch of an event, from `timeNano` when it has it (sub-ms precision). */
function eventMs(e: ContainerEventFact): number {
  if (e.timeNano !== undefined && /^\d+$/.test(e.timeNano)) return Number(BigInt(e.timeNano) / 1000n) / 1000;
  return Date.parse(e.time);
}

/** One measured recovery: the fault's `die` → the replacement attempt's `start`. */
export interface RecoveryFigure {
  /** The faults that hit the attempt, comma-separated. */
  readonly faultId: string;
  readonly task: string;
  /** The attempt the fault hit. */
  readonly attempt: number;
  /** The attempt that replaced it. */
  readonly replacement: number;
  /** ms, from the hit container's `die` event to the replacement container's `start` event. */
  readonly recoveryMs: number;
}

/**
 * Measures, for each injected fault target whose attempt was followed by another attempt of
 * the same task, the time from the hit container's last `die` event before it to the replacement
 * container's first `start` event — both stamped by the daemon, so the controller's own
 * clock and scheduling delays do not enter twice. Returns the figures and the problems (a
 * replacement that never started, a hit container with no `die`).
 */
export function measureRecoveries(
  faults: readonly FaultFacts[],
  attempts: readonly Pick<AttemptFacts, 'task' | 'attempt' | 'containerId'>[],
  events: readonly ContainerEventFact[],
): { figures: RecoveryFigure[]; problems: string[] } {
  const ofContainer = (containerId: string, action: string): ContainerEventFact[] =>
    events.filter((e) => e.containerId === containerId && e.action === action).sort((a, b) => eventMs(a) - eventMs(b));
  const figures: RecoveryFigure[] = [];
  const problems: string[] = [];
  // One recovery per hit attempt, however many faults hit it.
  const hits = new Map<string, string[]>();
  for (const fault of faults) {
    if (fault.status !== 'injected') continue;
    for (const target of fault.targets) hits.set(target.containerId, [...(hits.get(target.containerId) ?? []), fault.faultId]);
  }
  for (const [containerId, faultIds] of hits) {
    const hit = attempts.find((a) => a.containerId === containerId);
    if (!hit) continue;
    // The next attempt that got a container (a launch lost to a daemon outage has none).
    const replacement = attempts.filter((a) => a.task === hit.task && a.attempt > hit.attempt && a.containerId).sort((a, b) => a.attempt - b.attempt)[0];
    if (!replacement) continue; // not retried: the hit attempt completed, or the task gave up
    const faultId = [...new Set(faultIds)].join(', ');
    const label = `${faultId} → ${hit.task} attempt ${hit.attempt}`;
    const start = ofContainer(replacement.containerId, 'start')[0];
    if (!start) {
      problems.push(`${label}: replacement attempt ${replacement.attempt} (container ${replacement.containerId.slice(0, 12)}) has no start event`);
      continue;
    }
    // The death that ended the attempt: the last die before the replacement started. A
    // restart fault makes a container die and start again; a restart that lands after the
    // attempt was judged makes it die once more, later, which is no part of this recovery.
    const die = ofContainer(hit.containerId, 'die')
      .filter((e) => eventMs(e) <= eventMs(start))
      .at(-1);
    if (!die) {
      problems.push(`${label}: no die event of container ${hit.containerId.slice(0, 12)} before the replacement started`);
      continue;
    }
    figures.push({ faultId, task: hit.task, attempt: hit.attempt, replacement: replacement.attempt, recoveryMs: Math.round(eventMs(start) - eventMs(die)) });
  }
  return { figures, problems };
}

/**
 * recovery-time: every fault that hit an attempt which was then retried was followed by
 * the replacement attempt's container running within `boundMs` (see {@link measureRecoveries}).
 * Observed gives the count and the maximum; evidence each figure, over-bound ones first.
 */
export function checkRecoveryTime(
  faults: readonly FaultFacts[],
  attempts: readonly Pick<AttemptFacts, 'task' | 'attempt' | 'containerId'>[],
  events: readonly ContainerEventFact[],
  boundMs: number,
): CheckResult {
  const { figures, problems } = measureRecoveries(faults, attempts, events);
  const over = figures.filter((f) => f.recoveryMs > boundMs);
  const describe = (f: RecoveryFigure): string =>
    `${f.faultId}: ${f.task} attempt ${f.attempt} died → attempt ${f.replacement} running in ${f.recoveryMs} ms${f.recoveryMs > boundMs ? ` (over ${boundMs} ms)` : ''}`;
  const max = figures.reduce((m, f) => Math.max(m, f.recoveryMs), 0);
  const sorted = [...figures].sort((a, b) => a.recoveryMs - b.recoveryMs);
  const median = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]!.recoveryMs : 0;
  return {
    name: 'recovery-time',
    ok: over.length === 0 && problems.length === 0,
    expected: `each attempt a fault took down is replaced by a running attempt within ${boundMs} ms (die → start, Docker events)`,
    observed:
      figures.length === 0 && problems.length === 0
        ? 'no fault hit an attempt that was then retried'
        : `${figures.length} recovery(ies): max ${max} ms, median ${median} ms; ${over.length} over ${boundMs} ms${problems.length ? `; ${problems.length} not measurable` : ''}`,
    evidence: [...problems, ...over.map(describe), ...figures.filter((f) => f.recoveryMs <= boundMs).map(describe)].slice(0, 50),
  };
}
