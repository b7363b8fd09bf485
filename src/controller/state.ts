import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../atomic-file.js';
import type { FaultRecord } from '../chaos/index.js';
import type { Scenario } from '../scenario/index.js';
import type { AttemptOutcome } from '../events/index.js';
import { Redactor } from './redaction.js';

/** Bumped when a field of {@link RunState} changes meaning or disappears. */
export const STATE_SCHEMA_VERSION = 1;

/** Who is driving a run: the controller process, identified by pid and start time. */
export interface ControllerIdentity {
  readonly pid: number;
  /** Process start, ms since the epoch (see `processStartTimeMs`); with `pid` it tells a live controller from a reused pid. */
  readonly start: number;
  readonly hostname: string;
}

/** One attempt as state.json records it. */
export interface AttemptRecord {
  readonly attempt: number;
  containerId: string;
  containerName: string;
  /** `launching`: create requested; `running`: started; `exited`: judged. */
  status: 'launching' | 'running' | 'exited';
  startedAt: string;
  endedAt: string | null;
  exitCode: number | null;
  oomKilled: boolean;
  outcome: AttemptOutcome | null;
  reason: string | null;
  /** task.completed events this attempt emitted. */
  completedEvents: number;
  /** `ts` of its first task.completed event. */
  completedAt?: string | null;
  /** Interface names from task.started. */
  interfaces: string[] | null;
  auditProblems: string[];
  audited: boolean;
  /** The image id (`sha256:…`) the attempt's container ran, from its inspection; what `keelhaul repro` re-runs. */
  imageId?: string | null;
  /**
   * When the controller removed the attempt's container itself, right after judging it
   * completed (issue 7, removal behind); such a container is not expected on the daemon by
   * the state-matches-daemon check. Absent or null: the run's cleanup removes it.
   */
  removedAt?: string | null;
}

/**
 * A new attempt's record: `launching`, nothing judged yet. `containerId` and
 * `containerName` are empty until the launch names the container (a fresh attempt), or the
 * container found by label (an attempt discovered on resume).
 */
export function newAttemptRecord(
  attempt: number,
  startedAt: string,
  container: { containerId: string; containerName: string } = { containerId: '', containerName: '' },
): AttemptRecord {
  return {
    attempt,
    containerId: container.containerId,
    containerName: container.containerName,
    status: 'launching',
    startedAt,
    endedAt: null,
    exitCode: null,
    oomKilled: false,
    outcome: null,
    reason: null,
    completedEvents: 0,
    interfaces: null,
    auditProblems: [],
    audited: false,
  };
}

/** One task as state.json records it. */
export interface TaskRecord {
  status: 'pending' | 'running' | 'completed' | 'failed';
  attempts: AttemptRecord[];
}

/**
 * `state.json`: everything needed to resume a run after the controller died. Written
 * atomically on every transition, so that after a SIGKILL at any moment it parses and
 * describes a real moment of the run.
 */
export interface RunState {
  readonly schemaVersion: typeof STATE_SCHEMA_VERSION;
  readonly runId: string;
  readonly seed: number;
  readonly scenario: Scenario;
  readonly scenarioFile: string | null;
  readonly image: string;
  readonly keelhaulVersion: string;
  /** `reaped`: the reaper removed the run's resources after its controller died. */
  status: 'running' | 'finished' | 'reaped';
  /** The run's start, ms since the epoch; `at` triggers count from it. */
  readonly startedAtMs: number;
  /** The controller now driving the run; `resume` replaces it. */
  controller: ControllerIdentity;
  /** Every controller that drove the run, oldest first. */
  controllers: ControllerIdentity[];
  networkName: string | null;
  /** The daemon the workers run on, as `connectDocker({host})` takes it (`unix:///…`, `tcp://…`). */
  readonly daemonHost: string;
  /**
   * The Docker context the daemon was reached through (its TLS material lives in the context
   * store, not in `daemonHost`), or null/absent when it was a host (`DOCKER_HOST`, the default
   * socket, a private daemon). See {@link daemonConnectOptions}.
   */
  readonly daemonContext?: string | null;
  /** The root of the run's private dockerd, when `daemon.mode` is private (the reaper removes it). */
  privateDaemonRoot: string | null;
  tasks: Record<string, TaskRecord>;
  /** Faults that fired (never fired again after a resume). */
  faults: FaultRecord[];
  /** The reaper watching this run, if one was started. */
  reaper: { pid: number; ttlMs: number } | null;
  /**
   * A system under test's process now running (scenario `sut`): the leader of its own process
   * group, which the reaper kills (`kill -<pid>`) when the controller died without doing so.
   */
  sut?: { pid: number; start: number | undefined; hostname: string; phase: 'run' | 'resume'; startedAt: string };
  /** Increases with every write; lets a reader tell two snapshots apart. */
  revision: number;
  updatedAt: string;
}

