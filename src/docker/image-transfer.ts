/**
 * An image copied from one daemon to another without a registry and without a file: the
 * source daemon's `GET /images/{name}/get` tar piped straight into the target daemon's
 * `POST /images/load` (what `docker save IMAGE | docker -H OTHER load` does), counted on the
 * way. A private daemon starts empty and nothing can be pulled here, so this is how it gets
 * an image the user built on their own daemon (docs/private-daemon.md, issue #16 item 5).
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { DockerClient } from './client.js';
import { DockerError, ImageNotFoundError } from './errors.js';

/** What {@link transferImage} did for one image. */
export interface ImageTransfer {
  /** The reference as asked for, e.g. `myteam/worker:1.4`. */
  readonly image: string;
  /** The source daemon's endpoint (a socket path or `tcp://host:port`). */
  readonly from: string;
  /** The target daemon's endpoint. */
  readonly to: string;
  /** The image id (`sha256:…`) on both daemons: save/load keeps it (it is the config's digest). */
  readonly imageId: string;
  /** `false`: the target already had this image id under this reference, nothing was moved. */
  readonly transferred: boolean;
  /** Bytes of the tar streamed from source to target; 0 when nothing was moved. */
  readonly bytes: number;
  /** Wall time of the inspection and, when it happened, the save → load stream, ms. */
  readonly durationMs: number;
}

/** Options of {@link transferImage}. */
export interface TransferImageOptions {
  /** Aborts both requests; the promise then rejects with a {@link DockerError} whose cause is the abort. */
  readonly signal?: AbortSignal;
  /**
   * Where the source daemon comes from, for the message when it lacks the image.
   * @default `the daemon DOCKER_HOST names`
   */
  readonly sourceName?: string;
}

/** Counts the bytes going through, unchanged; back-pressure passes through it as through any Transform. */
class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/**
 * Makes `image` present on `target` as it is on `source`. Skipped (`transferred: false`)
 * when `target` already has the same image id under that reference — a test reuses one
 * private daemon across runs, and a tag that moved on `source` is copied again. Otherwise
 * streams `source.saveImage(image)` into `target.loadImage(…)`: no temporary file, memory
 * bounded by the streams' buffers (a slow load slows the save). Then checks that `target`
 * resolves `image` to the same id (a reference by digest, `name@sha256:…`, does not survive
 * save/load: refused here rather than at container creation).
 *
 * @throws {ImageNotFoundError} when `source` has no image `image`; its message names the
 *   image and says it must exist on `options.sourceName` (the daemon DOCKER_HOST names)
 * @throws {DockerError} (`operation: 'load image'`) when the load fails or the loaded image
 *   is not found under `image` afterwards
 * @throws {DaemonUnavailableError} when either daemon does not answer
 */
export async function transferImage(
  source: Pick<DockerClient, 'endpoint' | 'inspectImage' | 'saveImage'>,
  target: Pick<DockerClient, 'endpoint' | 'inspectImage' | 'loadImage'>,
  image: string,
  options: TransferImageOptions = {},
): Promise<ImageTransfer> {
  const startedAt = performance.now();
  const sourceName = options.sourceName ?? 'the daemon DOCKER_HOST names';
  const wanted = await source.inspectImage(image);
  if (wanted === undefined) {
    throw new ImageNotFoundError(image, {
      operation: `copy image to ${target.endpoint}`,
      hint: `A private daemon gets its images from ${sourceName} (${source.endpoint}), which does not have it either: build or load it there first, or change the scenario's image.`,
    });
  }
  const present = await target.inspectImage(image);
  if (present?.id === wanted.id) {
    return { image, from: source.endpoint, to: target.endpoint, imageId: wanted.id, transferred: false, bytes: 0, durationMs: Math.round(performance.now() - startedAt) };
  }

  const tar: Readable = await source.saveImage(image, options.signal ? { signal: options.signal } : {});
  const counter = new ByteCounter();
  // pipe(), not pipeline(): loadImage reports the counter's error with its context; a
  // failed source is passed on to the counter by hand so the upload ends with it.
  tar.on('error', (error) => counter.destroy(error));
  tar.pipe(counter);
  try {
    await target.loadImage(counter, options.signal ? { signal: options.signal } : {});
  } finally {
    // A load that failed early leaves the save's HTTP response open and paused: close it.
    tar.destroy();
    counter.on('error', () => undefined);
    counter.destroy();
  }
  const loaded = await target.inspectImage(image);
  if (loaded?.id !== wanted.id) {
    throw new DockerError(
      `Docker load image on ${target.endpoint} succeeded, but ${image} there is ${loaded ? loaded.id : 'missing'}, not ${wanted.id}: a reference by digest does not survive save/load; name the image by a tag.`,
      { operation: 'load image', reason: 'not-found', resource: `image ${image}` },
    );
  }
  return { image, from: source.endpoint, to: target.endpoint, imageId: wanted.id, transferred: true, bytes: counter.bytes, durationMs: Math.round(performance.now() - startedAt) };
}
