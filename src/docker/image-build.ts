/**
 * Image builds and image label lookups: the only code besides `client.ts` that touches
 * dockerode for images. No registry is needed: a build context is a local directory,
 * streamed to the daemon as a tar, and built by the legacy builder.
 */
import type Dockerode from 'dockerode';
import { pack } from 'tar-fs';
import { DaemonUnavailableError, DockerError, ImageBuildError } from './errors.js';

/** How many of the daemon's last log lines an {@link ImageBuildError} keeps. */
const BUILD_LOG_TAIL = 30;

/** Options of {@link buildImageFromDirectory}. */
export interface BuildImageOptions {
  /** Absolute path of the build context directory; symlinks in it are followed (see below). */
  readonly contextDir: string;
  /** Path of the Dockerfile inside the context, e.g. `Dockerfile`. */
  readonly dockerfile: string;
  /** The reference to tag the result with, e.g. `keelhaul/worker:0.1.0`. */
  readonly tag: string;
  /** Labels stamped on the image (the Engine API's `labels` build parameter). */
  readonly labels: Readonly<Record<string, string>>;
  /** Called with each line of the builder's output (`Step 2/9 : COPY …`), without its newline; must not throw. */
  readonly onProgress?: (line: string) => void;
  /** Aborts the upload and the build; the promise then rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/** One JSON message of the `/build` progress stream (Engine API 1.41, legacy builder). */
interface BuildMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: { ID?: string };
}

/**
 * Builds `contextDir` into an image tagged `tag` and returns its id (`sha256:…`).
 *
 * The context is packed with tar-fs and `dereference: true`, so a context may be a tree of
 * symlinks to host files (the node binary, its libraries): the tar carries their content and
 * nothing is copied to disk first. The daemon's legacy builder (`version: '1'`) does the
 * build — BuildKit needs buildx/a session and is not available on every daemon keelhaul
 * targets. `rm` and `forcerm` remove intermediate containers even when a step fails.
 *
 * @throws {ImageBuildError} when the daemon reports an `error`/`errorDetail` message, the
 *   request fails with an HTTP error, or the stream ends without an image id; its `log`
 *   holds the last {@link BUILD_LOG_TAIL} lines of builder output.
 * @throws {DaemonUnavailableError} when no daemon answers on the client's socket.
 * @throws `signal.reason` when `signal` aborts (checked before starting, too).
 * @internal takes a dockerode instance: kept out of the shipped types (`stripInternal`), so
 *   that a user's `skipLibCheck: false` build does not need `@types/dockerode`; callers use
 *   `DockerClient.buildImage`.
 */
export async function buildImageFromDirectory(docker: Dockerode, options: BuildImageOptions): Promise<{ imageId: string }> {
  const { contextDir, dockerfile, tag, labels, onProgress, signal } = options;
  signal?.throwIfAborted();

  const log: string[] = [];
  const remember = (line: string): void => {
    log.push(line);
    if (log.length > BUILD_LOG_TAIL) log.shift();
  };

  const tarStream = pack(contextDir, { dereference: true });
  let response: NodeJS.ReadableStream;
  try {
    // tar-fs 3 returns a streamx stream, not a node one; its `pipe` into the HTTP request is
    // all docker-modem uses (dockerode's own tar-fs contexts go the same way).
    response = await docker.buildImage(tarStream as unknown as NodeJS.ReadableStream, {
      t: tag,
      // dockerode's typing says `{[k]: string}`; the modem JSON-encodes it for the query.
      labels: { ...labels },
      dockerfile,
      rm: true,
      forcerm: true,
      version: '1',
      ...(signal ? { abortSignal: signal } : {}),
    });
  } catch (error) {
    tarStream.destroy();
    if (signal?.aborted) throw signal.reason;
    throw translateError(docker, error, tag, log);
  }

  let imageId: string | undefined;
  let failure: string | undefined;
  const onMessage = (message: BuildMessage): void => {
    if (typeof message.stream === 'string') {
      for (const line of message.stream.split('\n')) {
        const trimmed = line.trimEnd();
        if (trimmed === '') continue;
        remember(trimmed);
        onProgress?.(trimmed);
        // The legacy builder also prints the short id; aux.ID (API ≥ 1.30) is preferred.
        const built = /^Successfully built ([0-9a-f]{12,64})$/.exec(trimmed);
        if (built && imageId === undefined) imageId = built[1];
      }
    } else if (typeof message.status === 'string' && message.status !== '') {
      remember(message.status);
    }
    if (message.aux?.ID) imageId = message.aux.ID;
    if (message.error !== undefined || message.errorDetail !== undefined) {
      failure ??= message.errorDetail?.message ?? message.error ?? 'unknown build error';
      remember(`ERROR: ${failure}`);
    }
  };

  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      response,
      (error: unknown) => {
        if (signal?.aborted) reject(signal.reason);
        else if (error) reject(translateError(docker, error, tag, log));
        else resolve();
      },
      onMessage,
    );
  }).finally(() => tarStream.destroy());

  if (failure !== undefined) throw new ImageBuildError(tag, failure, { log: [...log] });
  if (imageId === undefined) {
    throw new ImageBuildError(tag, 'the build stream ended without an image id', { log: [...log] });
  }
  // "Successfully built" gives a 12-hex short id; resolve it to the full one.
  if (!imageId.startsWith('sha256:')) {
    const info = await docker.getImage(imageId).inspect();
    imageId = info.Id;
  }
  return { imageId };
}

/**
 * Removes image `imageId` if no tag points at it any more (a rebuild moved its tag to a new
 * image). Best effort: an image a container still uses (HTTP 409) or one already gone (404)
 * is left alone. Returns whether it was removed.
 *
 * @throws {DaemonUnavailableError} when no daemon answers.
 * @internal takes a dockerode instance (see {@link buildImageFromDirectory}).
 */
export async function removeImageIfUntagged(docker: Dockerode, imageId: string): Promise<boolean> {
  try {
    const info = await docker.getImage(imageId).inspect();
    if ((info.RepoTags ?? []).length > 0) return false;
    await docker.getImage(imageId).remove();
    return true;
  } catch (error) {
    const status = statusCode(error);
    if (status === 404 || status === 409) return false;
    throw translateError(docker, error, imageId, [], 'remove image');
  }
}

function statusCode(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** errno codes that mean "no daemon at the other end of the socket". */
const UNAVAILABLE_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ETIMEDOUT', 'ECONNRESET']);

function translateError(docker: Dockerode, error: unknown, ref: string, log: readonly string[], operation = 'build image'): Error {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code) && statusCode(error) === undefined) {
    return new DaemonUnavailableError(endpointOf(docker), { operation, code, cause: error });
  }
  // docker-modem's message is "(HTTP code 500) server error - <the daemon's words>"; keep the words.
  const raw = error instanceof Error ? error.message : String(error);
  const message = raw.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
  if (operation === 'build image') return new ImageBuildError(ref, message, { log: [...log], cause: error });
  return new DockerError(`${operation} ${ref} failed: ${message}`, { operation, cause: error });
}

function endpointOf(docker: Dockerode): string {
  const modem = docker.modem as { socketPath?: unknown; host?: unknown; port?: unknown; protocol?: unknown };
  if (typeof modem.socketPath === 'string') return modem.socketPath;
  if (typeof modem.host === 'string') {
    return `${typeof modem.protocol === 'string' ? modem.protocol : 'tcp'}://${modem.host}:${String(modem.port ?? '')}`;
  }
  return 'unknown Docker endpoint';
}