/**
 * `connectDocker`'s options to reach the run's daemon again from another process (the
 * reaper, `resume`, `status`): its context when it was reached through one, else its host
 * (TLS for a tcp host then comes from that process's DOCKER_TLS_VERIFY / DOCKER_CERT_PATH,
 * which the reaper inherits).
 */
export function daemonConnectOptions(state: Pick<RunState, 'daemonHost' | 'daemonContext'>): { host: string } | { context: string } {
  return state.daemonContext ? { context: state.daemonContext } : { host: state.daemonHost };
}

/** state.json is missing, unreadable or not a state of this version. */
export class StateError extends Error {
  override name = 'StateError';
  readonly path: string;
  constructor(path: string, message: string, options: { cause?: unknown } = {}) {
    super(`${path}: ${message}`, options);
    this.path = path;
  }
}

/**
 * Saves a run's state on every transition. Writes are serialised and coalesced: a save
 * requested while one is in flight writes the latest state once the first is done, so
 * the file never goes backwards and a burst of transitions costs at most two writes.
 */
export class StateStore {
  readonly path: string;
  #state: RunState;
  #writing: Promise<void> | undefined;
  /** Saves requested so far, and how many of them a finished write covered (a write serialises every change requested before it starts). */
  #requested = 0;
  #attempted = 0;
  #error: unknown;

  #redactor: Redactor = Redactor.none();

  constructor(path: string, state: RunState, options: { redactor?: Redactor } = {}) {
    this.path = path;
    this.#state = state;
    if (options.redactor) this.#redactor = options.redactor;
  }

  /** Replaces secret values (the scenario's env, and wherever else they appear) in every later write. */
  useRedactor(redactor: Redactor): void {
    this.#redactor = redactor;
  }

  get state(): RunState {
    return this.#state;
  }

  /** Applies `change` to the state and schedules a write; resolves once a write containing it is on disk. */
  async update(change: (state: RunState) => void): Promise<void> {
    change(this.#state);
    await this.save();
  }

  /**
   * Write-behind: starts a save without making the caller wait for it, for transitions a
   * resume can rebuild without them (an attempt `launching` or `running`: a resumed
   * controller finds its container by labels and adopts it, docs/recovery.md). Saves
   * requested while this one is in flight coalesce with it as for {@link save}; a failure
   * is kept and thrown by the next {@link save}, so it is never lost.
   *
   * Why: the launch critical path had three fsynced whole-file writes before
   * `attempt.running` (2–2.5 ms each), bench/README.md "Launch".
   */
  schedule(): void {
    void this.save().catch((error: unknown) => {
      // Kept for the next awaited save: the run learns of a failing disk at its next
      // transition that must be on disk (an exit, a completion, a fault record).
      this.#error ??= error;
    });
  }

  /**
   * Writes the current state (coalescing with a write in flight) and resolves once a write
   * that serialised it has finished: a caller whose change went into a write another caller
   * started waits for that write, not only for its own turn.
   * @throws the write's error (ENOSPC, EACCES…), to the first caller that sees it
   */
  async save(): Promise<void> {
    const wanted = ++this.#requested;
    while (this.#attempted < wanted) {
      if (this.#writing) {
        await this.#writing;
        continue;
      }
      // Every change requested so far is in this text.
      const covers = this.#requested;
      this.#state.revision += 1;
      this.#state.updatedAt = new Date().toISOString();
      const text = `${JSON.stringify(this.#redactor.value(this.#state), null, 2)}\n`;
      this.#writing = writeFileAtomic(this.path, text)
        .catch((error: unknown) => {
          this.#error = error;
        })
        .finally(() => {
          this.#attempted = Math.max(this.#attempted, covers);
          this.#writing = undefined;
        });
      await this.#writing;
    }
    if (this.#error) {
      const error = this.#error;
      this.#error = undefined;
      throw error;
    }
  }
}

/**
 * Reads and checks a state.json.
 * @throws {StateError} when it is missing, not JSON, or of another schema version
 */
export async function readRunState(path: string): Promise<RunState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StateError(path, code === 'ENOENT' ? 'no such file: is this a keelhaul run directory?' : `cannot read: ${String(error)}`, { cause: error });
  }
  let state: RunState;
  try {
    state = JSON.parse(text) as RunState;
  } catch (error) {
    throw new StateError(path, 'is not valid JSON (it is written atomically, so this is not a torn write: was it edited?)', { cause: error });
  }
  if (state.schemaVersion !== STATE_SCHEMA_VERSION) {
    throw new StateError(path, `has schemaVersion ${String(state.schemaVersion)}; this keelhaul reads ${STATE_SCHEMA_VERSION}`);
  }
  return state;
}
