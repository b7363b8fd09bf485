import Dockerode from 'dockerode';
import { PassThrough, type Readable } from 'node:stream';
import {
  DaemonTlsError,
  DaemonUnavailableError,
  DockerError,
  fromDockerodeError,
  ImageNotFoundError,
  ResourceNotFoundError,
  ResourceNotModifiedError,
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- imported for the {@link ResourceConflictError} in the DockerClient docstring
  type ResourceConflictError,
} from './errors.js';
import { buildImageFromDirectory, removeImageIfUntagged, type BuildImageOptions } from './image-build.js';
import { labelFilter } from './labels.js';
import { demuxWithBackpressure } from './demux-stream.js';
import { toApiTimestamp } from './api-time.js';
import { Agent as HttpsAgent } from 'node:https';
import { readFileSync } from 'node:fs';
import { endpointEnv, nodeEndpointFiles, resolveEndpoint } from './host.js';
import { registryAuthFor } from './registry-auth.js';
import { homedir } from 'node:os';
import { describeSource, EndpointError, type DockerEndpoint } from './endpoint.js';
import { parseContainerStats, type ContainerStatsSample, type RawContainerStats } from './stats.js';

export type { BuildImageOptions } from './image-build.js';

/**
 * The one place that constructs a Docker client. Everything else receives a
 * {@link DockerClient}: a small interface with plain-object arguments and results, so
 * that a fake for unit tests is a plain object, not a dockerode mock. dockerode's own
 * types never leave src/docker/.
 */

/** How to reach a daemon; with neither `host` nor `context`, as the docker CLI would (endpoint.ts). */
export interface ConnectOptions {
  /**
   * `unix:///path/docker.sock`, a bare socket path, `tcp://host:port` (TLS from
   * `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`, like `docker -H`) or `ssh://user@host`.
   * @default DOCKER_HOST, else DOCKER_CONTEXT's or the current context's host, else `/var/run/docker.sock`
   */
  readonly host?: string;
  /** A Docker context's name (like `docker --context`): its host and its TLS material. Not with `host`. */
  readonly context?: string;
  /**
   * Timeout of the connect-time ping, in ms. A daemon restoring its containers accepts
   * connections without answering (DOCKER-NOTES.md), so the ping needs its own bound.
   * @default 5000
   */
  readonly pingTimeoutMs?: number;
}

/** `GET /version`, trimmed to what keelhaul reports. */
export interface DaemonVersion {
  readonly version: string;
  readonly apiVersion: string;
  /** The API version this client pinned after negotiation, e.g. `1.41`. */
  readonly negotiatedApiVersion: string;
  readonly os: string;
  readonly arch: string;
  readonly kernelVersion: string;
}

/** An image as `GET /images/{name}/json` describes it. */
export interface ImageInfo {
  readonly id: string;
  readonly repoTags: readonly string[];
  readonly repoDigests: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** Bytes. */
  readonly size: number;
  readonly created: string;
}

/** A tmpfs or ext4-on-loop volume option set, passed through as `DriverOpts`. */
export interface VolumeSpec {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** @default `local` */
  readonly driver?: string;
  readonly driverOpts?: Readonly<Record<string, string>>;
}

export interface NetworkSpec {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `Internal: true` gives the network no route out (only as good as the daemon's iptables). */
  readonly internal: boolean;
  /** @default `bridge` */
  readonly driver?: string;
}

/**
 * One mount of a container: a named volume, a tmpfs, or a bind mount of a host path. Worker
 * containers never get a bind mount; only Compose topology services do (src/compose/), and
 * a bind of the Docker socket only with the scenario's `dangerouslyAllow.dockerSocket`.
 */
export type MountSpec =
  | {
      readonly type: 'volume';
      readonly source: string;
      readonly target: string;
      readonly readOnly?: boolean;
      /**
       * `VolumeOptions.NoCopy`: do not copy what the image has at `target` into an empty
       * volume. Docker's copy-up also copies the image directory's owner and mode onto the
       * volume's root at every create while the volume is empty (measured, Docker 20.10),
       * which would undo a workspace's ownership (src/backends/workspace-owner.ts). @default false
       */
      readonly noCopy?: boolean;
    }
  | { readonly type: 'tmpfs'; readonly target: string; readonly sizeBytes?: number; readonly mode?: number }
  | { readonly type: 'bind'; readonly source: string; readonly target: string; readonly readOnly?: boolean };

/**
 * What keelhaul asks of a container. Field names follow the Engine API's
 * `POST /containers/create` body (https://docs.docker.com/engine/api/v1.41/#operation/ContainerCreate).
 */
export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
  readonly cmd?: readonly string[];
  readonly entrypoint?: readonly string[];
  /** `uid:gid`; a worker is never root. */
  readonly user?: string;
  readonly workingDir?: string;
  /** `none`, `bridge`, or a network name. */
  readonly networkMode: string;
  readonly mounts: readonly MountSpec[];
  readonly readonlyRootfs: boolean;
  readonly capDrop: readonly string[];
  readonly capAdd?: readonly string[];
  readonly securityOpt: readonly string[];
  /** Memory limit, bytes; `HostConfig.Memory`. */
  readonly memoryBytes?: number;
  /** `HostConfig.PidsLimit`. */
  readonly pidsLimit?: number;
  /** CPU quota in units of 1e-9 CPUs; `HostConfig.NanoCpus`. */
  readonly nanoCpus?: number;
  /** `HostConfig.Init`: run tini as pid 1 so signals reach the process and zombies are reaped. */
  readonly init?: boolean;
  /** `HostConfig.Privileged`; only a Compose service with `dangerouslyAllow.privileged` asks for it. */
  readonly privileged?: boolean;
  /** DNS aliases on the network `networkMode` names (`NetworkingConfig.EndpointsConfig`), e.g. a Compose service's name. */
  readonly networkAliases?: readonly string[];
}

