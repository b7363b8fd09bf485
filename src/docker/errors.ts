/**
 * Typed errors of the Docker layer. Callers branch on the class and its fields (`status`,
 * `reason`, `resource`, `containerId`), never on the message text: the daemon's words
 * change between versions, the status codes of the Engine API do not
 * (https://docs.docker.com/engine/api/v1.41/, each operation's "Responses").
 */

/**
 * Why a Docker-layer call failed, as a caller branches on it. From the HTTP status when the
 * daemon answered: 304 `not-modified`, 400 `bad-request`, 403 `forbidden`, 404 `not-found`,
 * 409 `conflict`, any other status `server-error`; `daemon-unavailable` when nothing
 * answered; `target-unavailable` for a fault's target that is gone or held
 * ({@link TargetUnavailableError}); `build-failed`, `invalid-host` and `unknown` otherwise.
 */
export type DockerErrorReason =
  | 'daemon-unavailable'
  | 'not-modified'
  | 'bad-request'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'server-error'
  | 'target-unavailable'
  | 'build-failed'
  | 'invalid-host'
  | 'unknown';

/** The {@link DockerErrorReason} of an HTTP status the daemon answered with. */
export function reasonOfStatus(status: number): DockerErrorReason {
  switch (status) {
    case 304:
      return 'not-modified';
    case 400:
      return 'bad-request';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 409:
      return 'conflict';
    default:
      return 'server-error';
  }
}

/** What every Docker-layer error is built from besides its message. */
export interface DockerErrorOptions {
  /** What keelhaul was doing, e.g. `create container`, `kill container`. */
  readonly operation: string;
  /**
   * The HTTP status the daemon answered with. When absent it is read from `cause`
   * (docker-modem sets `statusCode` on the errors dockerode rejects with).
   */
  readonly status?: number;
  /** @default from `status` ({@link reasonOfStatus}), else `unknown` */
  readonly reason?: DockerErrorReason;
  /** The resource the call named, e.g. `container 1a2b3c`, `network kh-r1`. */
  readonly resource?: string;
  /** The container the call concerned, also for a network's connect/disconnect of it. */
  readonly containerId?: string;
  readonly cause?: unknown;
}

