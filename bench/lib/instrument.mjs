// Wraps keelhaul's DockerClient (a plain interface, see src/docker/client.ts) so every call
// the controller makes is timed: which Docker API calls sit on keelhaul's critical paths,
// and how much of a path is not Docker at all (state.json writes, events, scheduling).
// The wrapper costs a closure and two clock reads per call.
import { wallNow } from './common.mjs';

/**
 * @returns {{ client: object, calls: Array<{method: string, arg: string|undefined, start: number, end: number, ok: boolean}>, reset(): void }}
 */
export function instrument(client) {
  const calls = [];
  const proxy = new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args) => {
        const call = { method: String(prop), arg: typeof args[0] === 'string' ? args[0] : undefined, start: wallNow(), end: Number.NaN, ok: true };
        calls.push(call);
        let result;
        try {
          result = value.apply(target, args);
        } catch (error) {
          call.end = wallNow();
          call.ok = false;
          throw error;
        }
        if (result && typeof result.then === 'function') {
          return result.then(
            (v) => {
              call.end = wallNow();
              return v;
            },
            (e) => {
              call.end = wallNow();
              call.ok = false;
              throw e;
            },
          );
        }
        call.end = wallNow();
        return result;
      };
    },
  });
  return {
    client: proxy,
    calls,
    reset() {
      calls.length = 0;
    },
  };
}

/**
 * Splits the window [t0, t1] into time inside Docker calls (the union of their intervals,
 * so overlapping calls count once) and the rest, and lists the calls in it.
 */
export function breakdown(calls, t0, t1) {
  const inWindow = calls.filter((c) => c.start >= t0 && c.start < t1).sort((a, b) => a.start - b.start);
  let dockerMs = 0;
  let cursor = t0;
  for (const c of inWindow) {
    const s = Math.max(c.start, cursor);
    const e = Math.min(Number.isNaN(c.end) ? t1 : c.end, t1);
    if (e > s) {
      dockerMs += e - s;
      cursor = e;
    }
  }
  return {
    totalMs: t1 - t0,
    dockerMs,
    otherMs: t1 - t0 - dockerMs,
    calls: inWindow.map((c) => ({ method: c.method, atMs: c.start - t0, ms: (Number.isNaN(c.end) ? t1 : c.end) - c.start })),
  };
}
