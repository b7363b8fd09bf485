import type { WorkerEvent } from '../worker/events.js';

/** The task as the worker receives it in `KEELHAUL_TASK` (docs/worker-contract.md). */
export interface AttemptTask {
  readonly id: string;
  readonly steps: readonly unknown[];
  /** Heartbeat interval, ms. */
  readonly heartbeatMs: number;
  readonly writes?: readonly string[];
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
 * Runs attempts as containers (docker) or processes (local). The controller depends only
 * on this interface.
 */
export interface WorkerBackend {
  readonly kind: 'docker' | 'local';
  /**
   * Creates what the run needs before any attempt (the per-run network). The caller has
   * checked that the image exists.
   */
  prepare(options?: { existingNetwork?: string }): Promise<void>;
  /** Launches one attempt; resolves once it runs. */
  launch(spec: AttemptSpec, observer: AttemptObserver): Promise<AttemptHandle>;
}