/** `GET /containers/{id}/json`, trimmed to what the controller and checks read. */
export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  /** The image reference the container was created from (`Config.Image`). */
  readonly image: string;
  /** The image's id (`sha256:…`) the container runs, whatever its tag names now; what `repro` re-runs. */
  readonly imageId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly state: {
    /** `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`. */
    readonly status: string;
    readonly running: boolean;
    readonly paused: boolean;
    readonly exitCode: number;
    /** Judge OOM by this flag, not the exit code alone (DOCKER-NOTES.md: exit 0 with OOMKilled happens). */
    readonly oomKilled: boolean;
    /** Host pid of the container's init; 0 when not running. */
    readonly pid: number;
    readonly startedAt: string;
    readonly finishedAt: string;
  };
  readonly hostConfig: {
    readonly networkMode: string;
    readonly readonlyRootfs: boolean;
    readonly capDrop: readonly string[];
    readonly securityOpt: readonly string[];
    readonly memoryBytes: number;
    readonly pidsLimit: number;
    /** `HostConfig.Privileged`. */
    readonly privileged: boolean;
  };
  readonly user: string;
  /** `name` is the volume's name for volume mounts, '' otherwise. */
  readonly mounts: readonly { readonly type: string; readonly source: string; readonly destination: string; readonly name: string }[];
  readonly networks: readonly string[];
  /** Network name → the container's IPv4 address on it ('' when it has none). */
  readonly networkAddresses: Readonly<Record<string, string>>;
}

