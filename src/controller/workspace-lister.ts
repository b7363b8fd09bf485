/**
 * Lists what an attempt left in its task's workspace volume, from the volume itself: the
 * evidence of the workspace-compliance check (src/checks/workspace-compliance.ts).
 *
 * A workspace with `workspace.size` is a tmpfs volume, whose contents are gone as soon as no
 * container mounts it (DOCKER-NOTES "Disk full"); a container started after the attempt
 * exits would see it empty. So the lister starts before the attempt's container — a
 * labelled, unprivileged helper container of keelhaul's own image (never the worker's: a
 * distroless worker has no `find`) that mounts the volume read-only and sleeps — and keeps the
 * volume mounted until the attempt is judged; then `find` runs in it through `exec` (in the
 * lister, never in the worker) and the lister is removed. The same works for ordinary volumes.
 */
import type { DockerClient } from '../docker/index.js';

/** What {@link startWorkspaceLister} needs. */
export interface WorkspaceListerOptions {
  /** The lister's container name (e.g. the attempt's name + `-ls`). */
  readonly name: string;
  /** An image with busybox `sh`, `sleep`, `find` and `sed` on PATH: keelhaul's helper image (helper-image.ts), not the worker's. */
  readonly image: string;
  /** The task's workspace volume. */
  readonly volume: string;
  /** The run's labels for a helper container (role `probe`, task, attempt, `dev.keelhaul.skip=true`): cleanup finds it by them, faults never pick it. */
  readonly labels: Readonly<Record<string, string>>;
  /** @default '1000:1000' (the worker's user, which owns a tmpfs workspace) */
  readonly user?: string;
  /** Bound on the `find` exec, ms. @default 30000 */
  readonly timeoutMs?: number;
}

/** A running lister. */
export interface WorkspaceLister {
  readonly containerId: string;
  /**
   * Lists the workspace (relative paths; directories end in `/`), then removes the lister.
   * Never throws: a failure comes back as `error`.
   */
  listAndRemove(): Promise<{ entries: string[] } | { error: string }>;
  /** Removes the lister without listing (the attempt never started). */
  remove(): Promise<void>;
}

/**
 * Parses the lister's output: one path per line relative to /workspace, `./` prefixed, a
 * directory with a trailing `/`. Returns them sorted.
 */
export function parseListing(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('./') && l.length > 2)
    .map((l) => l.slice(2))
    .sort();
}

/**
 * Creates and starts the lister. Start it before the attempt's container so that a tmpfs
 * workspace stays mounted while the attempt runs.
 *
 * @throws {DockerError} when the daemon refuses to create or start it (the caller records
 *   the listing as missing; the attempt runs regardless)
 */
export async function startWorkspaceLister(docker: DockerClient, options: WorkspaceListerOptions): Promise<WorkspaceLister> {
  const id = await docker.createContainer({
    name: options.name,
    image: options.image,
    labels: options.labels,
    env: {},
    entrypoint: ['/bin/sh', '-c'],
    // Sleeps until removed; the run's cleanup (or the reaper) removes it by label if the controller dies.
    cmd: ['exec sleep 86400'],
    user: options.user ?? '1000:1000',
    networkMode: 'none',
    // NoCopy: the image's /workspace copied up would reset the workspace root's owner (backends/workspace-owner.ts).
    mounts: [{ type: 'volume', source: options.volume, target: '/workspace', readOnly: true, noCopy: true }],
    readonlyRootfs: true,
    capDrop: ['ALL'],
    securityOpt: ['no-new-privileges'],
    memoryBytes: 32 * 1024 * 1024,
    pidsLimit: 16,
  });
  const remove = (): Promise<void> => docker.removeContainer(id, { force: true }).catch(() => undefined);
  try {
    await docker.startContainer(id);
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    containerId: id,
    remove,
    async listAndRemove() {
      try {
        // Directories get a trailing `/` so the check can tell an empty directory from a file.
        const { exitCode, output } = await docker.execInContainer(
          id,
          ['/bin/sh', '-c', 'cd /workspace && find . -mindepth 1 -type d | sed "s|$|/|" && find . -mindepth 1 ! -type d'],
          { timeoutMs: options.timeoutMs ?? 30_000 },
        );
        if (exitCode !== 0) return { error: `find exited ${exitCode}: ${output.trim().slice(0, 300)}` };
        return { entries: parseListing(output) };
      } catch (error) {
        return { error: error instanceof Error ? error.message : String(error) };
      } finally {
        await remove();
      }
    },
  };
}

/**
 * Starts a lister, lists and removes it at once: for an ordinary volume whose attempt has
 * already exited (one adopted on resume, which no lister watched). Never throws. Not for a
 * tmpfs workspace: its contents went with the last container that mounted it.
 */
export async function listWorkspaceNow(docker: DockerClient, options: WorkspaceListerOptions): Promise<{ entries: string[] } | { error: string }> {
  try {
    return await (await startWorkspaceLister(docker, options)).listAndRemove();
  } catch (error) {
    return { error: `the workspace lister did not start: ${error instanceof Error ? error.message : String(error)}` };
  }
}
