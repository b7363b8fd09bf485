/**
 * A handle on a daemon keelhaul did not start (the machine's own, or DOCKER_HOST's). It can
 * be connected to, never stopped: a fault must not take down a daemon other work depends on.
 */
import { connectDocker, defaultDockerHost, type DockerClient } from '../docker/index.js';
import { DaemonControlError, type DaemonOperation } from './errors.js';
import type { DaemonConnectOptions, DaemonHandle, DaemonTransition } from './handle.js';

/** A read-only handle on a daemon keelhaul did not start; see {@link attachExternalDaemon}. */
export class ExternalDaemon implements DaemonHandle {
  /** Always false: keelhaul never stops a daemon it did not start. */
  readonly canControl = false as const;
  readonly host: string;
  readonly socketPath: string | undefined;
  /** Whether the caller named the host; otherwise connect() resolves as the docker CLI does (a context keeps its TLS). */
  readonly #explicit: boolean;

  constructor(host: string, options: { explicit?: boolean } = {}) {
    this.host = host;
    this.socketPath = host.startsWith('unix://') ? host.slice('unix://'.length) : host.startsWith('/') ? host : undefined;
    this.#explicit = options.explicit ?? true;
  }

  connect(options: DaemonConnectOptions = {}): Promise<DockerClient> {
    return connectDocker({ ...(this.#explicit ? { host: this.host } : {}), ...(options.pingTimeoutMs !== undefined ? { pingTimeoutMs: options.pingTimeoutMs } : {}) });
  }

  #refuse(operation: DaemonOperation): never {
    throw new DaemonControlError(
      `Cannot ${operation} the Docker daemon at ${this.host}: keelhaul never stops a daemon it did not start. ` +
        'Run daemon faults against a private daemon (startPrivateDaemon), and check `canControl` before acting.',
      { operation, reason: 'not-controllable', socketPath: this.socketPath },
    );
  }

  /** @throws {DaemonControlError} always (`reason: 'not-controllable'`). */
  async start(): Promise<DaemonTransition> {
    this.#refuse('start');
  }

  /** @throws {DaemonControlError} always (`reason: 'not-controllable'`). */
  async stop(): Promise<DaemonTransition> {
    this.#refuse('stop');
  }

  /** @throws {DaemonControlError} always (`reason: 'not-controllable'`). */
  async kill(): Promise<DaemonTransition> {
    this.#refuse('kill');
  }

  /** @throws {DaemonControlError} always (`reason: 'not-controllable'`). */
  async restart(): Promise<DaemonTransition> {
    this.#refuse('restart');
  }
}

/**
 * A read-only handle on an existing daemon.
 * @param host `unix:///path`, an absolute socket path, `tcp://host:port` or `ssh://user@host`;
 *   default: the docker CLI's choice (`DOCKER_HOST`, `DOCKER_CONTEXT`, the current context,
 *   `unix:///var/run/docker.sock`), reached with that choice's TLS.
 */
export function attachExternalDaemon(host?: string): ExternalDaemon {
  const value = host ?? defaultDockerHost();
  return new ExternalDaemon(value.startsWith('/') ? `unix://${value}` : value, { explicit: host !== undefined });
}