/** A row of `GET /containers/json`. */
export interface ContainerSummary {
  readonly id: string;
  readonly names: readonly string[];
  readonly image: string;
  readonly state: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface NetworkSummary {
  readonly id: string;
  readonly name: string;
  readonly internal: boolean;
  readonly labels: Readonly<Record<string, string>>;
}

export interface VolumeSummary {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The attached output streams of a container, demultiplexed (no TTY). */
export interface ContainerOutput {
  readonly stdout: Readable;
  readonly stderr: Readable;
}

/**
 * The narrow Docker client the rest of keelhaul depends on. Every method throws
 * {@link DaemonUnavailableError} when the daemon does not answer, {@link ResourceNotFoundError}
 * for a missing container/network/volume (HTTP 404), {@link ResourceConflictError} when its
 * state refuses the operation (HTTP 409: not running, paused, being removed),
 * {@link ResourceNotModifiedError} for HTTP 304 where a method does not treat it as success,
 * and {@link DockerError} otherwise; each carries the daemon's `status`, a `reason`, the
 * `resource` named and, for container operations, `containerId` (errors.ts).
 */
export interface DockerClient {
  /** The endpoint in use, for messages: a socket path (other parts test `startsWith('/')` for a local daemon), `tcp://host:port` or `ssh://user@host`. */
  readonly endpoint: string;
  /**
   * How the endpoint was reached: its source (option, `DOCKER_HOST`, a context), TLS and the
   * files used. Optional so that a fake client needs none; a real one always has it.
   */
  readonly connection?: DockerEndpoint;
  /** `GET /_ping` bounded by `timeoutMs` (default 5000). */
  ping(options?: { timeoutMs?: number }): Promise<void>;
  version(): Promise<DaemonVersion>;
  /** `undefined` when the image is absent. */
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  removeImage(ref: string, options?: { force?: boolean }): Promise<void>;
  /**
   * `POST /images/create?fromImage=…&tag=…` (`docker pull`), with the credentials config.json's
   * `auths` holds for the image's registry (registry-auth.ts; no credential helpers).
   * `onProgress` gets one line per layer status (`<layer>: Downloading 12.3 MB / 40.1 MB`).
   * Optional in the interface so a fake needs none; a real client always has it.
   * @throws {ImageNotFoundError} when the registry has no such image (or refuses the credentials)
   * @throws {DockerError} for any other failure the daemon streams
   */
  pullImage?(ref: string, options?: { onProgress?: (line: string) => void }): Promise<void>;
  /** Returns the network id. */
  createNetwork(spec: NetworkSpec): Promise<string>;
  removeNetwork(idOrName: string): Promise<void>;
  /** Returns the volume name. */
  createVolume(spec: VolumeSpec): Promise<string>;
  removeVolume(name: string, options?: { force?: boolean }): Promise<void>;
  /** Returns the container id. Throws {@link ImageNotFoundError} when `spec.image` is absent. */
  createContainer(spec: ContainerSpec): Promise<string>;
  /** Attach before start so no early line is lost; streams end when the container exits. */
  attachContainer(id: string): Promise<ContainerOutput>;
  /**
   * The container's whole output so far (`GET /containers/{id}/logs`, json-file driver),
   * demultiplexed; with `follow` the streams stay open until the container exits. Used to
   * re-attach to an attempt after the controller restarted.
   */
  containerLogs(id: string, options: { follow: boolean }): Promise<ContainerOutput>;
  startContainer(id: string): Promise<void>;
  /**
   * `PUT /containers/{id}/archive?path=`: extracts a tar archive into the container's
   * filesystem at `path` (an absolute directory), volumes mounted; works on a container that
   * was created and never started. Entries keep the tar's uid, gid and mode
   * (https://docs.docker.com/engine/api/v1.41/#operation/PutContainerArchive). Refused (500)
   * under a read-only root filesystem unless `path` is inside a volume.
   */
  putArchive(id: string, path: string, tar: Buffer): Promise<void>;
  /** `POST /containers/{id}/wait`: resolves with the exit code once the container stops. */
  waitContainer(id: string): Promise<{ exitCode: number }>;
  inspectContainer(id: string): Promise<ContainerInfo>;
  /** `POST /containers/{id}/kill`; Docker records an API kill as a manual stop (moby#47792). */
  killContainer(id: string, signal: string): Promise<void>;
  removeContainer(id: string, options?: { force?: boolean; volumes?: boolean }): Promise<void>;
  /**
   * `POST /containers/{id}/stop?t=`: SIGTERM, then SIGKILL after `timeoutSeconds` (the
   * API's unit is whole seconds). A container already stopped (HTTP 304) is not an error.
   */
  stopContainer(id: string, options: { timeoutSeconds: number }): Promise<void>;
  /**
   * `POST /containers/{id}/pause`: the cgroup freezer. `exec` is refused while paused, but an
   * exec already starting when the pause lands hangs in `runc exec` and holds the container's
   * lock in dockerd (cgroup v1, Docker 20.10): pause nothing the controller is exec'ing into.
   */
  pauseContainer(id: string): Promise<void>;
  unpauseContainer(id: string): Promise<void>;
  /** `POST /containers/{id}/restart?t=`: stop (SIGTERM, SIGKILL after `timeoutSeconds`), then start the same container. */
  restartContainer(id: string, options: { timeoutSeconds: number }): Promise<void>;
  /** `POST /networks/{id}/disconnect`; `force` also works when the container is not running. */
  disconnectNetwork(network: string, containerId: string): Promise<void>;
  /** `POST /networks/{id}/connect`: the container gets the same IP back (DOCKER-NOTES); `aliases`: DNS names on that network. */
  connectNetwork(network: string, containerId: string, options?: { aliases?: readonly string[] }): Promise<void>;
  /**
   * Runs a command in a running container (`POST /containers/{id}/exec`, then start and
   * inspect) and resolves with its exit code and output, bounded by `timeoutMs`.
   */
  execInContainer(id: string, cmd: readonly string[], options?: { timeoutMs?: number; user?: string }): Promise<{ exitCode: number; output: string }>;
  /** Label query; `all` includes stopped containers (default true). */
  listContainers(query: { labels: Record<string, string>; all?: boolean; status?: string }): Promise<ContainerSummary[]>;
  listNetworks(query: { labels: Record<string, string> }): Promise<NetworkSummary[]>;
  listVolumes(query: { labels: Record<string, string> }): Promise<VolumeSummary[]>;
  /**
   * Builds a local directory into an image (tar-fs pack with symlinks followed, legacy
   * builder); see {@link buildImageFromDirectory}. Throws {@link ImageBuildError}.
   */
  buildImage(options: BuildImageOptions): Promise<{ imageId: string }>;
  /** Removes an image no tag names any more (best effort); returns whether it was removed. */
  removeImageIfUntagged(imageId: string): Promise<boolean>;
  /**
   * `GET /images/{name}/get` (https://docs.docker.com/engine/api/v1.41/#operation/ImageGet):
   * the image as a `docker save` tar (its layers, config and `manifest.json` with the tags of
   * `ref`), streamed — nothing is buffered or written to disk here; the stream is
   * back-pressured by whoever reads it. Save by name, not by id: an id-only tar loads untagged.
   * Destroy the stream to cancel (the HTTP response is closed with it). `signal` aborts the request.
   * @throws {ImageNotFoundError} when this daemon has no image `ref` (HTTP 404), naming it
   * @throws {DaemonUnavailableError} when the daemon does not answer
   */
  saveImage(ref: string, options?: { signal?: AbortSignal }): Promise<Readable>;
  /**
   * `POST /images/load?quiet=1` (https://docs.docker.com/engine/api/v1.41/#operation/ImageLoad):
   * uploads `tar` (a `docker save` tar, e.g. another daemon's {@link saveImage} stream) as the
   * request body, piped so a slow daemon slows the source down, and resolves once the daemon
   * has loaded it, with the references it reported (`Loaded image: name:tag` or
   * `Loaded image ID: sha256:…`). An image already there under a tag in the tar gets the tag moved.
   * @throws {DockerError} (`operation: 'load image'`) when the daemon reports an error in its
   *   answer (an HTTP 200 stream can carry one), answers with an error status, or `tar` fails
   *   or ends early (the source's error is the `cause`)
   * @throws {DaemonUnavailableError} when the daemon does not answer
   */
  loadImage(tar: Readable, options?: { signal?: AbortSignal }): Promise<{ loaded: string[] }>;
  /**
   * `GET /events?filters={"type":["container"],"label":[…]}`: the raw stream of container
   * events of containers carrying all of `labels`, newline-delimited JSON
   * (https://docs.docker.com/engine/api/v1.41/#operation/SystemEvents). With `since` the
   * daemon first replays its buffered events (its last 256) from that time on; without
   * `until` the stream stays open. Times are a Date or the API's `seconds.fraction` string.
   * `signal` aborts the request and destroys the stream. Most callers want
   * {@link subscribeEvents} (parsing, reconnects, de-duplication) instead.
   */
  events(options: { labels: Record<string, string>; since?: Date | string; until?: Date | string; signal?: AbortSignal }): Promise<Readable>;
  /**
   * `GET /containers/{id}/stats?stream=false`: one sample; the daemon waits for two of its
   * 1 s collections so that the CPU figure has a previous reading, so this takes 1–2 s.
   * Throws {@link ContainerNotRunningError} for a container that exists but is not running.
   * `signal` aborts the request (the monitor's stop: nobody waits 1–2 s for a sample that
   * will be thrown away); the call then rejects.
   */
  containerStats(id: string, options?: { signal?: AbortSignal }): Promise<ContainerStatsSample>;
}

/** The newest Engine API version this client speaks; higher daemon versions are pinned down to it. */
export const MAX_API_VERSION = '1.45';

function compareApiVersions(a: string, b: string): number {
  const [amaj = 0, amin = 0] = a.split('.').map(Number);
  const [bmaj = 0, bmin = 0] = b.split('.').map(Number);
  return amaj - bmaj || amin - bmin;
}

/**
 * dockerode's options for an endpoint, through docker-modem's own transports: a unix
 * socket, `https` with `ca`/`cert`/`key` for TLS, and its `ssh` protocol (lib/ssh.js: an
 * ssh2 connection running `docker system dial-stdio` on the remote host, authenticated by
 * ssh-agent). Every key docker-modem's `defaultOpts()` fills from `DOCKER_HOST` is set here
 * explicitly (modem.js merges those env defaults *under* the options), so the endpoint
 * resolved here decides, not the raw environment: a private daemon's socket stays its
 * socket while `DOCKER_HOST` names a tcp daemon.
 *
 * @throws {EndpointError} `missing-file` when a TLS file vanished since resolution, or cannot be read
 */
function dockerodeOptions(endpoint: DockerEndpoint): Dockerode.DockerOptions {
  const unset = {
    socketPath: undefined,
    host: undefined,
    port: undefined,
    username: undefined,
    protocol: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
    timeout: undefined,
  };
  if (endpoint.scheme === 'unix') return { ...unset, socketPath: endpoint.socketPath };
  if (endpoint.scheme === 'ssh') {
    const agent = endpointEnv().SSH_AUTH_SOCK;
    return {
      ...unset,
      protocol: 'ssh',
      host: endpoint.hostname,
      port: endpoint.port ?? 22,
      username: endpoint.username,
      // Only the host keys known_hosts lists for it (endpoint.ts); ssh2 would accept any.
      sshOptions: {
        ...(agent ? { agent } : {}),
        hostVerifier: (key: Buffer) => (endpoint.sshHostKeys ?? []).includes(key.toString('base64')),
      },
    };
  }
  const tls = endpoint.tls;
  if (!tls) return { ...unset, protocol: 'http', host: endpoint.hostname, port: endpoint.port };
  const read = (file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      throw new EndpointError(`Cannot read ${file} for the TLS connection to ${endpoint.host} (${describeSource(endpoint.source)}): ${(error as Error).message}`, {
        problem: 'missing-file',
        via: describeSource(endpoint.source),
        endpoint: endpoint.host,
        path: file,
        cause: error,
      });
    }
  };
  const ca = tls.verify ? read(tls.caFile) : undefined;
  const cert = read(tls.certFile);
  const key = read(tls.keyFile);
  return {
    ...unset,
    protocol: 'https',
    host: endpoint.hostname,
    port: endpoint.port,
    ca,
    cert,
    key,
    // docker-modem passes no `rejectUnauthorized`; an agent carries it for SkipTLSVerify /
    // DOCKER_TLS without verification. Keep-alive saves a TLS handshake per request.
    ...{ agent: new HttpsAgent({ keepAlive: true, rejectUnauthorized: tls.verify, ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) }) },
  };
}

