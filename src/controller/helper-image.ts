/**
 * The image keelhaul's helper containers run: `keelhaul/worker:<version>`, keelhaul's own,
 * which holds busybox (`sh`, `nc`, `timeout`, `find`, `sed`, `dd`) and node. The isolation
 * probe, the workspace lister, the workspace snapshot, the fill-disk filler and the partition
 * probe run it, never the user's image, so a worker image needs nothing inside it but the
 * worker (docs/worker-contract.md, issue #16).
 */
import type { DockerClient } from '../docker/index.js';
import { buildWorkerImage, workerImageTag } from '../images/index.js';
import type { Scenario } from '../scenario/index.js';

/** Whether the helper image is there to use, and if not, why. */
export type HelperImage = { readonly image: string; readonly error?: undefined } | { readonly image?: undefined; readonly error: string };

/**
 * Why a run needs helper containers (empty: it needs none): the isolation probe (docker
 * backend, `expect.isolationProbe`, network `none` or `internal`), the workspace lister
 * (`expect.workspaceCompliance` and a task with `writes`), a `fill-disk` or `partition`
 * fault, or a workspace snapshot (`captureWorkspaces`, for parity).
 */
export function helperNeeds(scenario: Scenario, options: { captureWorkspaces?: boolean } = {}): string[] {
  if (scenario.backend !== 'docker') return [];
  const needs: string[] = [];
  if (scenario.expect.isolationProbe && (scenario.network === 'none' || scenario.network === 'internal')) needs.push('the isolation probe');
  if (scenario.expect.workspaceCompliance && scenario.tasks.some((t) => t.writes !== undefined)) needs.push('the workspace lister');
  for (const kind of ['fill-disk', 'partition'] as const) if (scenario.faults.some((f) => f.kind === kind)) needs.push(`the ${kind} fault`);
  if (options.captureWorkspaces) needs.push('the workspace snapshot');
  return needs;
}

/**
 * Finds keelhaul's helper image on the daemon, building it when it is absent (offline, as
 * `keelhaul images build` does: a few seconds, once per daemon and version). An image with
 * the tag is used as it is, whatever it was built from: a rebuild is `keelhaul images
 * build`'s decision, not a run's. Never throws: a daemon without the image that cannot build
 * it (no compiled worker, no busybox on the host) gets `{error}`, which each helper's result
 * reports (the isolation probe's `error`, the listing's) — the run itself goes on.
 */
export async function ensureHelperImage(docker: Pick<DockerClient, 'inspectImage' | 'buildImage' | 'removeImageIfUntagged'>): Promise<HelperImage> {
  const image = workerImageTag();
  try {
    if (await docker.inspectImage(image)) return { image };
    await buildWorkerImage(docker, { tag: image });
    return { image };
  } catch (error) {
    return {
      error: `keelhaul's helper image ${image} is not on the daemon and could not be built (${error instanceof Error ? error.message : String(error)}); build it with \`keelhaul images build\``,
    };
  }
}