function statusOf(cause: unknown): number | undefined {
  const code = (cause as { statusCode?: unknown } | null | undefined)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Base class: every Docker-layer error carries the operation that failed, its HTTP status and a reason. */
export class DockerError extends Error {
  override name = 'DockerError';
  /** What keelhaul was doing, e.g. `create container`, `inspect image`. */
  readonly operation: string;
  /** The HTTP status of the daemon's answer (dockerode's `statusCode`); `undefined` when none came. */
  readonly status: number | undefined;
  /** Why it failed, for callers to branch on. */
  readonly reason: DockerErrorReason;
  /** The resource the call named (`container <id>`, `network <name>`, `image <ref>`), when there was one. */
  readonly resource: string | undefined;
  /** The container concerned, when there was one (for a network connect/disconnect too). */
  readonly containerId: string | undefined;
  constructor(message: string, options: DockerErrorOptions) {
    super(message, { cause: options.cause });
    this.operation = options.operation;
    this.status = options.status ?? statusOf(options.cause);
    this.reason = options.reason ?? (this.status !== undefined ? reasonOfStatus(this.status) : 'unknown');
    this.resource = options.resource;
    this.containerId = options.containerId;
  }
}

/**
 * No Docker daemon answered: the socket is missing (ENOENT: daemon stopped), refuses
 * connections (ECONNREFUSED: daemon killed, stale socket) or accepts but does not answer
 * within the ping timeout (a daemon restoring containers, DOCKER-NOTES.md).
 */
export class DaemonUnavailableError extends DockerError {
  override name = 'DaemonUnavailableError';
  /** The endpoint tried: a socket path, `tcp://host:port` or `ssh://user@host`. */
  readonly daemonSocket: string;
  /** errno-style code when there was one (`ENOENT`, `ECONNREFUSED`, `EACCES`, `ETIMEDOUT`, a TLS code). */
  readonly code: string | undefined;
  /** How the endpoint was chosen (`DOCKER_HOST`, `context "ci" (DOCKER_CONTEXT)`), when known. */
  readonly via: string | undefined;
  constructor(daemonSocket: string, options: { operation: string; code?: string; via?: string; cause?: unknown; message?: string }) {
    const why =
      options.code === 'ENOENT'
        ? 'the socket does not exist (is dockerd running?)'
        : options.code === 'ECONNREFUSED'
          ? daemonSocket.startsWith('/')
            ? 'the socket refused the connection (dockerd stopped or died)'
            : 'the connection was refused (nothing listens on that port)'
          : options.code === 'EACCES'
            ? 'permission denied on the socket (run as root or join the docker group)'
            : options.code === 'ETIMEDOUT'
              ? 'the daemon did not answer in time'
              : (options.code ?? (options.cause instanceof Error && options.cause.message ? options.cause.message : 'unknown error'));
    const where = `${daemonSocket}${options.via ? ` (${options.via})` : ''}`;
    super(options.message ?? `No Docker daemon answers at ${where}: ${why}. Start one (scripts/docker-up.sh) or set DOCKER_HOST, then check with \`keelhaul doctor\`.`, {
      operation: options.operation,
      reason: 'daemon-unavailable',
      cause: options.cause,
    });
    this.daemonSocket = daemonSocket;
    this.code = options.code;
    this.via = options.via;
  }
}

/**
 * What went wrong in a TLS connection to a daemon, as a caller branches on it:
 * - `client-certificate-required`: the daemon (`--tlsverify`) asked for a client certificate and got none;
 * - `client-certificate-rejected`: it refused the one sent (another CA, expired);
 * - `daemon-certificate-untrusted`: the daemon's certificate does not chain to the CA in use;
 * - `daemon-name-mismatch`: the daemon's certificate does not name the host connected to;
 * - `daemon-speaks-plain`: TLS was spoken to a daemon without TLS;
 * - `daemon-speaks-tls`: plain HTTP was spoken to a daemon that requires TLS (it answers 400);
 * - `handshake-failed`: any other TLS failure (the code says which).
 */
export type TlsProblem =
  | 'client-certificate-required'
  | 'client-certificate-rejected'
  | 'daemon-certificate-untrusted'
  | 'daemon-name-mismatch'
  | 'daemon-speaks-plain'
  | 'daemon-speaks-tls'
  | 'handshake-failed';

/** Node's error codes for TLS failures (OpenSSL's alerts as `ERR_SSL_*`, verification as X509 names). */
const TLS_CODES: Readonly<Record<string, TlsProblem>> = {
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'client-certificate-required',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'client-certificate-rejected',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'client-certificate-rejected',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'client-certificate-rejected',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'client-certificate-rejected',
  ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR: 'client-certificate-rejected',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'daemon-certificate-untrusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'daemon-certificate-untrusted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'daemon-certificate-untrusted',
  UNABLE_TO_GET_ISSUER_CERT: 'daemon-certificate-untrusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'daemon-certificate-untrusted',
  CERT_HAS_EXPIRED: 'daemon-certificate-untrusted',
  CERT_NOT_YET_VALID: 'daemon-certificate-untrusted',
  CERT_UNTRUSTED: 'daemon-certificate-untrusted',
  CERT_SIGNATURE_FAILURE: 'daemon-certificate-untrusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'daemon-name-mismatch',
  ERR_SSL_WRONG_VERSION_NUMBER: 'daemon-speaks-plain',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'daemon-speaks-plain',
};

/** The {@link TlsProblem} of a Node error code, or `undefined` when the code is not a TLS one. */
export function tlsProblemOfCode(code: string): TlsProblem | undefined {
  return TLS_CODES[code] ?? (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') ? 'handshake-failed' : undefined);
}

const TLS_ADVICE: Readonly<Record<TlsProblem, string>> = {
  'client-certificate-required':
    "it requires a client certificate and none was sent: put the cert.pem and key.pem made for it in DOCKER_CERT_PATH (default ~/.docker), or in the context's TLS store",
  'client-certificate-rejected': 'it refused the client certificate (signed by another CA, or expired): use the cert.pem and key.pem made for this daemon',
  'daemon-certificate-untrusted': "its certificate does not chain to the CA in use: point DOCKER_CERT_PATH at the directory holding this daemon's ca.pem",
  'daemon-name-mismatch': "its certificate does not name the host connected to: connect by a name or IP address in the certificate's subjectAltName",
  'daemon-speaks-plain': 'it does not speak TLS: unset DOCKER_TLS_VERIFY and DOCKER_TLS, or connect to its TLS port (2376 by convention)',
  'daemon-speaks-tls': 'it requires TLS (it answered plain HTTP with 400): set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and key.pem',
  'handshake-failed': 'check that DOCKER_CERT_PATH (or the context) holds the ca.pem, cert.pem and key.pem made for this daemon',
};

/**
 * The TLS connection to a daemon failed: it answered, but not to these credentials. A
 * {@link DaemonUnavailableError} (nothing usable answers, so the CLI exits 3 and a run's
 * outage handling waits as for any daemon gone), with `tlsProblem` to branch on.
 */
export class DaemonTlsError extends DaemonUnavailableError {
  override name = 'DaemonTlsError';
  readonly tlsProblem: TlsProblem;
  /** @param options.hint what keelhaul knows that explains it, e.g. `no cert.pem and key.pem in /certs` */
  constructor(daemonSocket: string, options: { operation: string; problem: TlsProblem; code?: string; via?: string; hint?: string; cause?: unknown }) {
    const where = `${daemonSocket}${options.via ? ` (${options.via})` : ''}`;
    super(daemonSocket, {
      ...options,
      message: `The Docker daemon at ${where} refused the TLS connection${options.code ? ` (${options.code})` : ''}${options.hint ? `, ${options.hint}` : ''}: ${TLS_ADVICE[options.problem]}. Check with \`keelhaul doctor\`.`,
    });
    this.tlsProblem = options.problem;
  }
}

/** An image reference that the daemon does not have (nothing can be pulled offline). HTTP 404. */
export class ImageNotFoundError extends DockerError {
  override name = 'ImageNotFoundError';
  readonly image: string;
  constructor(image: string, options: { operation: string; hint?: string; cause?: unknown }) {
    super(`Image ${image} does not exist on the Docker daemon.${options.hint ? ` ${options.hint}` : ''}`, {
      operation: options.operation,
      status: 404,
      resource: `image ${image}`,
      cause: options.cause,
    });
    this.image = image;
  }
}

/** A container, network or volume that was expected but is gone (HTTP 404, reason `not-found`). */
export class ResourceNotFoundError extends DockerError {
  override name = 'ResourceNotFoundError';
  override readonly resource: string;
  constructor(resource: string, options: { operation: string; containerId?: string; cause?: unknown }) {
    super(`${resource} does not exist on the Docker daemon (${options.operation})`, { ...options, status: 404, resource });
    this.resource = resource;
  }
}

/**
 * The resource exists but its state refuses the operation (HTTP 409, reason `conflict`): a
 * container not running (kill), already paused or restarting (pause), being removed
 * (removal, network connect/disconnect), a name in use (create). The API says which only in
 * its message text, which `detail` keeps for people to read.
 */
export class ResourceConflictError extends DockerError {
  override name = 'ResourceConflictError';
  override readonly resource: string;
  /** The daemon's own words, for the message; never branched on. */
  readonly detail: string;
  constructor(resource: string, options: { operation: string; detail: string; containerId?: string; cause?: unknown }) {
    super(`Docker ${options.operation} (${resource}) refused, conflict with its state: ${options.detail}`, { ...options, status: 409, resource });
    this.resource = resource;
    this.detail = options.detail;
  }
}

/**
 * The resource is already in the state asked for (HTTP 304, reason `not-modified`): a
 * container already stopped (stop) or already started (start). Callers that ask for a state
 * usually treat it as success.
 */
export class ResourceNotModifiedError extends DockerError {
  override name = 'ResourceNotModifiedError';
  override readonly resource: string;
  constructor(resource: string, options: { operation: string; containerId?: string; cause?: unknown }) {
    super(`Docker ${options.operation} (${resource}): already in that state`, { ...options, status: 304, resource });
    this.resource = resource;
  }
}

/**
 * What a fault's target is, when it is not there to act on (see {@link TargetUnavailableError}):
 * - `not-found`: it no longer exists (HTTP 404; no such attempt process)
 * - `conflict`: the daemon refused on its state (HTTP 409: not running, paused, restarting, being removed)
 * - `not-running`: it exited (seen by inspection, or the process is gone: ESRCH)
 * - `paused`: frozen, by another fault (a pause)
 * - `not-connected`: not on the network the fault cuts (another partition holds it)
 */
export type TargetUnavailableReason = 'not-found' | 'conflict' | 'not-running' | 'paused' | 'not-connected';

/**
 * A fault's target went away or is held between the label query that chose it and the
 * action: it finished its task and exited or is being removed, or another fault froze or
 * disconnected it. The injector then draws another candidate in its place (docs/faults.md,
 * Targets). Thrown by the fault actions (src/chaos/) for Docker targets, built from the
 * Docker error that revealed it (`status` and `cause` are that error's), and by the local
 * backend for its attempt processes (`status` undefined).
 */
export class TargetUnavailableError extends DockerError {
  override name = 'TargetUnavailableError';
  /** The fault kind that could not act, e.g. `kill`. */
  readonly kind: string;
  /** The target: a container id, or a local attempt's `pid:<n>`. */
  override readonly containerId: string;
  /** What the target is instead of available. */
  readonly targetState: TargetUnavailableReason;
  constructor(kind: string, containerId: string, options: { targetState: TargetUnavailableReason; detail: string; operation?: string; status?: number; cause?: unknown }) {
    super(`${kind} on ${containerId.startsWith('pid:') ? 'process' : 'container'} ${containerId.startsWith('pid:') ? containerId : containerId.slice(0, 12)}: ${options.detail}`, {
      operation: options.operation ?? kind,
      ...(options.status !== undefined ? { status: options.status } : {}),
      reason: 'target-unavailable',
      resource: `${containerId.startsWith('pid:') ? 'process' : 'container'} ${containerId}`,
      containerId,
      cause: options.cause,
    });
    this.kind = kind;
    this.containerId = containerId;
    this.targetState = options.targetState;
  }
}

/** An image build failed; `log` holds the last lines the daemon streamed. */
export class ImageBuildError extends DockerError {
  override name = 'ImageBuildError';
  readonly tag: string;
  readonly log: readonly string[];
  constructor(tag: string, message: string, options: { log: readonly string[]; cause?: unknown }) {
    super(`Building image ${tag} failed: ${message}`, { operation: 'build image', reason: 'build-failed', resource: `image ${tag}`, cause: options.cause });
    this.tag = tag;
    this.log = options.log;
  }
}

/** errno codes (and docker-modem's abort) that mean "no daemon at the other end of the socket". */
const DAEMON_DOWN_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'ABORT_ERR']);