/**
 * `new Dockerode(options)` with `DOCKER_HOST` hidden from docker-modem for the duration of
 * the (synchronous) constructor. docker-modem's `defaultOpts()` parses `DOCKER_HOST` itself
 * and, when it names a tcp daemon and `DOCKER_CERT_PATH` is set, reads ca.pem, cert.pem and
 * key.pem there unconditionally — throwing ENOENT for a directory without a client pair,
 * which the docker CLI accepts, and even when the options name another daemon (a private
 * one's socket). The options built here set every key it would derive, so hiding the variable
 * changes nothing else. Restored in `finally`; nothing else runs in between (one thread).
 */
function constructHidingDockerHost(options: Dockerode.DockerOptions): Dockerode {
  const saved = process.env['DOCKER_HOST'];
  delete process.env['DOCKER_HOST'];
  try {
    return new Dockerode(options);
  } finally {
    if (saved !== undefined) process.env['DOCKER_HOST'] = saved;
  }
}

/**
 * Connects to a daemon, pings it (bounded) and negotiates the API version: the client
 * pins `min(daemon ApiVersion, MAX_API_VERSION)`, as the docker CLI does
 * (https://docs.docker.com/engine/api/#api-version-matrix).
 *
 * The endpoint is the docker CLI's (endpoint.ts): `options.host` or `options.context`, else
 * `DOCKER_HOST`, `DOCKER_CONTEXT`, config.json's `currentContext`, the default socket; TLS
 * from `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH` or the context's store.
 *
 * @throws {EndpointError} when the endpoint cannot be resolved (an unknown context, a missing
 *   ca.pem, an unsupported scheme): nothing was contacted.
 * @throws {DaemonTlsError} when the daemon refuses the TLS connection (`tlsProblem` says why).
 * @throws {DaemonUnavailableError} when nothing answers within `pingTimeoutMs`.
 */
export async function connectDocker(options: ConnectOptions = {}): Promise<DockerClient> {
  const endpoint = resolveEndpoint({ host: options.host, context: options.context });
  let docker: Dockerode;
  try {
    docker = constructHidingDockerHost(dockerodeOptions(endpoint));
  } catch (error) {
    if (error instanceof EndpointError) throw error;
    throw new EndpointError(`Cannot set up the Docker client for ${endpoint.display} (${describeSource(endpoint.source)}): ${(error as Error).message}`, {
      problem: 'invalid-host',
      via: describeSource(endpoint.source),
      endpoint: endpoint.host,
      cause: error,
    });
  }
  const client = new DockerodeClient(docker, endpoint);
  await client.ping({ timeoutMs: options.pingTimeoutMs ?? 5000 });
  const version = await client.version();
  // Pin the version only after negotiation; unversioned paths would follow the daemon.
  (docker.modem as unknown as { version: string }).version = `v${version.negotiatedApiVersion}`;
  return client;
}

class DockerodeClient implements DockerClient {
  readonly endpoint: string;
  readonly connection: DockerEndpoint;
  readonly #docker: Dockerode;
  /** How the endpoint was chosen, in words, for error messages. */
  readonly #via: string;

  constructor(docker: Dockerode, endpoint: DockerEndpoint) {
    this.#docker = docker;
    this.endpoint = endpoint.display;
    this.connection = endpoint;
    this.#via = describeSource(endpoint.source);
  }

