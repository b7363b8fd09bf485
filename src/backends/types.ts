import type { BackendApply, FaultClient, TargetSource } from '../chaos/index.js';
import type { TaskSpec } from '../scenario/index.js';
import type { WorkerEvent } from '../worker/events.js';

/**
 * The task as the worker receives it in `KEELHAUL_TASK` (docs/worker-contract.md): the
 * task's fields as the scenario has them (its own fields, any JSON, unchanged) and the
 * scenario's heartbeat interval; `locks` stay with the controller.
 */
export interface AttemptTask {
  readonly id: string;
  /** The reference worker's steps; absent for a task of a worker of the user's own. */
  readonly steps?: readonly unknown[];
  /** Heartbeat interval, ms. */
  readonly heartbeatMs: number;
  readonly writes?: readonly string[];
  /** The task's own fields, handed over as written. */
  readonly [field: string]: unknown;
}

/**
 * The `KEELHAUL_TASK` object of a task: every field of the task but `locks` (the
 * controller's, not the worker's), in the order written, then `heartbeatMs`.
 *
 * @param heartbeatMs the scenario's heartbeat interval, ms
 */
export function attemptTaskOf(task: TaskSpec, heartbeatMs: number): AttemptTask {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(task)) if (key !== 'locks') fields[key] = value;
  return { ...fields, id: task.id, heartbeatMs };
}

/** Everything needed to launch one attempt of one task. */
export interface AttemptSpec {
  readonly runId: string;
  readonly taskId: string;
  /** 1-based. */
  readonly attempt: number;
  /** Unsigned 32-bit run seed, passed as `KEELHAUL_SEED`. */
  readonly seed: number;
  readonly task: AttemptTask;
  /** Labels for the attempt's container (run, role, task, attempt, scenario, version, controller). */
  readonly labels: Readonly<Record<string, string>>;
  /** Directory for `stdout.log` and `stderr.log` of this attempt. */
  readonly logDir: string;
}

/** Callbacks the backend calls while an attempt streams its output. */
export interface AttemptObserver {
  /** A stdout line that parsed as a worker event. */
  onEvent(event: WorkerEvent): void;
  /**
   * A stdout line that is not a worker event (kept in stdout.log, reported, otherwise
   * ignored); `lineNumber` is its 1-based line in the attempt's stdout.
   */
  onInvalidLine?(line: string, error: string, lineNumber: number): void;
  /** The output stream ended but the attempt still runs (the daemon went away and came back, or the container was restarted): it is followed again. */
  onReattach?(): void;
}

/** How an attempt ended, as the backend observed it. */
export interface AttemptExit {
  /** Exit code; 128 + n when killed by signal n (137 for SIGKILL). */
  readonly exitCode: number;
  /** The kernel's OOM killer ended it (`State.OOMKilled`; judge by this, not the code). */
  readonly oomKilled: boolean;
  /** ISO time the backend saw the exit. */
  readonly endedAt: string;
  /**
   * The daemon went away while the attempt ran, so output it wrote meanwhile may be lost:
   * a worker that exits while dockerd is down leaves what it wrote in a pipe nobody drains.
   */
  readonly outputMayBeLost?: boolean;
}

/** A launched attempt. */
export interface AttemptHandle {
  /** Container id (docker) or `pid:<n>` (local). */
  readonly id: string;
  /** Container name or process description, for messages. */
  readonly name: string;
  /** ISO time the attempt started running. */
  readonly startedAt: string;
  /**
   * Resolves once the attempt has exited and all of its output has been delivered to the
   * observer, so every event precedes the exit in the run's timeline.
   */
  wait(): Promise<AttemptExit>;
  /** Sends a signal (`SIGKILL`, `SIGTERM`, …); a no-op once exited. */
  kill(signal: string): Promise<void>;
}

/**
 * What a backend's attempts are, so the controller chooses what applies to them by
 * capability rather than by backend name.
 */
