/**
 * The on-disk layout of a private daemon's root dir, its state file, and the small helpers
 * the handle and the teardown share.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Default of `StopOptions.timeoutMs`: above the ~13.5 s shutdown with running containers (DOCKER-NOTES.md). */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** How long kill() and the SIGKILL after a stop timeout wait for the process to be gone, in ms. */
export const KILL_WAIT_MS = 10_000;

/** Name of the file in the root dir that records what keelhaul created on the host. */
export const STATE_FILE = 'keelhaul-daemon.json';
export const STATE_FORMAT = 'keelhaul-private-daemon/1';

/** `<rootDir>/keelhaul-daemon.json`: enough to undo everything without the live handle. */
export interface DaemonState {
  readonly format: typeof STATE_FORMAT;
  readonly name: string;
  readonly bridge: string;
  /** True once `ip link add` made the bridge: remove() deletes only a bridge it made. */
  bridgeCreated: boolean;
  subnetIndex: number | undefined;
  /** Bridges with a FORWARD rule of ours (the daemon's `kh-` bridge, user networks' `br-…`). */
  forwardRules: string[];
  readonly createdBy: { readonly pid: number; readonly at: string };
}

/** Where everything of one private daemon lives. */
export interface Paths {
  readonly root: string;
  /** `--host unix://<root>/docker.sock` */
  readonly socket: string;
  /** `--pidfile` */
  readonly pidfile: string;
  /** `--config-file`: `{"live-restore": …}` */
  readonly config: string;
  /** dockerd's stdout and stderr, appended across restarts */
  readonly log: string;
  /** `--data-root` */
  readonly data: string;
  /** `--exec-root` (containerd's state and sockets, netns files) */
  readonly exec: string;
  readonly state: string;
}

export function pathsOf(root: string): Paths {
  return {
    root,
    socket: join(root, 'docker.sock'),
    pidfile: join(root, 'docker.pid'),
    config: join(root, 'daemon.json'),
    log: join(root, 'dockerd.log'),
    data: join(root, 'data'),
    exec: join(root, 'exec'),
    state: join(root, STATE_FILE),
  };
}

export const TIMED_OUT = Symbol('timed out');

/**
 * `promise`, or {@link TIMED_OUT} after `ms`. The timer is cleared as soon as the promise
 * settles, so it never keeps the process alive longer than the work does.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  const controller = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(ms, undefined, { signal: controller.signal }).then(
        (): typeof TIMED_OUT => TIMED_OUT,
        (): typeof TIMED_OUT => TIMED_OUT,
      ),
    ]);
  } finally {
    controller.abort();
  }
}
