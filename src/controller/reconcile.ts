/**
 * Reconcile on resume (docs/recovery.md, step 4): state.json and the completion ledger
 * against the attempt containers a label query finds on the daemon. {@link planResume}
 * decides, without I/O; {@link applyResumePlan} writes the decision into the state.
 */
import { newAttemptRecord, type AttemptRecord, type TaskRecord } from './state.js';

/** An attempt container found on the daemon by the run's labels (role `worker`). */
export interface FoundAttempt {
  readonly containerId: string;
  /** Its name without the leading `/`; `''` when the daemon gave none. */
  readonly containerName: string;
  /** The `dev.keelhaul.task` label. */
  readonly task: string;
  /** The `dev.keelhaul.attempt` label, as a number (NaN when it is not one). */
  readonly attempt: number;
  /** Docker's `State` word: `running`, `exited`, `created`, … */
  readonly state: string;
}

/** What to do with one task of the scenario. */
export type TaskPlan =
  /** In the ledger or already completed: never run again. */
  | { readonly task: string; readonly action: 'completed' }
  /** Failed for good by an earlier controller. */
  | { readonly task: string; readonly action: 'failed' }
  | {
      readonly task: string;
      readonly action: 'run';
      /** Attempts whose containers state.json never heard of (the controller died between create and save), to record as `launching`. */
      readonly discovered: readonly FoundAttempt[];
      /** Unfinished attempts that are gone or superseded: recorded `lost`, in attempt order. */
      readonly lost: readonly { readonly attempt: number; readonly reason: string }[];
      /** The task's latest attempt, whose container is there: followed (re-attached or judged) before any new attempt. */
      readonly adopt?: FoundAttempt | undefined;
    };

/** What {@link planResume} needs to know of the run. */
export interface ResumeInput {
  /** The scenario's task ids, in order. */
  readonly taskIds: readonly string[];
  /** state.json's tasks. */
  readonly tasks: Readonly<Record<string, Pick<TaskRecord, 'status'> & { readonly attempts: readonly Pick<AttemptRecord, 'attempt' | 'status'>[] }>>;
  /** Tasks the completion ledger holds: completed whatever state.json says. */
  readonly completedInLedger: ReadonlySet<string>;
  /** Whether this is a resume; a fresh run plans every unfinished task as `run` with nothing found. */
  readonly resumed: boolean;
}

/** The plan for every task, in scenario order. */
export interface ResumePlan {
  readonly tasks: readonly TaskPlan[];
}

/**
 * Decides, per task, what a (resumed) run does: a task in the ledger or completed stays
 * completed; a failed one stays failed; otherwise attempts found on the daemon that
 * state.json lacks are recorded, the latest attempt is adopted when its container is there,
 * and every other unfinished attempt is `lost` (`container gone when the run was resumed`,
 * or `superseded by a later attempt`). Pure; never throws.
 *
 * @param found the run's worker containers, as a label query returned them
 */
export function planResume(input: ResumeInput, found: readonly FoundAttempt[]): ResumePlan {
  const byAttempt = new Map(found.map((c) => [`${c.task}#${c.attempt}`, c]));
  const tasks: TaskPlan[] = [];
  for (const id of input.taskIds) {
    const task = input.tasks[id]!;
    if (input.completedInLedger.has(id) || task.status === 'completed') {
      tasks.push({ task: id, action: 'completed' });
      continue;
    }
    if (task.status === 'failed') {
      tasks.push({ task: id, action: 'failed' });
      continue;
    }
    if (!input.resumed) {
      tasks.push({ task: id, action: 'run', discovered: [], lost: [] });
      continue;
    }
    const recorded = new Set(task.attempts.map((r) => r.attempt));
    // The last one found under a key wins, as the Map built from the query's rows does.
    const discovered = [...byAttempt.values()].filter((c) => c.task === id && !recorded.has(c.attempt));
    const attempts = [
      ...task.attempts.map((r) => ({ attempt: r.attempt, status: r.status })),
      ...discovered.map((c) => ({ attempt: c.attempt, status: 'launching' as const })),
    ].sort((x, y) => x.attempt - y.attempt);
    const latest = attempts.at(-1);
    const lost: { attempt: number; reason: string }[] = [];
    let adopt: FoundAttempt | undefined;
    for (const record of attempts) {
      if (record.status === 'exited') continue;
      const container = byAttempt.get(`${id}#${record.attempt}`);
      if (container && record === latest) adopt = container;
      else lost.push({ attempt: record.attempt, reason: container ? 'superseded by a later attempt' : 'container gone when the run was resumed' });
    }
    tasks.push({ task: id, action: 'run', discovered, lost, ...(adopt ? { adopt } : {}) });
  }
  return { tasks };
}

/** A task ready for the queue after {@link applyResumePlan}: the record to adopt, if any. */
export interface PlannedTask {
  readonly task: string;
  readonly adopt?: { readonly record: AttemptRecord; readonly container: FoundAttempt } | undefined;
}

/**
 * Writes a {@link ResumePlan} into state.json's tasks: completed tasks marked so (a ledger
 * entry wins over state.json), discovered attempts recorded as `launching` (started `now`),
 * attempts sorted by number, lost ones marked `exited` / `lost` with their reason.
 *
 * @param now ISO time recorded as a discovered attempt's `startedAt`
 * @param onLost called once per attempt marked lost, in plan order (the caller emits `attempt.lost`)
 * @returns the tasks to run, in plan order, with the record each adopts
 */
export function applyResumePlan(tasks: Record<string, TaskRecord>, plan: ResumePlan, now: string, onLost: (task: string, attempt: number, reason: string) => void): PlannedTask[] {
  const toRun: PlannedTask[] = [];
  for (const p of plan.tasks) {
    const task = tasks[p.task]!;
    if (p.action === 'completed') {
      task.status = 'completed';
      continue;
    }
    if (p.action === 'failed') continue;
    for (const c of p.discovered) {
      task.attempts.push(newAttemptRecord(c.attempt, now, c));
    }
    task.attempts.sort((x, y) => x.attempt - y.attempt);
    for (const l of p.lost) {
      const record = task.attempts.find((r) => r.attempt === l.attempt);
      if (!record) continue;
      record.status = 'exited';
      record.outcome = 'lost';
      record.reason = l.reason;
      onLost(p.task, l.attempt, l.reason);
    }
    const adopted = p.adopt ? task.attempts.find((r) => r.attempt === p.adopt!.attempt) : undefined;
    toRun.push({ task: p.task, ...(adopted && p.adopt ? { adopt: { record: adopted, container: p.adopt } } : {}) });
  }
  return toRun;
}
