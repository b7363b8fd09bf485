/** lock-exclusion: no two attempts whose tasks' locks conflict ran at the same time. */
import type { CheckResult } from './invariants.js';

/** A task's declared locks (`locks:` in the scenario). */
export interface TaskLocks {
  readonly task: string;
  readonly reads: readonly string[];
  readonly writes: readonly string[];
}

/** When an attempt ran, from the timeline: `attempt.running` → `attempt.exited` (ms since the epoch). */
export interface AttemptInterval {
  readonly task: string;
  readonly attempt: number;
  readonly startMs: number;
  /** Undefined when the timeline has no `attempt.exited` (the run ended first): open to the end. */
  readonly endMs?: number | undefined;
}

/**
 * The locks over which two tasks conflict, readers-writer: a lock one writes and the other
 * reads or writes. Empty when they may run together.
 */
export function conflictingLocks(a: Omit<TaskLocks, 'task'>, b: Omit<TaskLocks, 'task'>): string[] {
  const out = new Set<string>();
  for (const l of a.writes) if (b.writes.includes(l) || b.reads.includes(l)) out.add(l);
  for (const l of b.writes) if (a.reads.includes(l)) out.add(l);
  return [...out].sort();
}

/**
 * Builds attempt intervals from run events (the lines of events.jsonl): each
 * `attempt.running` or `attempt.adopted` opens one, the matching `attempt.exited` closes it.
 */
export function attemptIntervals(events: readonly { readonly type: string; readonly ts: string; readonly task?: unknown; readonly attempt?: unknown }[]): AttemptInterval[] {
  const open = new Map<string, { task: string; attempt: number; startMs: number; endMs?: number }>();
  const all: { task: string; attempt: number; startMs: number; endMs?: number }[] = [];
  for (const e of events) {
    if (typeof e.task !== 'string' || typeof e.attempt !== 'number') continue;
    const key = `${e.task}#${e.attempt}`;
    if ((e.type === 'attempt.running' || e.type === 'attempt.adopted') && !open.has(key)) {
      const interval = { task: e.task, attempt: e.attempt, startMs: Date.parse(e.ts) };
      open.set(key, interval);
      all.push(interval);
    } else if (e.type === 'attempt.exited') {
      const interval = open.get(key);
      if (interval) {
        interval.endMs = Date.parse(e.ts);
        open.delete(key);
      }
    }
  }
  return all;
}

/**
 * lock-exclusion: for every pair of attempts of different tasks whose locks conflict
 * ({@link conflictingLocks}), their running intervals do not overlap. Intervals touching at
 * one instant do not overlap: the controller emits the first's `attempt.exited` before it
 * releases the locks the second then takes. Observed says how many conflicting pairs the
 * timeline held, so a pass over none is visible as such.
 */
export function checkLockExclusion(tasks: readonly TaskLocks[], intervals: readonly AttemptInterval[]): CheckResult {
  const locksOf = new Map(tasks.map((t) => [t.task, t]));
  const locking = intervals.filter((i) => locksOf.has(i.task));
  const evidence: string[] = [];
  let pairs = 0;
  const iso = (ms: number | undefined): string => (ms === undefined ? 'the end of the run' : new Date(ms).toISOString());
  for (let i = 0; i < locking.length; i++) {
    for (let j = i + 1; j < locking.length; j++) {
      const a = locking[i]!;
      const b = locking[j]!;
      if (a.task === b.task) continue;
      const locks = conflictingLocks(locksOf.get(a.task)!, locksOf.get(b.task)!);
      if (locks.length === 0) continue;
      pairs += 1;
      const aEnd = a.endMs ?? Infinity;
      const bEnd = b.endMs ?? Infinity;
      if (a.startMs < bEnd && b.startMs < aEnd) {
        evidence.push(
          `${a.task} attempt ${a.attempt} (${iso(a.startMs)} – ${iso(a.endMs)}) overlapped ${b.task} attempt ${b.attempt} (${iso(b.startMs)} – ${iso(b.endMs)}) on lock(s) ${locks.join(', ')}`,
        );
      }
    }
  }
  return {
    name: 'lock-exclusion',
    ok: evidence.length === 0,
    expected: 'no two attempts whose locks conflict (one writes a lock the other reads or writes) run at the same time',
    observed: `${locking.length} attempt(s) of ${new Set(locking.map((l) => l.task)).size} locking task(s), ${pairs} conflicting pair(s), ${evidence.length} overlapping`,
    evidence: evidence.slice(0, 50),
  };
}
