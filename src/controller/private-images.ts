/**
 * The images a run on a private daemon needs there, and how each gets there. A private
 * daemon starts empty and nothing is pulled: keelhaul's own worker image is built on it
 * (offline, from the host's node and busybox, as `keelhaul images build` does); every other
 * image — the scenario's `image`, a topology service's, a `sut.images` entry — is copied from
 * the daemon the caller's client talks to (the one DOCKER_HOST names) by a streamed save →
 * load (`transferImage`, src/docker/image-transfer.ts). Issue #16 item 5.
 */
import { transferImage, type DockerClient, type ImageTransfer } from '../docker/index.js';
import { buildWorkerImage, WORKER_IMAGE_REPOSITORY, type ImageBuildClient } from '../images/index.js';
import { topologyImage, type ScenarioTopology } from '../compose/index.js';
import type { Scenario } from '../scenario/index.js';
import { expandImageVersion, keelhaulVersion } from '../version.js';

/** Which images a private daemon needs, split by how each gets there; no reference twice. */
export interface PrivateDaemonImages {
  /** `keelhaul/worker:<tag>` references, built on the private daemon. */
  readonly build: readonly string[];
  /** Every other reference, copied from the outer daemon. */
  readonly transfer: readonly string[];
}

/**
 * The images of a run on a private daemon (pure): `image` (the scenario's, `{version}`
 * expanded), its topology services' images, and its `sut.images`, in that order; the
 * references of keelhaul's worker repository go to `build`, the rest to `transfer`.
 */
export function privateDaemonImages(scenario: Pick<Scenario, 'sut'>, image: string, topology: ScenarioTopology | undefined): PrivateDaemonImages {
  const all = [
    image,
    ...(topology?.topology.services ?? []).map((service) => topologyImage(service, keelhaulVersion)),
    ...(scenario.sut?.images ?? []).map((ref) => expandImageVersion(ref)),
  ];
  const unique = [...new Set(all)];
  const isWorker = (ref: string): boolean => ref.startsWith(`${WORKER_IMAGE_REPOSITORY}:`);
  return { build: unique.filter(isWorker), transfer: unique.filter((ref) => !isWorker(ref)) };
}

/**
 * Puts `images` on the private daemon `inner`: builds each of `images.build` there, then
 * copies each of `images.transfer` from `outer` (skipped when `inner` already has the same
 * image id), one at a time (two loads at once would only compete for the same disk).
 *
 * @returns one record per copied or already present image, for the run's `image.transferred` events
 * @throws {ImageNotFoundError} when `outer` lacks an image to copy (named, with where it must be)
 * @throws {DockerError} when a load fails; {@link WorkerImageInputError} or {@link ImageBuildError} when a build does
 * @throws {DaemonUnavailableError} when either daemon does not answer
 */
export async function provideImages(
  outer: Pick<DockerClient, 'endpoint' | 'inspectImage' | 'saveImage'>,
  inner: Pick<DockerClient, 'endpoint' | 'inspectImage' | 'loadImage'> & ImageBuildClient,
  images: PrivateDaemonImages,
  options: { signal?: AbortSignal } = {},
): Promise<ImageTransfer[]> {
  for (const tag of images.build) await buildWorkerImage(inner, { tag });
  const transfers: ImageTransfer[] = [];
  for (const image of images.transfer) {
    options.signal?.throwIfAborted();
    transfers.push(await transferImage(outer, inner, image, { ...(options.signal ? { signal: options.signal } : {}), sourceName: 'the daemon DOCKER_HOST names' }));
  }
  return transfers;
}
