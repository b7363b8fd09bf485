/**
 * What every daemon handle offers, whether keelhaul started the daemon or not. Faults that
 * stop, kill or restart a daemon check {@link DaemonHandle.canControl} first: only a
 * {@link PrivateDaemon} can be controlled, an external daemon never is.
 */
import type { DockerClient } from '../docker/index.js';

/** Options of `connect()`. */
export interface DaemonConnectOptions {
  /**
   * Timeout of the connect-time ping, in ms (see `connectDocker`).
   * @default 5000
   */
  readonly pingTimeoutMs?: number;
}

/** Options of `stop()` and `restart()`. */
export interface StopOptions {
  /**
   * How long to wait for dockerd to exit after SIGTERM before sending SIGKILL, in ms. With
   * live-restore off, dockerd stops every container first (each gets its stop timeout, 10 s
   * by default, before SIGKILL), so a shutdown with running containers takes about 13.5 s
   * (DOCKER-NOTES.md, "Daemon stop and kill").
   * @default 30000
   */
  readonly timeoutMs?: number;
}

/** What a start, stop, kill or restart did, for the run's event log. */
export interface DaemonTransition {
  readonly operation: 'start' | 'stop' | 'kill' | 'restart';
  /** Wall time of the whole operation, in ms (for start: spawn until the first ping answer). */
  readonly durationMs: number;
  /** dockerd's pid before the operation; `undefined` when it was not running. */
  readonly pidBefore: number | undefined;
  /** dockerd's pid after the operation; `undefined` when it is not running. */
  readonly pidAfter: number | undefined;
  /** True when the operation found nothing to do (stop of a stopped daemon, start of a running one). */
  readonly noop: boolean;
  /** stop only: SIGTERM did not end dockerd within `timeoutMs`, so it was SIGKILLed. */
  readonly forced: boolean;
}

/** A Docker daemon keelhaul talks to. */
export interface DaemonHandle {
  /** True only for a daemon keelhaul started itself ({@link PrivateDaemon}). */
  readonly canControl: boolean;
  /** `unix:///path/docker.sock` or `tcp://host:port`: what `connectDocker({host})` takes. */
  readonly host: string;
  /** The socket path when `host` is a unix socket; `undefined` for tcp. */
  readonly socketPath: string | undefined;
  /** A Docker client for this daemon (pings it first; throws `DaemonUnavailableError` when it is down). */
  connect(options?: DaemonConnectOptions): Promise<DockerClient>;
  start(): Promise<DaemonTransition>;
  stop(options?: StopOptions): Promise<DaemonTransition>;
  kill(): Promise<DaemonTransition>;
  restart(options?: StopOptions): Promise<DaemonTransition>;
}
