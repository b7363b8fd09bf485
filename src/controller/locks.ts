/**
 * Named readers-writer locks for the tasks of a run (`locks: {reads, writes}` in the
 * scenario). The controller holds a task's locks for the life of each of its attempts, from
 * before the container is created until the attempt is judged, and releases them during
 * the backoff between attempts.
 *
 * - Exclusion: two requests conflict when one writes a lock the other reads or writes.
 * - No deadlock: a request takes all its locks at once or none (no hold-and-wait).
 * - No starvation of writers: requests are granted in arrival order among those that
 *   conflict — a request never overtakes an earlier waiting request it conflicts with, so
 *   readers arriving after a waiting writer queue behind it. Requests that conflict with
 *   nothing ahead of them are granted at once, whatever their place in the queue.
 */

/** The locks one attempt needs. */
export interface LockRequest {
  /** Lock names read (shared). */
  readonly reads: readonly string[];
  /** Lock names written (exclusive). */
  readonly writes: readonly string[];
}

/** Thrown by {@link LockManager.acquire} when its signal aborts while waiting. */
export class LockWaitAbortedError extends Error {
  override readonly name = 'LockWaitAbortedError';
  /** Who was waiting (e.g. `t-03`). */
  readonly owner: string;
  /** The locks it waited for. */
  readonly request: LockRequest;
  constructor(owner: string, request: LockRequest, options: { cause?: unknown } = {}) {
    super(
      `${owner} stopped waiting for lock(s) ${[...request.writes.map((w) => `${w} (write)`), ...request.reads.map((r) => `${r} (read)`)].join(', ')}: the run was aborted`,
      options,
    );
    this.owner = owner;
    this.request = request;
  }
}

function conflicts(a: LockRequest, b: LockRequest): boolean {
  return a.writes.some((l) => b.writes.includes(l) || b.reads.includes(l)) || b.writes.some((l) => a.reads.includes(l));
}

interface Waiter {
  readonly owner: string;
  readonly request: LockRequest;
  readonly grant: () => void;
}

/** The run's lock table. One per run; not shared between processes. */
export class LockManager {
  readonly #held = new Set<{ owner: string; request: LockRequest }>();
  readonly #waiting: Waiter[] = [];

  /** Requests waiting now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Who holds what now, for messages: `t-01 (write db)`. */
  describeHolders(): string[] {
    return [...this.#held].map((h) => `${h.owner} (${[...h.request.writes.map((w) => `write ${w}`), ...h.request.reads.map((r) => `read ${r}`)].join(', ')})`);
  }

  /**
   * Waits until `request` conflicts with no holder and no earlier waiter, then holds it.
   * Resolves with `release` (idempotent) and whether it had to wait. A request with no
   * locks is granted at once.
   *
   * @throws {LockWaitAbortedError} when `signal` aborts first (at once if it already has)
   */
  acquire(owner: string, request: LockRequest, signal?: AbortSignal): Promise<{ release: () => void; waited: boolean }> {
    if (signal?.aborted) return Promise.reject(new LockWaitAbortedError(owner, request, { cause: signal.reason }));
    const entry = { owner, request };
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#held.delete(entry);
      this.#grantWaiters();
    };
    if (this.#grantable(request, this.#waiting.length)) {
      this.#held.add(entry);
      return Promise.resolve({ release, waited: false });
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(waiter);
        if (i >= 0) this.#waiting.splice(i, 1);
        // Those queued behind it may now go.
        this.#grantWaiters();
        reject(new LockWaitAbortedError(owner, request, { cause: signal?.reason }));
      };
      const waiter: Waiter = {
        owner,
        request,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.#held.add(entry);
          resolve({ release, waited: true });
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  /** Whether a request placed before waiter index `before` may be granted now. */
  #grantable(request: LockRequest, before: number): boolean {
    for (const h of this.#held) if (conflicts(h.request, request)) return false;
    for (let i = 0; i < before; i++) if (conflicts(this.#waiting[i]!.request, request)) return false;
    return true;
  }

  #grantWaiters(): void {
    for (let i = 0; i < this.#waiting.length;) {
      const waiter = this.#waiting[i]!;
      if (this.#grantable(waiter.request, i)) {
        this.#waiting.splice(i, 1);
        waiter.grant();
      } else {
        i += 1;
      }
    }
  }
}
