import type { DaemonEvent } from '../docker/index.js';

/**
 * The daemon's `oom` and `die` events per container, for the one question the judge asks
 * of them: did an attempt that exited 137 with `State.OOMKilled` false get an `oom` event
 * (cgroup v1 notifies separately from the exit)?
 *
 * Not `ContainerExitTracker` (src/docker/events.ts), though close: that one forgets a
 * container's `oom` at its next `start` (a restart fault), needs `exitCode` on `die`, and
 * answers at once while the events stream is down; this one keeps every `oom` seen and
 * waits out its timeout whatever the stream's state, as the controller always has.
 */
export class OomWatch {
  readonly #oom = new Set<string>();
  readonly #died = new Set<string>();
  readonly #waiters = new Map<string, () => void>();

  /** Feeds one daemon event (only `oom` and `die` matter). */
  note(event: Pick<DaemonEvent, 'action' | 'containerId'>): void {
    if (event.action === 'oom') this.#oom.add(event.containerId);
    if (event.action === 'die') {
      this.#died.add(event.containerId);
      this.#waiters.get(event.containerId)?.();
      this.#waiters.delete(event.containerId);
    }
  }

  /** Whether an `oom` event arrived for the container. */
  sawOom(containerId: string): boolean {
    return this.#oom.has(containerId);
  }

  /**
   * Resolves once the container's `die` event is in (the daemon sends `oom` before `die`,
   * so after it no `oom` is coming), or after `timeoutMs` ms. One waiter per container: a
   * second wait replaces the first's early wake-up (it still resolves at its timeout).
   */
  waitForDie(containerId: string, timeoutMs: number): Promise<void> {
    if (this.#died.has(containerId)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(containerId);
        resolve();
      }, timeoutMs);
      this.#waiters.set(containerId, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