/**
 * The shape of the errors dockerode rejects with (docker-modem's `buildRequest`): an HTTP
 * answer sets `statusCode` and `json` (the daemon's `{message}` body); a socket failure sets
 * `code` (an errno); an aborted request is named `AbortError`.
 */
interface DockerodeErrorLike {
  readonly code?: unknown;
  readonly statusCode?: unknown;
  readonly json?: { readonly message?: unknown } | null;
  readonly name?: unknown;
  readonly message?: unknown;
}

/**
 * Maps an error dockerode rejected with to keelhaul's typed errors, on the errno code and
 * the HTTP status only (the status comes from docker-modem's `statusCode`):
 * socket errnos / an abort → {@link DaemonUnavailableError}; with a `resource`, 304 →
 * {@link ResourceNotModifiedError}, 404 → {@link ResourceNotFoundError}, 409 →
 * {@link ResourceConflictError}; anything else → {@link DockerError} with that `status`
 * and its reason. The daemon's message is kept for the message text only.
 *
 * A TLS failure (Node's `ERR_SSL_*`, `ERR_TLS_*` and certificate verification codes) →
 * {@link DaemonTlsError}.
 *
 * @param endpoint the daemon's socket path or `tcp://host:port`, for {@link DaemonUnavailableError}
 * @param via how the endpoint was chosen, for the message
 */
