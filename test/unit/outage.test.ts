import { describe, expect, it } from 'vitest';
import { DaemonOutage, type OutageEvent } from '../../src/controller/outage.js';
import { DaemonUnavailableError } from '../../src/docker/index.js';

/** A clock that moves only when the outage sleeps. */
function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
    slept,
  };
}

describe('outage: waiting for the daemon', () => {
  it('outage: emits daemon.down, tells the listeners, pings with backoff and resolves at daemon.up', async () => {
    const clock = fakeClock();
    const events: OutageEvent[] = [];
    let pings = 0;
    const outage = new DaemonOutage({
      endpoint: '/run/docker.sock',
      limitMs: 10_000,
      emit: (e) => events.push(e),
      ...clock,
      ping: async () => {
        pings += 1;
        if (pings < 4) throw new Error('ECONNREFUSED');
      },
    });
    const downs: number[] = [];
    outage.onDown(() => downs.push(events.length));
    expect(outage.active).toBe(false);
    const waiting = outage.wait();
    expect(outage.active).toBe(true);
    expect(outage.current).toBe(waiting);
    await waiting;
    expect(events).toEqual([
      { type: 'daemon.down', endpoint: '/run/docker.sock', limitMs: 10_000 },
      { type: 'daemon.up', endpoint: '/run/docker.sock', downMs: 700 },
    ]);
    expect(downs).toEqual([1]);
    expect(clock.slept).toEqual([100, 200, 400]);
    expect(outage.active).toBe(false);
    expect(outage.gaveUp).toBe(false);
  });

  it('outage: the onUp listeners run at daemon.up, with the outage already over (heartbeat watches start afresh then), and not when it gives up', async () => {
    const clock = fakeClock();
    const events: OutageEvent[] = [];
    let up = false;
    const outage = new DaemonOutage({
      endpoint: '/s',
      limitMs: 1000,
      emit: (e) => events.push(e),
      ...clock,
      ping: async () => {
        if (!up) throw new Error('ECONNREFUSED');
      },
    });
    const seen: { events: number; active: boolean }[] = [];
    outage.onUp(() => seen.push({ events: events.length, active: outage.active }));
    await expect(outage.wait()).rejects.toBeInstanceOf(DaemonUnavailableError);
    expect(seen).toEqual([]);
    up = true;
    await outage.wait();
    expect(seen).toEqual([{ events: 3, active: false }]);
    expect(events.at(-1)?.type).toBe('daemon.up');
  });

  it('outage: callers during an outage share one wait and one daemon.down', async () => {
    const clock = fakeClock();
    const events: OutageEvent[] = [];
    let release: () => void = () => undefined;
    const outage = new DaemonOutage({ endpoint: 'e', limitMs: 1000, emit: (e) => events.push(e), ...clock, ping: () => new Promise<void>((r) => (release = r)) });
    const a = outage.wait();
    const b = outage.wait();
    expect(b).toBe(a);
    release();
    await Promise.all([a, b]);
    expect(events.map((e) => e.type)).toEqual(['daemon.down', 'daemon.up']);
  });

  it('outage: backoff is capped at 1 s and the wait gives up past limitMs with a DaemonUnavailableError', async () => {
    const clock = fakeClock();
    const outage = new DaemonOutage({ endpoint: 'e', limitMs: 3000, emit: () => undefined, ...clock, ping: () => Promise.reject(new Error('down')) });
    const error = await outage.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaemonUnavailableError);
    expect(error).toMatchObject({ daemonSocket: 'e', code: 'ETIMEDOUT' });
    expect(clock.slept).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(outage.gaveUp).toBe(true);
    expect(outage.active).toBe(false);
  });

  it('outage: a daemon that keeps answering after a failed launch is watched for 6 pings, 500 ms apart, with no outage', async () => {
    const clock = fakeClock();
    const events: OutageEvent[] = [];
    let pings = 0;
    const outage = new DaemonOutage({
      endpoint: 'e',
      limitMs: 1000,
      emit: (e) => events.push(e),
      ...clock,
      ping: async () => {
        pings += 1;
      },
    });
    // false: the daemon answered throughout, so a launch it refused is the task's (retry-budget.ts).
    expect(await outage.waitIfGoingAway()).toBe(false);
    expect(pings).toBe(6);
    expect(clock.slept).toEqual([500, 500, 500, 500, 500, 500]);
    expect(events).toEqual([]);
  });

  it('outage: a daemon that stops answering after a failed launch is waited for as an outage', async () => {
    const clock = fakeClock();
    const events: OutageEvent[] = [];
    let pings = 0;
    // answers, then goes away for two pings, then is back
    const outage = new DaemonOutage({
      endpoint: 'e',
      limitMs: 10_000,
      emit: (e) => events.push(e),
      ...clock,
      ping: async () => {
        pings += 1;
        if (pings === 2 || pings === 3) throw new Error('ECONNREFUSED');
      },
    });
    expect(await outage.waitIfGoingAway()).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['daemon.down', 'daemon.up']);
    expect(pings).toBe(4);
  });
});