  buildImage(options: BuildImageOptions): Promise<{ imageId: string }> {
    return buildImageFromDirectory(this.#docker, options);
  }

  removeImageIfUntagged(imageId: string): Promise<boolean> {
    return removeImageIfUntagged(this.#docker, imageId);
  }

  /**
   * Maps a dockerode/HTTP error to keelhaul's typed errors by errno and HTTP status
   * ({@link fromDockerodeError}); `resource` names what the call was about, `containerId`
   * the container it concerned (also for a network's connect/disconnect).
   */
  #wrap(error: unknown, operation: string, resource?: string, containerId?: string): DockerError {
    const wrapped = fromDockerodeError(error, {
      endpoint: this.endpoint,
      via: this.#via,
      operation,
      ...(resource !== undefined ? { resource } : {}),
      ...(containerId !== undefined ? { containerId } : {}),
    });
    // A daemon that wants a client certificate, when none was found: say where one was looked
    // for. dockerd (Go, measured with 20.10) answers a missing certificate with the
    // `bad_certificate` alert, the same as a wrong one: without a certificate it means "required".
    const tls = this.connection.tls;
    const refused = wrapped instanceof DaemonTlsError && (wrapped.tlsProblem === 'client-certificate-required' || wrapped.tlsProblem === 'client-certificate-rejected');
    if (wrapped instanceof DaemonTlsError && refused && tls && tls.certFile === undefined) {
      return new DaemonTlsError(this.endpoint, {
        operation,
        problem: 'client-certificate-required',
        ...(wrapped.code !== undefined ? { code: wrapped.code } : {}),
        via: this.#via,
        hint: `no cert.pem and key.pem in ${tls.dir}`,
        cause: error,
      });
    }
    return wrapped;
  }

  async #call<T>(operation: string, resource: string | undefined, fn: () => Promise<T>, containerId?: string): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.#wrap(error, operation, resource, containerId);
    }
  }

  /** {@link #call} for an operation on one container: the error names it as resource and `containerId`. */
  #onContainer<T>(operation: string, id: string, fn: () => Promise<T>): Promise<T> {
    return this.#call(operation, `container ${id}`, fn, id);
  }

  async ping(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 5000;
    try {
      // dockerode forwards `abortSignal` to docker-modem (lib/docker.js ping); the types omit it.
      await (this.#docker.ping as (opts: { abortSignal: AbortSignal }) => Promise<unknown>)({
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const wrapped = this.#wrap(error, `ping (timeout ${timeoutMs} ms)`);
      if (wrapped instanceof DaemonUnavailableError) throw wrapped;
      // A daemon listening with TLS answers plain HTTP with 400 ("Client sent an HTTP
      // request to an HTTPS server"): name that, not an unknown error.
      if (wrapped.status === 400 && this.connection.scheme === 'tcp' && !this.connection.tls) {
        throw new DaemonTlsError(this.endpoint, { operation: 'ping', problem: 'daemon-speaks-tls', via: this.#via, cause: error });
      }
      throw new DaemonUnavailableError(this.endpoint, {
        operation: 'ping',
        via: this.#via,
        ...(wrapped.status !== undefined ? { code: `HTTP ${wrapped.status}` } : {}),
        cause: error,
      });
    }
  }

  async version(): Promise<DaemonVersion> {
    const v = await this.#call('version', undefined, () => this.#docker.version());
    const api = v.ApiVersion;
    return {
      version: v.Version,
      apiVersion: api,
      negotiatedApiVersion: compareApiVersions(api, MAX_API_VERSION) < 0 ? api : MAX_API_VERSION,
      os: v.Os,
      arch: v.Arch,
      kernelVersion: v.KernelVersion ?? '',
    };
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    try {
      const info = await this.#docker.getImage(ref).inspect();
      return {
        id: info.Id,
        repoTags: info.RepoTags ?? [],
        repoDigests: info.RepoDigests ?? [],
        labels: info.Config?.Labels ?? {},
        size: info.Size,
        created: info.Created,
      };
    } catch (error) {
      const wrapped = this.#wrap(error, 'inspect image', `image ${ref}`);
      if (wrapped instanceof ResourceNotFoundError) return undefined;
      throw wrapped;
    }
  }

  async pullImage(ref: string, options: { onProgress?: (line: string) => void } = {}): Promise<void> {
    const { auth, note } = registryAuthFor(ref, endpointEnv(), nodeEndpointFiles, homedir());
    if (note !== undefined) options.onProgress?.(note);
    let stream: Readable;
    try {
      stream = (await this.#docker.pull(ref, auth ? { authconfig: auth } : {})) as Readable;
    } catch (error) {
      const wrapped = this.#wrap(error, 'pull image', `image ${ref}`);
      if (wrapped.status === 404 || wrapped.status === 401 || wrapped.status === 403) {
        throw new ImageNotFoundError(ref, { operation: 'pull image', hint: `The registry refused it: ${wrapped.message}`, cause: error });
      }
      // The daemon answered but could not pull (500: no registry reachable, a DNS failure —
      // an offline machine): the image is still missing, and that is what the user must hear.
      if (wrapped.status !== undefined && wrapped.status >= 500) {
        throw new ImageNotFoundError(ref, {
          operation: 'pull image',
          hint: `The pull failed: ${wrapped.message}. Build or load it on this daemon (docker build / docker load), or set pull: never.`,
          cause: error,
        });
      }
      throw wrapped;
    }
    // The daemon reports a failed pull inside the stream (`{"error": …}`) with HTTP 200.
    let failure: string | undefined;
    // A layer's status changes a few times (Waiting, Downloading, Extracting, Pull complete);
    // its byte counter many times a second: a change of status always, a counter once a second.
    const last = new Map<string, { status: string; at: number }>();
    const report = (id: string, status: string, line: string): void => {
      const previous = last.get(id);
      const now = Date.now();
      if (previous && previous.status === status && now - previous.at < 1000) return;
      last.set(id, { status, at: now });
      options.onProgress?.(line);
    };
    await new Promise<void>((done, fail) => {
      this.#docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? fail(this.#wrap(error, 'pull image', `image ${ref}`)) : done()),
        (event: { status?: string; id?: string; progress?: string; error?: string; errorDetail?: { message?: string } }) => {
          if (event.error !== undefined) failure = event.errorDetail?.message ?? event.error;
          else if (event.status !== undefined)
            report(event.id ?? '', event.status, `${event.id ? `${event.id}: ` : ''}${event.status}${event.progress ? ` ${event.progress}` : ''}`);
        },
      );
    });
    if (failure !== undefined) {
      throw new ImageNotFoundError(ref, { operation: 'pull image', hint: `The pull failed: ${failure}` });
    }
  }

  async removeImage(ref: string, options: { force?: boolean } = {}): Promise<void> {
    await this.#call('remove image', `image ${ref}`, () => this.#docker.getImage(ref).remove({ force: options.force ?? false }));
  }

  async saveImage(ref: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    try {
      // dockerode's Image#get (the same request) takes no abortSignal; docker-modem's dial does.
      return await new Promise<Readable>((resolve, reject) => {
        this.#docker.modem.dial(
          {
            path: `/images/${ref}/get`,
            method: 'GET',
            isStream: true,
            ...(options.signal ? { abortSignal: options.signal } : {}),
            statusCodes: { 200: true, 404: 'no such image', 500: 'server error' },
          },
          (error: unknown, data: unknown) => (error ? reject(error as Error) : resolve(data as Readable)),
        );
      });
    } catch (error) {
      const wrapped = this.#wrap(error, 'save image', `image ${ref}`);
      if (wrapped instanceof ResourceNotFoundError) throw new ImageNotFoundError(ref, { operation: 'save image', cause: error });
      throw wrapped;
    }
  }

  async loadImage(tar: Readable, options: { signal?: AbortSignal } = {}): Promise<{ loaded: string[] }> {
    // The source's own failure (the other daemon went away mid-save), kept as the cause:
    // docker-modem destroys the upload with it, and the daemon's answer then says little.
    let sourceError: unknown;
    const onSourceError = (error: unknown): void => {
      sourceError ??= error;
    };
    tar.on('error', onSourceError);
    const fail = (detail: string, cause: unknown): DockerError =>
      new DockerError(`Docker load image on ${this.endpoint} failed: ${detail}`, { operation: 'load image', reason: 'server-error', cause });
    try {
      let response: NodeJS.ReadableStream;
      try {
        response = await this.#docker.loadImage(tar as NodeJS.ReadableStream, { quiet: true, ...(options.signal ? { abortSignal: options.signal } : {}) });
      } catch (error) {
        if (sourceError !== undefined) throw fail(`the image tar being uploaded failed: ${messageOf(sourceError)}`, sourceError);
        throw this.#wrap(error, 'load image');
      }
      // The daemon answers 200 and then tells success or failure in JSON lines:
      // {"stream":"Loaded image: a:b\n"} or {"errorDetail":{"message":…},"error":…}.
      const loaded: string[] = [];
      let failure: string | undefined;
      const take = (line: string): void => {
        let message: { stream?: unknown; error?: unknown; errorDetail?: { message?: unknown } };
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          return; // not JSON (an older daemon's plain text): nothing to branch on
        }
        const error = message.errorDetail?.message ?? message.error;
        if (typeof error === 'string') failure ??= error;
        const match = /Loaded image(?: ID)?: (\S+)/.exec(typeof message.stream === 'string' ? message.stream : '');
        if (match?.[1]) loaded.push(match[1]);
      };
      let rest = '';
      try {
        for await (const chunk of response as AsyncIterable<Buffer>) {
          const lines = (rest + chunk.toString('utf8')).split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) if (line.trim() !== '') take(line);
        }
      } catch (error) {
        throw fail(`its answer ended early: ${messageOf(sourceError ?? error)}`, sourceError ?? error);
      }
      if (rest.trim() !== '') take(rest);
      if (sourceError !== undefined) throw fail(`the image tar being uploaded failed: ${messageOf(sourceError)}`, sourceError);
      if (failure !== undefined) throw fail(failure, undefined);
      return { loaded };
    } finally {
      tar.off('error', onSourceError);
    }
  }

  async createNetwork(spec: NetworkSpec): Promise<string> {
    const network = await this.#call('create network', `network ${spec.name}`, () =>
      this.#docker.createNetwork({
        Name: spec.name,
        Driver: spec.driver ?? 'bridge',
        Internal: spec.internal,
        Labels: { ...spec.labels },
        CheckDuplicate: true,
      }),
    );
    return network.id;
  }

  async removeNetwork(idOrName: string): Promise<void> {
    await this.#call('remove network', `network ${idOrName}`, () => this.#docker.getNetwork(idOrName).remove());
  }

  async createVolume(spec: VolumeSpec): Promise<string> {
    const volume = await this.#call('create volume', `volume ${spec.name}`, () =>
      this.#docker.createVolume({
        Name: spec.name,
        Driver: spec.driver ?? 'local',
        DriverOpts: { ...(spec.driverOpts ?? {}) },
        Labels: { ...spec.labels },
      }),
    );
    return (volume as unknown as { Name?: string; name?: string }).Name ?? spec.name;
  }

  async removeVolume(name: string, options: { force?: boolean } = {}): Promise<void> {
    await this.#call('remove volume', `volume ${name}`, () => this.#docker.getVolume(name).remove({ force: options.force ?? false }));
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    try {
      const container = await this.#docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Labels: { ...spec.labels },
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        ...(spec.cmd ? { Cmd: [...spec.cmd] } : {}),
        ...(spec.entrypoint ? { Entrypoint: [...spec.entrypoint] } : {}),
        ...(spec.user ? { User: spec.user } : {}),
        ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        OpenStdin: false,
        NetworkDisabled: false,
        HostConfig: {
          NetworkMode: spec.networkMode,
          ReadonlyRootfs: spec.readonlyRootfs,
          CapDrop: [...spec.capDrop],
          ...(spec.capAdd ? { CapAdd: [...spec.capAdd] } : {}),
          SecurityOpt: [...spec.securityOpt],
          ...(spec.memoryBytes !== undefined ? { Memory: spec.memoryBytes, MemorySwap: spec.memoryBytes } : {}),
          ...(spec.pidsLimit !== undefined ? { PidsLimit: spec.pidsLimit } : {}),
          ...(spec.nanoCpus !== undefined ? { NanoCpus: spec.nanoCpus } : {}),
          ...(spec.init !== undefined ? { Init: spec.init } : {}),
          ...(spec.privileged ? { Privileged: true } : {}),
          Mounts: spec.mounts.map((m): Dockerode.MountSettings =>
            m.type === 'volume' || m.type === 'bind'
              ? {
                  Type: m.type,
                  Source: m.source,
                  Target: m.target,
                  ReadOnly: m.readOnly ?? false,
                  // @types/dockerode makes Labels and DriverConfig required; the API does not.
                  ...(m.type === 'volume' && m.noCopy ? { VolumeOptions: { NoCopy: true } as Dockerode.MountSettings['VolumeOptions'] } : {}),
                }
              : {
                  Type: 'tmpfs',
                  Source: '',
                  Target: m.target,
                  // The API treats 0 as "no size limit" and 0 mode as the default 1777.
                  TmpfsOptions: { SizeBytes: m.sizeBytes ?? 0, Mode: m.mode ?? 0o1777 },
                },
          ),
        },
        ...(spec.networkAliases?.length ? { NetworkingConfig: { EndpointsConfig: { [spec.networkMode]: { Aliases: [...spec.networkAliases] } } } } : {}),
      });
      return container.id;
    } catch (error) {
      const wrapped = this.#wrap(error, 'create container', `container ${spec.name}`);
      // 404 from create: the image is missing (the API's documented case) or the network it
      // names is. Which one is asked of the daemon, not read from its message.
      if (wrapped instanceof ResourceNotFoundError) {
        const image = await this.inspectImage(spec.image).catch(() => null);
        if (image === undefined) {
          throw new ImageNotFoundError(spec.image, {
            operation: 'create container',
            hint: 'Build it with `keelhaul images build`, or name an image the daemon has.',
            cause: error,
          });
        }
        if (image !== null) throw new ResourceNotFoundError(`network ${spec.networkMode} (of container ${spec.name})`, { operation: 'create container', cause: error });
      }
      throw wrapped;
    }
  }

  async attachContainer(id: string): Promise<ContainerOutput> {
    const stream = await this.#onContainer('attach container', id, () => this.#docker.getContainer(id).attach({ stream: true, stdout: true, stderr: true, logs: true }));
    return this.#demux(stream);
  }

  /**
   * Splits a multiplexed stream (no TTY: 8-byte frame headers, see
   * https://docs.docker.com/engine/api/v1.41/#operation/ContainerAttach "Stream format")
   * into stdout and stderr, which end when it ends, closes or fails (a daemon going away).
   */
  #demux(stream: NodeJS.ReadableStream): ContainerOutput {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    demuxWithBackpressure(stream, stdout, stderr);
    const end = (): void => {
      stdout.end();
      stderr.end();
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
    return { stdout, stderr };
  }

  async containerLogs(id: string, options: { follow: boolean }): Promise<ContainerOutput> {
    const container = this.#docker.getContainer(id);
    if (!options.follow) {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      // Without follow dockerode resolves with the whole multiplexed body as a Buffer.
      const body = (await this.#onContainer('container logs', id, () => container.logs({ follow: false, stdout: true, stderr: true }))) as unknown as Buffer;
      demuxBuffer(body, stdout, stderr);
      return { stdout, stderr };
    }
    const stream = await this.#onContainer('container logs', id, () => container.logs({ follow: true, stdout: true, stderr: true }));
    return this.#demux(stream);
  }

  async startContainer(id: string): Promise<void> {
    await this.#onContainer('start container', id, () => this.#docker.getContainer(id).start());
  }

  async putArchive(id: string, path: string, tar: Buffer): Promise<void> {
    await this.#onContainer('put archive', id, () => this.#docker.getContainer(id).putArchive(tar, { path }));
  }

  async waitContainer(id: string): Promise<{ exitCode: number }> {
    const result = (await this.#onContainer('wait container', id, () => this.#docker.getContainer(id).wait())) as { StatusCode: number };
    return { exitCode: result.StatusCode };
  }

  async inspectContainer(id: string): Promise<ContainerInfo> {
    const c = await this.#onContainer('inspect container', id, () => this.#docker.getContainer(id).inspect());
    const hc = c.HostConfig as Dockerode.HostConfig;
    return {
      id: c.Id,
      name: c.Name.replace(/^\//, ''),
      image: c.Config.Image,
      imageId: c.Image,
      labels: c.Config.Labels ?? {},
      state: {
        status: c.State.Status,
        running: c.State.Running,
        paused: c.State.Paused,
        exitCode: c.State.ExitCode,
        oomKilled: c.State.OOMKilled,
        pid: c.State.Pid,
        startedAt: c.State.StartedAt,
        finishedAt: c.State.FinishedAt,
      },
      hostConfig: {
        networkMode: hc.NetworkMode ?? '',
        readonlyRootfs: hc.ReadonlyRootfs ?? false,
        capDrop: hc.CapDrop ?? [],
        securityOpt: hc.SecurityOpt ?? [],
        memoryBytes: hc.Memory ?? 0,
        pidsLimit: hc.PidsLimit ?? 0,
        privileged: hc.Privileged ?? false,
      },
      user: c.Config.User ?? '',
      mounts: (c.Mounts ?? []).map((m) => ({ type: m.Type ?? '', source: m.Source, destination: m.Destination, name: m.Name ?? '' })),
      networks: Object.keys(c.NetworkSettings?.Networks ?? {}),
      networkAddresses: Object.fromEntries(Object.entries(c.NetworkSettings?.Networks ?? {}).map(([name, n]) => [name, (n as { IPAddress?: string }).IPAddress ?? ''])),
    };
  }

  async killContainer(id: string, signal: string): Promise<void> {
    await this.#onContainer('kill container', id, () => this.#docker.getContainer(id).kill({ signal }));
  }

  async removeContainer(id: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    await this.#onContainer('remove container', id, () => this.#docker.getContainer(id).remove({ force: options.force ?? false, v: options.volumes ?? false }));
  }

  async stopContainer(id: string, options: { timeoutSeconds: number }): Promise<void> {
    try {
      await this.#onContainer('stop container', id, () => this.#docker.getContainer(id).stop({ t: options.timeoutSeconds }));
    } catch (error) {
      // 304: already stopped, which is what was asked for.
      if (error instanceof ResourceNotModifiedError) return;
      throw error;
    }
  }

  async pauseContainer(id: string): Promise<void> {
    await this.#onContainer('pause container', id, () => this.#docker.getContainer(id).pause());
  }

  async unpauseContainer(id: string): Promise<void> {
    await this.#onContainer('unpause container', id, () => this.#docker.getContainer(id).unpause());
  }

  async restartContainer(id: string, options: { timeoutSeconds: number }): Promise<void> {
    await this.#onContainer('restart container', id, () => this.#docker.getContainer(id).restart({ t: options.timeoutSeconds }));
  }

  async disconnectNetwork(network: string, containerId: string): Promise<void> {
    await this.#call('disconnect network', `network ${network}`, () => this.#docker.getNetwork(network).disconnect({ Container: containerId, Force: true }), containerId);
  }

  async connectNetwork(network: string, containerId: string, options: { aliases?: readonly string[] } = {}): Promise<void> {
    await this.#call(
      'connect network',
      `network ${network}`,
      () =>
        this.#docker.getNetwork(network).connect({
          Container: containerId,
          ...(options.aliases?.length ? { EndpointConfig: { Aliases: [...options.aliases] } } : {}),
        }),
      containerId,
    );
  }

  async execInContainer(id: string, cmd: readonly string[], options: { timeoutMs?: number; user?: string } = {}): Promise<{ exitCode: number; output: string }> {
    const exec = await this.#onContainer('create exec', id, () =>
      this.#docker.getContainer(id).exec({ Cmd: [...cmd], AttachStdout: true, AttachStderr: true, ...(options.user ? { User: options.user } : {}) }),
    );
    const stream = await this.#onContainer('start exec', id, () => exec.start({ hijack: true, stdin: false }));
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => chunks.push(c));
    this.#docker.modem.demuxStream(stream, sink, sink);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        stream.destroy();
        resolve();
      }, options.timeoutMs ?? 10_000);
      stream.on('end', () => {
        clearTimeout(timer);
        resolve();
      });
      stream.on('error', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const info = await this.#onContainer('inspect exec', id, () => exec.inspect());
    return { exitCode: info.ExitCode ?? -1, output: Buffer.concat(chunks).toString('utf8') };
  }

  async listContainers(query: { labels: Record<string, string>; all?: boolean; status?: string }): Promise<ContainerSummary[]> {
    const filters: Record<string, string[]> = { label: labelFilter(query.labels) };
    if (query.status) filters['status'] = [query.status];
    const rows = await this.#call('list containers', undefined, () => this.#docker.listContainers({ all: query.all ?? true, filters: JSON.stringify(filters) }));
    return rows.map((r) => ({ id: r.Id, names: r.Names, image: r.Image, state: r.State, labels: r.Labels ?? {} }));
  }

  async listNetworks(query: { labels: Record<string, string> }): Promise<NetworkSummary[]> {
    const rows = await this.#call('list networks', undefined, () => this.#docker.listNetworks({ filters: JSON.stringify({ label: labelFilter(query.labels) }) }));
    return rows.map((n) => ({ id: n.Id, name: n.Name, internal: n.Internal, labels: n.Labels ?? {} }));
  }

  async listVolumes(query: { labels: Record<string, string> }): Promise<VolumeSummary[]> {
    const result = await this.#call('list volumes', undefined, () => this.#docker.listVolumes({ filters: JSON.stringify({ label: labelFilter(query.labels) }) }));
    return (result.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
  }

  async events(options: { labels: Record<string, string>; since?: Date | string; until?: Date | string; signal?: AbortSignal }): Promise<Readable> {
    const apiTime = (t: Date | string): string => (typeof t === 'string' ? t : toApiTimestamp(t));
    // dockerode's types want numbers for since/until, but the API takes `seconds.nanos`
    // strings, and docker-modem passes them through to the query string as they are.
    const query: Record<string, unknown> = {
      filters: JSON.stringify({ type: ['container'], label: labelFilter(options.labels) }),
      ...(options.since !== undefined ? { since: apiTime(options.since) } : {}),
      ...(options.until !== undefined ? { until: apiTime(options.until) } : {}),
      // docker-modem hands abortSignal to http.request; it is taken out of the query.
      ...(options.signal ? { abortSignal: options.signal } : {}),
    };
    const stream = await this.#call('events', undefined, () => this.#docker.getEvents(query as Dockerode.GetEventsOptions));
    return stream as Readable;
  }

  async containerStats(id: string, options: { signal?: AbortSignal } = {}): Promise<ContainerStatsSample> {
    const raw = await this.#onContainer('container stats', id, () =>
      // docker-modem hands abortSignal to http.request (as for events above).
      this.#docker.getContainer(id).stats({ stream: false, ...(options.signal ? { abortSignal: options.signal } : {}) }),
    );
    return parseContainerStats(id, raw as unknown as RawContainerStats);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Splits a multiplexed log body (no TTY) into its streams: frames of an 8-byte header
 * (stream type 1 = stdout, 2 = stderr; 3 zero bytes; big-endian uint32 length) and payload
 * (https://docs.docker.com/engine/api/v1.41/#operation/ContainerAttach "Stream format").
 */
function demuxBuffer(body: Buffer, stdout: PassThrough, stderr: PassThrough): void {
  let offset = 0;
  while (offset + 8 <= body.length) {
    const type = body[offset];
    const length = body.readUInt32BE(offset + 4);
    const payload = body.subarray(offset + 8, offset + 8 + length);
    (type === 2 ? stderr : stdout).write(payload);
    offset += 8 + length;
  }
  stdout.end();
  stderr.end();
}