export function fromDockerodeError(error: unknown, context: { endpoint: string; operation: string; resource?: string; containerId?: string; via?: string }): DockerError {
  if (error instanceof DockerError) return error;
  const e = (error ?? {}) as DockerodeErrorLike;
  const { operation, resource, endpoint } = context;
  const containerId = context.containerId !== undefined ? { containerId: context.containerId } : {};
  const via = context.via !== undefined ? { via: context.via } : {};
  if (typeof e.code === 'string' && DAEMON_DOWN_CODES.has(e.code)) {
    return new DaemonUnavailableError(endpoint, { operation, code: e.code === 'ABORT_ERR' ? 'ETIMEDOUT' : e.code, ...via, cause: error });
  }
  const tlsProblem = typeof e.code === 'string' ? tlsProblemOfCode(e.code) : undefined;
  if (tlsProblem !== undefined) return new DaemonTlsError(endpoint, { operation, problem: tlsProblem, code: e.code as string, ...via, cause: error });
  if (e.name === 'AbortError' || e.name === 'TimeoutError') {
    return new DaemonUnavailableError(endpoint, { operation, code: 'ETIMEDOUT', ...via, cause: error });
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const bodyMessage = typeof e.json?.message === 'string' ? e.json.message : undefined;
  const detail = bodyMessage ?? (error instanceof Error ? error.message : String(error));
  if (resource !== undefined) {
    if (status === 304) return new ResourceNotModifiedError(resource, { operation, ...containerId, cause: error });
    if (status === 404) return new ResourceNotFoundError(resource, { operation, ...containerId, cause: error });
    if (status === 409) return new ResourceConflictError(resource, { operation, detail, ...containerId, cause: error });
  }
  return new DockerError(`Docker ${operation}${resource ? ` (${resource})` : ''} failed: ${detail}`, {
    operation,
    ...(status !== undefined ? { status } : {}),
    ...(resource !== undefined ? { resource } : {}),
    ...containerId,
    cause: error,
  });
}
