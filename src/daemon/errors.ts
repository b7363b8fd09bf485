/**
 * Typed errors of the daemon part. Callers branch on the class and on `reason`, never on
 * the message text. Every error carries the daemon's context (socket, root dir, pid) as far
 * as it was known when the error happened.
 */

/** Where a daemon error happened: the fields a caller logs or branches on. */
export interface DaemonErrorContext {
  /** The daemon's socket path, e.g. `/tmp/keelhaul-dockerd-a1b2c3/docker.sock`. */
  readonly socketPath?: string | undefined;
  /** The private daemon's root directory; `undefined` for an external daemon. */
  readonly rootDir?: string | undefined;
  /** The dockerd pid at the time of the error, when one was running. */
  readonly pid?: number | undefined;
  readonly cause?: unknown;
}

/** Base class of the daemon part's errors. */
export class DaemonError extends Error {
  override name = 'DaemonError';
  readonly socketPath: string | undefined;
  readonly rootDir: string | undefined;
  readonly pid: number | undefined;
  constructor(message: string, context: DaemonErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.socketPath = context.socketPath;
    this.rootDir = context.rootDir;
    this.pid = context.pid;
  }
}

/** Why a private daemon did not start; see {@link DaemonStartError.reason}. */
export type DaemonStartFailure =
  /** Not running as root (uid 0): dockerd, `ip` and `iptables` all need it. */
  | 'not-root'
  /** A command keelhaul needs is not on PATH: see {@link DaemonStartError.missing}. */
  | 'missing-command'
  /** `rootDir` is not empty and was not made by keelhaul, or already holds a daemon. */
  | 'root-dir-in-use'
  /** The bridge could not be created, or no free 10.212.N.0/24 subnet was found. */
  | 'network'
  /** dockerd could not be spawned at all (ENOENT, EACCES). */
  | 'spawn'
  /** dockerd exited before it answered a ping; the log tail says why. */
  | 'exited'
  /** dockerd was alive but did not answer a ping within `readyTimeoutMs`. */
  | 'timeout';

/**
 * A private daemon could not be started, or started again. `logTail` holds the last lines
 * of `<rootDir>/dockerd.log`, which is where dockerd says why (e.g. `pid file found, ensure
 * docker is not running`).
 */
export class DaemonStartError extends DaemonError {
  override name = 'DaemonStartError';
  readonly reason: DaemonStartFailure;
  /** Commands or privileges that are missing (`root`, `dockerd`, `iptables`, …); empty otherwise. */
  readonly missing: readonly string[];
  /** The last lines of dockerd's log, oldest first; empty when dockerd never ran. */
  readonly logTail: readonly string[];
  /** True when the ready wait ran out of time (`reason === 'timeout'`). */
  readonly timedOut: boolean;
  /** How long the ready wait was allowed, in ms. */
  readonly readyTimeoutMs: number | undefined;
  /** dockerd's exit code when it exited before it was ready. */
  readonly exitCode: number | undefined;
  /** The signal that ended dockerd when it died before it was ready. */
  readonly signal: string | undefined;
  /** Set when cleaning up after the failed start failed too (the start error stays the main one). */
  readonly cleanupError: unknown;
  readonly #message: string;
  constructor(
    message: string,
    options: DaemonErrorContext & {
      reason: DaemonStartFailure;
      missing?: readonly string[];
      logTail?: readonly string[];
      readyTimeoutMs?: number;
      exitCode?: number;
      signal?: string;
      cleanupError?: unknown;
    },
  ) {
    const tail = options.logTail && options.logTail.length > 0 ? `\n--- dockerd.log (last ${options.logTail.length} lines) ---\n${options.logTail.join('\n')}` : '';
    super(`${message}${tail}`, options);
    this.#message = message;
    this.reason = options.reason;
    this.missing = options.missing ?? [];
    this.logTail = options.logTail ?? [];
    this.timedOut = options.reason === 'timeout';
    this.readyTimeoutMs = options.readyTimeoutMs;
    this.exitCode = options.exitCode;
    this.signal = options.signal;
    this.cleanupError = options.cleanupError;
  }

  /** A copy of this error with `cleanupError` set (errors are immutable once thrown). */
  withCleanupError(cleanupError: unknown): DaemonStartError {
    const copy = new DaemonStartError(this.#message, {
      socketPath: this.socketPath,
      rootDir: this.rootDir,
      pid: this.pid,
      cause: this.cause,
      reason: this.reason,
      missing: this.missing,
      logTail: this.logTail,
      ...(this.readyTimeoutMs !== undefined ? { readyTimeoutMs: this.readyTimeoutMs } : {}),
      ...(this.exitCode !== undefined ? { exitCode: this.exitCode } : {}),
      ...(this.signal !== undefined ? { signal: this.signal } : {}),
      cleanupError,
    });
    copy.stack = this.stack;
    return copy;
  }
}

/** What was asked of a daemon when a {@link DaemonControlError} happened. */
export type DaemonOperation = 'start' | 'stop' | 'kill' | 'restart' | 'set-live-restore' | 'allow-network-traffic';

/** Why a control operation failed; see {@link DaemonControlError.reason}. */
export type DaemonControlFailure =
  /** The daemon was not started by keelhaul (an external daemon): keelhaul never stops it. */
  | 'not-controllable'
  /** The handle was removed; a removed daemon cannot be started again. */
  | 'removed'
  /** The process did not exit (or the reload did not happen) within the allowed time. */
  | 'timeout'
  /** dockerd logged an error while reloading daemon.json after SIGHUP. */
  | 'reload-failed'
  /** A host command (`iptables`) or a signal failed. */
  | 'failed';

/** A stop, kill, restart or reconfiguration could not be done. */
export class DaemonControlError extends DaemonError {
  override name = 'DaemonControlError';
  readonly operation: DaemonOperation;
  readonly reason: DaemonControlFailure;
  readonly timedOut: boolean;
  constructor(message: string, options: DaemonErrorContext & { operation: DaemonOperation; reason: DaemonControlFailure }) {
    super(message, options);
    this.operation = options.operation;
    this.reason = options.reason;
    this.timedOut = options.reason === 'timeout';
  }
}

/** One cleanup step that failed during `remove()`. */
export interface CleanupFailure {
  /** e.g. `umount /tmp/keelhaul-dockerd-x/data`, `delete bridge kh-x`, `remove root dir`. */
  readonly step: string;
  readonly error: unknown;
}

/**
 * `remove()` could not undo everything. It ran every step it could (best effort, in order)
 * and lists the ones that failed; calling `remove()` again retries them.
 */
export class DaemonCleanupError extends DaemonError {
  override name = 'DaemonCleanupError';
  readonly failures: readonly CleanupFailure[];
  constructor(failures: readonly CleanupFailure[], context: DaemonErrorContext) {
    const lines = failures.map((f) => `  - ${f.step}: ${f.error instanceof Error ? f.error.message : String(f.error)}`);
    super(`Removing the private Docker daemon at ${context.rootDir ?? context.socketPath ?? '?'} left ${failures.length} step(s) undone:\n${lines.join('\n')}`, {
      ...context,
      cause: failures[0]?.error,
    });
    this.failures = failures;
  }
}
