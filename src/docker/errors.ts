/**
 * Typed errors of the Docker layer. Callers branch on the class and its fields, never on
 * the message text.
 */

/** Base class: every Docker-layer error carries the operation that failed. */
export class DockerError extends Error {
  override name = 'DockerError';
  /** What keelhaul was doing, e.g. `create container`, `inspect image`. */
  readonly operation: string;
  constructor(message: string, options: { operation: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.operation = options.operation;
  }
}

/**
 * No Docker daemon answered: the socket is missing (ENOENT: daemon stopped), refuses
 * connections (ECONNREFUSED: daemon killed, stale socket) or accepts but does not answer
 * within the ping timeout (a daemon restoring containers, DOCKER-NOTES.md).
 */
export class DaemonUnavailableError extends DockerError {
  override name = 'DaemonUnavailableError';
  /** The endpoint tried: a socket path or `tcp://host:port`. */
  readonly daemonSocket: string;
  /** errno-style code when there was one (`ENOENT`, `ECONNREFUSED`, `EACCES`, `ETIMEDOUT`). */
  readonly code: string | undefined;
  constructor(daemonSocket: string, options: { operation: string; code?: string; cause?: unknown }) {
    const why =
      options.code === 'ENOENT'
        ? 'the socket does not exist (is dockerd running?)'
        : options.code === 'ECONNREFUSED'
          ? 'the socket refused the connection (dockerd stopped or died)'
          : options.code === 'EACCES'
            ? 'permission denied on the socket (run as root or join the docker group)'
            : options.code === 'ETIMEDOUT'
              ? 'the daemon did not answer in time'
              : `${options.code ?? 'unknown error'}`;
    super(
      `No Docker daemon answers at ${daemonSocket}: ${why}. Start one (scripts/docker-up.sh) or set DOCKER_HOST, then check with \`keelhaul doctor\`.`,
      options,
    );
    this.daemonSocket = daemonSocket;
    this.code = options.code;
  }
}

/** An image reference that the daemon does not have (nothing can be pulled offline). */
export class ImageNotFoundError extends DockerError {
  override name = 'ImageNotFoundError';
  readonly image: string;
  constructor(image: string, options: { operation: string; hint?: string; cause?: unknown }) {
    super(
      `Image ${image} does not exist on the Docker daemon.${options.hint ? ` ${options.hint}` : ''}`,
      options,
    );
    this.image = image;
  }
}

/** A container, network or volume that was expected but is gone (HTTP 404). */
export class ResourceNotFoundError extends DockerError {
  override name = 'ResourceNotFoundError';
  readonly resource: string;
  constructor(resource: string, options: { operation: string; cause?: unknown }) {
    super(`${resource} does not exist on the Docker daemon (${options.operation})`, options);
    this.resource = resource;
  }
}

/** An image build failed; `log` holds the last lines the daemon streamed. */
export class ImageBuildError extends DockerError {
  override name = 'ImageBuildError';
  readonly tag: string;
  readonly log: readonly string[];
  constructor(tag: string, message: string, options: { log: readonly string[]; cause?: unknown }) {
    super(`Building image ${tag} failed: ${message}`, { operation: 'build image', cause: options.cause });
    this.tag = tag;
    this.log = options.log;
  }
}
