/**
 * The daemon part: a handle on a Docker daemon. Either attach to an external one (read
 * only: keelhaul never stops a daemon it did not start), or start a private `dockerd` with
 * its own socket, data-root, exec-root, pidfile and bridge, which daemon faults may stop,
 * kill and restart. See docs/private-daemon.md.
 */
export { attachExternalDaemon, ExternalDaemon } from './external-daemon.js';
export { DEFAULT_STOP_TIMEOUT_MS, PrivateDaemon, privateDaemonPrerequisites, startPrivateDaemon, STATE_FILE } from './private-daemon.js';
export { removePrivateDaemonRoot } from './teardown.js';
export { findOnPath } from './host.js';
export { DEFAULT_READY_TIMEOUT_MS, type PrivateDaemonOptions, type PrivateDaemonTcp } from './options.js';
export type { DaemonConnectOptions, DaemonHandle, DaemonTransition, StopOptions } from './handle.js';
export {
  DaemonCleanupError,
  DaemonControlError,
  DaemonError,
  DaemonStartError,
  type CleanupFailure,
  type DaemonControlFailure,
  type DaemonErrorContext,
  type DaemonOperation,
  type DaemonStartFailure,
} from './errors.js';

import type { ExternalDaemon } from './external-daemon.js';
import type { PrivateDaemon } from './private-daemon.js';

/** Either kind of handle; narrow with `canControl` (true only for a {@link PrivateDaemon}). */
export type AnyDaemon = PrivateDaemon | ExternalDaemon;
