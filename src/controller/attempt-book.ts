import type { WorkerEvent } from '../worker/events.js';
import type { IsolationProbe } from './isolation-probe.js';

/** A workspace listing of a completed attempt (workspace-compliance), or why there is none. */
export type WorkspaceListing = { entries: string[] } | { error: string };

/**
 * What the controller knows of one attempt beyond its state.json record: what its worker
 * reported, what was seen from inside it, and the live watch on it. One object per attempt,
 * created on first use.
 */
export interface AttemptState {
  readonly task: string;
  /** 1-based. */
  readonly attempt: number;
  /** Highest `seq` already recorded in events.jsonl (replayed lines up to it are skipped). */
  maxSeq: number;
  /** `task.completed` events it emitted. */
  completedEvents: number;
  /** `ts` of its first `task.completed`. */
  completedAt: string | undefined;
  /** `reason` of its last `task.failed`. */
  failedReason: string | undefined;
  /** Interface names from its `task.started`. */
  interfaces: string[] | undefined;
  /** Stdout lines that were not worker events. */
  invalidLines: number;
  /** Re-arms its heartbeat watch; set while the attempt is followed with a watch. */
  rearmHeartbeat: (() => void) | undefined;
  /** What the isolation probe saw inside it (this controller's, or an earlier one's from events.jsonl). */
  probe: IsolationProbe | undefined;
  /** Its workspace listing, for workspace-compliance. */
  workspaceListing: WorkspaceListing | undefined;
}

/** Every attempt's {@link AttemptState}, by task and attempt number. */
export class AttemptBook {
  readonly #byTask = new Map<string, Map<number, AttemptState>>();

  /** The attempt's state, created empty on first use. */
  of(task: string, attempt: number): AttemptState {
    let attempts = this.#byTask.get(task);
    if (!attempts) this.#byTask.set(task, (attempts = new Map()));
    let state = attempts.get(attempt);
    if (!state) {
      state = {
        task,
        attempt,
        maxSeq: 0,
        completedEvents: 0,
        completedAt: undefined,
        failedReason: undefined,
        interfaces: undefined,
        invalidLines: 0,
        rearmHeartbeat: undefined,
        probe: undefined,
        workspaceListing: undefined,
      };
      attempts.set(attempt, state);
    }
    return state;
  }

  /** The attempt's state if anything was recorded of it. */
  get(task: string, attempt: number): AttemptState | undefined {
    return this.#byTask.get(task)?.get(attempt);
  }

  /**
   * Records what a worker event tells about its attempt: its `seq`, `task.completed`
   * (counted; the first one's `ts` kept), `task.failed`'s reason, `task.started`'s
   * interfaces. Never throws on content (an event's extra fields are not trusted).
   */
  noteEvent(task: string, attempt: number, event: WorkerEvent): AttemptState {
    const p = this.of(task, attempt);
    if (event.seq !== undefined) p.maxSeq = Math.max(p.maxSeq, event.seq);
    if (event.type === 'task.completed') {
      p.completedEvents += 1;
      p.completedAt ??= event.ts;
    }
    if (event.type === 'task.failed') p.failedReason = String((event as { reason?: unknown }).reason ?? 'task.failed');
    if (event.type === 'task.started') {
      const interfaces = (event as { interfaces?: { name: string }[] }).interfaces;
      if (Array.isArray(interfaces)) p.interfaces = interfaces.map((i) => i.name);
    }
    return p;
  }

  /** Starts the silence over for every attempt whose heartbeat is watched (the daemon is back: its outage's silence was not theirs). */
  rearmHeartbeats(): void {
    for (const attempts of this.#byTask.values()) {
      for (const s of attempts.values()) s.rearmHeartbeat?.();
    }
  }

  /** Workspace listings keyed `task#attempt`, the shape the workspace-compliance check reads. */
  workspaceListings(): Map<string, WorkspaceListing> {
    const out = new Map<string, WorkspaceListing>();
    for (const attempts of this.#byTask.values()) {
      for (const s of attempts.values()) if (s.workspaceListing) out.set(`${s.task}#${s.attempt}`, s.workspaceListing);
    }
    return out;
  }
}
