/**
 * Every name keelhaul gives a container, network or volume, in one place (as labels.ts is
 * for label keys): `kh-<run-id>-…`, so `docker ps` shows which run a resource belongs to.
 * Names are for people and for the daemon's uniqueness rule; keelhaul never finds a
 * resource by its name — queries use labels — except a workspace volume's generation,
 * which {@link workspaceGeneration} reads back.
 *
 * Docker allows `[a-zA-Z0-9][a-zA-Z0-9_.-]+`; run and task ids are already restricted to
 * that set, and anything else becomes `_`.
 */

/** The first segment of every resource name. */
export const NAME_PREFIX = 'kh';

function nameOf(...parts: readonly string[]): string {
  return [NAME_PREFIX, ...parts].join('-').replace(/[^a-zA-Z0-9_.-]/g, '_');
}

/** The run's own network (`network: internal`): `kh-<run>`. */
export function runNetworkName(runId: string): string {
  return nameOf(runId);
}

/** An attempt's container (or, on the local backend, its process's name): `kh-<run>-<task>-a<n>`. */
export function attemptName(runId: string, taskId: string, attempt: number): string {
  return nameOf(runId, taskId, `a${attempt}`);
}

/** The container that lists an attempt's workspace volume: `kh-<run>-<task>-a<n>-ls`. */
export function workspaceListerName(runId: string, taskId: string, attempt: number): string {
  return nameOf(runId, taskId, `a${attempt}`, 'ls');
}

/**
 * The helper that probes an attempt's network isolation from inside its namespace:
 * `kh-<run>-<task>-a<n>-probe-<stamp>`. The stamp (base-36 ms) keeps a second probe of the
 * same attempt — a resumed controller re-probes the attempts it adopts — from meeting a
 * helper an earlier controller left behind.
 */
export function isolationProbeName(runId: string, taskId: string, attempt: number, stamp: string): string {
  return nameOf(runId, taskId, `a${attempt}`, 'probe', stamp);
}

/**
 * A task's workspace volume: `kh-<run>-<task>` for the first, `kh-<run>-<task>-w<n>` for
 * the n-th (a disk-full retry with `workspace.onDiskFull: retry` gets a fresh one).
 */
export function workspaceVolumeName(runId: string, taskId: string, generation = 1): string {
  return nameOf(runId, taskId, ...(generation > 1 ? [`w${generation}`] : []));
}

/**
 * The generation of a task's workspace volume from its {@link workspaceVolumeName}: `…-w2`
 * → 2, no suffix → 1. Read against the task's own base name, so a task id that itself ends
 * in `-w<digits>` is not taken for a generation.
 */
export function workspaceGeneration(name: string, runId: string, taskId: string): number {
  const m = /^-w(\d+)$/.exec(name.slice(workspaceVolumeName(runId, taskId).length));
  return name.startsWith(workspaceVolumeName(runId, taskId)) && m ? Number(m[1]) : 1;
}

/**
 * The never-started helper container that gives a task's fresh workspace volume to the
 * worker's user (src/backends/workspace-owner.ts): `kh-<run>-<task>[-w<n>]-owner`.
 */
export function workspaceOwnerName(runId: string, taskId: string, generation = 1): string {
  return `${workspaceVolumeName(runId, taskId, generation)}-owner`;
}

/** The helper container that hashes a run's workspaces before cleanup: `kh-<run>-workspaces-<stamp>`. */
export function workspaceSnapshotName(runId: string, stamp: string): string {
  return nameOf(runId, 'workspaces', stamp);
}

/** A topology network, volume or service container of a run (docs/compose.md): `kh-<run>-<name>`. */
export function topologyResourceName(runId: string, name: string): string {
  return nameOf(runId, name);
}
