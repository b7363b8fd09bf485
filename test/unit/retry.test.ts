import { describe, expect, it, vi } from 'vitest';
import { AttemptFailedError, backoffDelayMs, runWithRetry, type RetryPolicy } from '../../src/controller/retry.js';

const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  maxAttempts: 3,
  backoffMs: 1,
  factor: 2,
  maxBackoffMs: 5,
  ...overrides,
});

const retryable = (n: number): AttemptFailedError<string> => new AttemptFailedError(`attempt ${n} failed`, `failed-${n}`, { retryable: true });

describe('retry: backoffDelayMs', () => {
  it('retry: the delay before the 2nd attempt is backoffMs', () => {
    expect(backoffDelayMs({ maxAttempts: 5, backoffMs: 200, factor: 2, maxBackoffMs: 10_000 }, 2)).toBe(200);
  });

  it('retry: the delay grows by factor per further attempt', () => {
    const p = { maxAttempts: 5, backoffMs: 100, factor: 3, maxBackoffMs: 1_000_000 };
    expect([2, 3, 4, 5].map((n) => backoffDelayMs(p, n))).toEqual([100, 300, 900, 2700]);
  });

  it('retry: the delay is capped at maxBackoffMs', () => {
    const p = { maxAttempts: 10, backoffMs: 200, factor: 2, maxBackoffMs: 1000 };
    expect(backoffDelayMs(p, 4)).toBe(800);
    expect(backoffDelayMs(p, 5)).toBe(1000);
    expect(backoffDelayMs(p, 9)).toBe(1000);
  });

  it('retry: factor 1 keeps the delay constant', () => {
    const p = { maxAttempts: 5, backoffMs: 50, factor: 1, maxBackoffMs: 1000 };
    expect([2, 3, 4].map((n) => backoffDelayMs(p, n))).toEqual([50, 50, 50]);
  });
});

describe('retry: runWithRetry', () => {
  it('retry: returns the first success without further attempts', async () => {
    const attempt = vi.fn(async (n: number) => `ok-${n}`);
    const result = await runWithRetry(policy(), attempt);
    expect(result).toEqual({ ok: true, result: 'ok-1', attempts: 1 });
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('retry: a success on a later attempt reports that attempt', async () => {
    const attempt = vi.fn(async (n: number) => {
      if (n < 2) throw retryable(n);
      return `ok-${n}`;
    });
    expect(await runWithRetry(policy(), attempt)).toEqual({ ok: true, result: 'ok-2', attempts: 2 });
    expect(attempt).toHaveBeenCalledTimes(2);
  });

  it('retry: stops after maxAttempts with ok false and the last failure', async () => {
    const attempt = vi.fn(async (n: number): Promise<string> => {
      throw retryable(n);
    });
    const result = await runWithRetry(policy({ maxAttempts: 4 }), attempt);
    expect(result).toEqual({ ok: false, result: 'failed-4', attempts: 4 });
    expect(attempt).toHaveBeenCalledTimes(4);
  });

  it('retry: maxAttempts 1 makes a single attempt', async () => {
    const attempt = vi.fn(async (n: number): Promise<string> => {
      throw retryable(n);
    });
    expect(await runWithRetry(policy({ maxAttempts: 1 }), attempt)).toEqual({ ok: false, result: 'failed-1', attempts: 1 });
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('retry: attempts are numbered 1, 2, 3', async () => {
    const seen: number[] = [];
    await runWithRetry(policy(), async (n): Promise<string> => {
      seen.push(n);
      throw retryable(n);
    });
    expect(seen).toEqual([1, 2, 3]);
  });

  it('retry: onRetry gets the next attempt number, the computed delay and the failed result', async () => {
    const p = policy({ maxAttempts: 4, backoffMs: 2, factor: 2, maxBackoffMs: 5 });
    const onRetry = vi.fn();
    await runWithRetry(
      p,
      async (n): Promise<string> => {
        throw retryable(n);
      },
      { onRetry },
    );
    expect(onRetry.mock.calls).toEqual([
      [2, 2, 'failed-1'],
      [3, 4, 'failed-2'],
      [4, 5, 'failed-3'],
    ]);
  });

  it('retry: onRetry is not called after the last attempt or a success', async () => {
    const onRetry = vi.fn();
    await runWithRetry(
      policy({ maxAttempts: 2 }),
      async (n) => {
        if (n === 1) throw retryable(n);
        return 'ok';
      },
      { onRetry },
    );
    expect(onRetry).toHaveBeenCalledTimes(1);
  });

  it('retry: a non-retryable AttemptFailedError is not retried', async () => {
    const onRetry = vi.fn();
    const attempt = vi.fn(async (): Promise<string> => {
      throw new AttemptFailedError('invalid task', 'invalid', { retryable: false });
    });
    const result = await runWithRetry(policy({ maxAttempts: 5 }), attempt, { onRetry });
    expect(result).toEqual({ ok: false, result: 'invalid', attempts: 1 });
    expect(attempt).toHaveBeenCalledTimes(1);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it('retry: an error that is not an AttemptFailedError is rethrown at once', async () => {
    const boom = new Error('daemon went away');
    const attempt = vi.fn(async (): Promise<string> => {
      throw boom;
    });
    await expect(runWithRetry(policy({ maxAttempts: 5 }), attempt)).rejects.toBe(boom);
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('retry: a TypeError thrown by an attempt is rethrown at once, not retried', async () => {
    const attempt = vi.fn(async (): Promise<string> => {
      throw new TypeError('bad');
    });
    await expect(runWithRetry(policy({ maxAttempts: 5 }), attempt)).rejects.toBeInstanceOf(TypeError);
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('retry: a non-retryable failure after a retryable one ends the loop at that attempt', async () => {
    const attempt = vi.fn(async (n: number): Promise<string> => {
      if (n === 1) throw retryable(n);
      throw new AttemptFailedError('fatal', `fatal-${n}`, { retryable: false });
    });
    expect(await runWithRetry(policy({ maxAttempts: 5 }), attempt)).toEqual({ ok: false, result: 'fatal-2', attempts: 2 });
    expect(attempt).toHaveBeenCalledTimes(2);
  });

  it('retry: an abort during the backoff stops the loop with the signal reason', async () => {
    const controller = new AbortController();
    const reason = new Error('interrupted');
    const attempt = vi.fn(async (n: number): Promise<string> => {
      throw retryable(n);
    });
    const promise = runWithRetry(policy({ maxAttempts: 10, backoffMs: 5, factor: 1, maxBackoffMs: 5 }), attempt, {
      signal: controller.signal,
      onRetry: (next) => {
        if (next === 3) controller.abort(reason);
      },
    });
    await expect(promise).rejects.toBe(reason);
    expect(attempt).toHaveBeenCalledTimes(2);
  });

  it('retry: an already aborted signal makes no attempt', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const attempt = vi.fn(async () => 'ok');
    await expect(runWithRetry(policy(), attempt, { signal: controller.signal })).rejects.toThrow('stop');
    expect(attempt).not.toHaveBeenCalled();
  });

  it('retry: an abort during an attempt stops the loop after that attempt', async () => {
    const controller = new AbortController();
    const attempt = vi.fn(async (n: number): Promise<string> => {
      if (n === 2) controller.abort(new Error('interrupted in attempt 2'));
      throw retryable(n);
    });
    await expect(runWithRetry(policy({ maxAttempts: 10 }), attempt, { signal: controller.signal })).rejects.toThrow('interrupted in attempt 2');
    expect(attempt).toHaveBeenCalledTimes(2);
  });
});