export interface BackendCapabilities {
  /**
   * Attempts are containers of the run's daemon: inspected after start (the hardening
   * audit, the image id), probed from inside (isolation), followed by the daemon's events
   * (exit codes, OOM), sampled by Engine API stats, removed as soon as their task completes,
   * found by label on resume and by the reaper, judged by state-matches-daemon.
   */
  readonly containers: boolean;
  /** Attempts are processes of this one (ids `pid:<n>`): sampled by pid, ended with it. */
  readonly processes: boolean;
  /** Task workspaces are Docker volumes a helper container can mount ({@link WorkerBackend.workspaceVolume}). */
  readonly workspaceVolumes: boolean;
}

/**
 * What the fault injector acts through (chaos/'s `FaultContext`): a Docker client that
 * answers the label query and every fault's client slice (containers), or only the label
 * query and `apply`, for a backend that acts on its own attempts (processes).
 */
export type FaultTargets = { readonly docker: FaultClient; readonly apply?: undefined } | { readonly docker: TargetSource; readonly apply: BackendApply };

/** What a backend that owns its resources itself removed at the run's end, and what it could not. */
export interface BackendCleanup {
  readonly removed: { readonly containers: number; readonly networks: number; readonly volumes: number; readonly errors: readonly string[] };
  readonly leaks: { readonly containers: readonly string[]; readonly networks: readonly string[]; readonly volumes: readonly string[] };
}

/**
 * Runs attempts as containers (docker) or processes (local). The controller depends only
 * on this interface, and constructs only the backend the scenario asks for.
 */
export interface WorkerBackend {
  readonly kind: 'docker' | 'local';
  /** What the attempts are; see {@link BackendCapabilities}. */
  readonly capabilities: BackendCapabilities;
  /** The per-run network attempts join, once prepared; undefined when there is none. */
  readonly networkName: string | undefined;
  /**
   * Creates what the run needs before any attempt (the per-run network). The caller has
   * checked that the image exists. `existingNetwork`: a resumed run's network, reused when
   * it still exists.
   */
  prepare(options?: { existingNetwork?: string }): Promise<void>;
  /** Launches one attempt; resolves once it runs. */
  launch(spec: AttemptSpec, observer: AttemptObserver): Promise<AttemptHandle>;
  /**
   * Takes over an attempt a previous controller launched (resume): replays its output
   * (events with `seq` ≤ `skipThroughSeq` are not delivered again) and follows it.
   * @throws when the attempt is gone, or the backend cannot re-attach (its attempts die with their controller)
   */
  reattach(attemptId: string, spec: Pick<AttemptSpec, 'logDir'>, observer: AttemptObserver, options?: { skipThroughSeq?: number }): Promise<AttemptHandle>;
  /** The task's next attempt gets a new, empty workspace (after a disk-full failure); the old one stays until cleanup. */
  freshWorkspace(taskId: string): void;
  /** Removes the task's current workspace once its task is done with it; `true` when it removed one. Never throws. */
  releaseWorkspace(taskId: string): Promise<boolean>;
  /**
   * The task's current workspace volume, created if need be, for a helper container to mount.
   * @throws when the backend has no volumes (`capabilities.workspaceVolumes` false) or the daemon refuses
   */
  workspaceVolume(taskId: string): Promise<string>;
  /** Each task's current workspace directory on this host, for snapshots before cleanup; empty when workspaces are volumes. */
  workspaceDirectories(): Promise<ReadonlyMap<string, string>>;
  /** The daemon stopped answering: attempts alive now replay their output at their exit. A no-op without a daemon. */
  noteDaemonOutage(): void;
  /** What the fault injector queries for targets and acts through. */
  faultTargets(): FaultTargets;
  /**
   * Ends what the backend itself owns at the run's end and reports it; `undefined` when its
   * resources carry the run's label and the run's cleanup by label removes them with the rest.
   */
  cleanup(): Promise<BackendCleanup | undefined>;
}
