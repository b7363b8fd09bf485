/**
 * Global setup of the `docker` test project: a daemon must answer and the worker image
 * must exist. Fails loudly when no daemon answers — an integration test never skips.
 */
import { connectDocker } from '../../src/docker/index.js';
import { buildWorkerImage } from '../../src/images/index.js';

export default async function setup(): Promise<void> {
  let docker;
  try {
    docker = await connectDocker({ pingTimeoutMs: 10_000 });
  } catch (error) {
    throw new Error(
      `The docker test project needs a Docker daemon and none answers: ${(error as Error).message}\n` + 'Start one with `bash scripts/docker-up.sh` (or run `bash .ci/run`).',
      { cause: error },
    );
  }
  // Cached (a few ms) when the image is up to date; builds it otherwise.
  const image = await buildWorkerImage(docker);
  process.stderr.write(`docker tests: ${docker.endpoint}, image ${image.tag}${image.cached ? ' (up to date)' : ' (built)'}\n`);
}
