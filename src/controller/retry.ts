import pRetry, { AbortError } from 'p-retry';

/** The scenario's `retry:` section. */
export interface RetryPolicy {
  /** Attempts per task, including the first; ≥ 1. */
  readonly maxAttempts: number;
  /** Delay before the 2nd attempt, ms. */
  readonly backoffMs: number;
  /** Growth of the delay per further attempt; ≥ 1. */
  readonly factor: number;
  /** Upper bound of any delay, ms. */
  readonly maxBackoffMs: number;
}

/**
 * The delay before attempt `nextAttempt` (2, 3, …), ms: `backoffMs × factor^(nextAttempt−2)`,
 * capped at `maxBackoffMs`. No jitter, so a seeded run repeats its timing. This is
 * p-retry's own formula with `randomize: false` (p-retry's calculateDelay), computed here
 * so events can say how long the controller will wait.
 */
export function backoffDelayMs(policy: RetryPolicy, nextAttempt: number): number {
  const retryIndex = Math.max(0, nextAttempt - 2);
  return Math.min(policy.maxBackoffMs, Math.round(policy.backoffMs * policy.factor ** retryIndex));
}

/** Thrown by an attempt to ask for another; carries what the caller records. */
export class AttemptFailedError<T> extends Error {
  override name = 'AttemptFailedError';
  readonly result: T;
  /** `false` for failures that a retry cannot fix (e.g. an invalid task). */
  readonly retryable: boolean;
  /**
   * `false` for an attempt that never ran (its launch failed while the daemon was going
   * away): it does not count against `maxAttempts` and does not grow the backoff.
   */
  readonly consumesAttempt: boolean;
  constructor(message: string, result: T, options: { retryable: boolean; consumesAttempt?: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.result = result;
    this.retryable = options.retryable;
    this.consumesAttempt = options.consumesAttempt ?? true;
  }
}

/**
 * Runs `attempt(n)` for n = 1 … maxAttempts until it resolves, waiting {@link backoffDelayMs}
 * between attempts (via p-retry). `attempt` signals a retryable failure by throwing
 * {@link AttemptFailedError}; any other error stops the loop and is rethrown.
 *
 * @returns the successful result, or the last failure's result when every attempt failed
 * @throws whatever non-AttemptFailedError `attempt` throws; `signal.reason` when aborted
 */
export async function runWithRetry<T>(
  policy: RetryPolicy,
  attempt: (attemptNumber: number) => Promise<T>,
  hooks: { onRetry?: (nextAttempt: number, delayMs: number, failed: T) => void; signal?: AbortSignal } = {},
): Promise<{ ok: true; result: T; attempts: number } | { ok: false; result: T; attempts: number }> {
  let last: { result: T; attempts: number } | undefined;
  // Attempts that count against maxAttempts; p-retry's own count includes those that do not.
  let consumed = 0;
  try {
    return await pRetry(
      async (n) => {
        try {
          const result = await attempt(n);
          return { ok: true as const, result, attempts: n };
        } catch (error) {
          if (error instanceof AttemptFailedError) {
            last = { result: error.result as T, attempts: n };
            if (error.consumesAttempt) consumed += 1;
            // AbortError ends p-retry at once without calling the hooks.
            if (!error.retryable || consumed >= policy.maxAttempts) throw new AbortError(error);
            hooks.onRetry?.(n + 1, backoffDelayMs(policy, consumed + 1), error.result as T);
            throw error;
          }
          throw new AbortError(error instanceof Error ? error : new Error(String(error)));
        }
      },
      {
        // The loop above decides when to stop; p-retry only schedules.
        retries: Number.POSITIVE_INFINITY,
        shouldConsumeRetry: ({ error }) => !(error instanceof AttemptFailedError) || error.consumesAttempt,
        minTimeout: policy.backoffMs,
        factor: policy.factor,
        maxTimeout: policy.maxBackoffMs,
        randomize: false,
        ...(hooks.signal ? { signal: hooks.signal } : {}),
      },
    );
  } catch (error) {
    // p-retry rejects with the AbortError's originalError, or with the last error once
    // the retries are used up: either way an AttemptFailedError means "every attempt failed".
    if (error instanceof AttemptFailedError && last) return { ok: false, result: last.result, attempts: last.attempts };
    throw error;
  }
}
