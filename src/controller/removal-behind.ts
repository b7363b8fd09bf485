import { ResourceNotFoundError, type DockerClient } from '../docker/index.js';
import type { TaskRecord } from './state.js';

/** What {@link RemovalBehind} acts through. */
export interface RemovalBehindOptions {
  readonly docker: Pick<DockerClient, 'removeContainer'>;
  /** Writes state.json and resolves once the write is on disk (never rejects: the run keeps the error). */
  readonly save: () => Promise<void>;
  /** Schedules a write-behind of state.json. */
  readonly schedule: () => void;
  /** Resolves once no fault is acting on the container (`Injector.settled`). */
  readonly settled: (containerId: string) => Promise<void>;
  /** Removes the task's workspace once its task is done with it; `true` when it removed one. */
  readonly releaseWorkspace: (taskId: string) => Promise<boolean>;
  /** Keep workspaces for the end-of-run snapshot (`captureWorkspaces`). */
  readonly keepWorkspaces: boolean;
}

/**
 * Removal behind (issue 7): a completed task's container and workspace volume are removed
 * as soon as the task finishes, in the background, rather than all at the run's end —
 * the raw-dockerode floor removes each container in its task's slot, and a batch removal
 * at the end was the whole of keelhaul's gap at concurrency 8. The intent is recorded
 * first (`removedAt`, written before the removal) so that a controller dying mid-removal
 * does not make state-matches-daemon miss a container it removed; a failed removal clears
 * it again and leaves the container to the run's cleanup. Failed and killed attempts stay
 * for the post-mortem until the cleanup, as do volumes when workspaces are captured.
 */
export class RemovalBehind {
  readonly #options: RemovalBehindOptions;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #removed = { containers: 0, volumes: 0 };

  constructor(options: RemovalBehindOptions) {
    this.#options = options;
  }

  /** What was removed so far: containers, and workspace volumes with them. */
  get removed(): { readonly containers: number; readonly volumes: number } {
    return this.#removed;
  }

  /** Removals still in flight (cleanup waits for them to settle). */
  get inFlight(): ReadonlySet<Promise<void>> {
    return this.#inFlight;
  }

  /**
   * Starts removing the completed attempt's container of a finished task (and then its
   * workspace), in the background. Nothing when the task has no completed attempt with a
   * container, or its removal was recorded already. Never throws.
   */
  remove(taskId: string, task: TaskRecord): void {
    const o = this.#options;
    const record = task.attempts.find((a) => a.outcome === 'completed' && a.containerId);
    if (!record || record.removedAt) return;
    record.removedAt = new Date().toISOString();
    // The intent is on disk before the removal (in the background, off the critical path),
    // and not while a fault is acting on the container: it chose it running and finds it as it left it.
    const removal: Promise<void> = o
      .save()
      .then(() => o.settled(record.containerId))
      .then(() => o.docker.removeContainer(record.containerId, { force: true }))
      .then(
        async () => {
          this.#removed.containers += 1;
          if (!o.keepWorkspaces && (await o.releaseWorkspace(taskId))) this.#removed.volumes += 1;
        },
        async (error: unknown) => {
          // Gone all the same (the daemon removed it before failing the call): removedAt stands.
          if (error instanceof ResourceNotFoundError) return;
          record.removedAt = null;
          o.schedule();
        },
      )
      .finally(() => this.#inFlight.delete(removal));
    this.#inFlight.add(removal);
  }
}
