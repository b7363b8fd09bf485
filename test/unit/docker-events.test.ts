/**
 * The Docker events subscription and the stats parser, against plain-object fakes: no
 * daemon. The fake's `events` hands out scripted streams, one per (re)connection.
 */
import { PassThrough, type Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ContainerNotRunningError, DaemonUnavailableError, DockerError, subscribeEvents, type DockerClient } from '../../src/docker/index.js';
import { parseDaemonEvent, type DaemonEvent } from '../../src/docker/events.js';
import { parseContainerStats } from '../../src/docker/stats.js';
import { toApiTimestamp } from '../../src/docker/api-time.js';

const RUN = { 'dev.keelhaul.run': 'r-1' };

/** One events-stream line as the daemon (API 1.41) writes it; `timeNano` is written verbatim. */
function line(action: string, id: string, timeNano: string, extra: Record<string, string> = {}): string {
  const attributes = { 'dev.keelhaul.run': 'r-1', image: 'keelhaul/worker:0.1.0', name: `w-${id}`, ...extra };
  const seconds = timeNano.slice(0, -9);
  return `{"status":"${action}","id":"${id}","from":"keelhaul/worker:0.1.0","Type":"container","Action":"${action}","Actor":{"ID":"${id}","Attributes":${JSON.stringify(attributes)}},"scope":"local","time":${seconds},"timeNano":${timeNano}}\n`;
}

type EventsOptions = Parameters<DockerClient['events']>[0];
type Connect = (options: EventsOptions) => Promise<Readable>;

/** A fake whose n-th `events` call runs the n-th script entry; later calls wait for the abort. */
function fakeDocker(script: Connect[]): { docker: Pick<DockerClient, 'events'>; calls: EventsOptions[] } {
  const calls: EventsOptions[] = [];
  return {
    calls,
    docker: {
      events: (options) => {
        calls.push(options);
        const next = script.shift();
        if (next) return next(options);
        // Like a daemon that never answers: settles only when the request is aborted.
        return new Promise((_, reject) => options.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
      },
    },
  };
}

/** A connection that writes `text` and then stays open, or ends as `end` says. */
function stream(text: string, end: 'open' | 'end' | 'reset' = 'open'): Connect {
  return async (options) => {
    const s = new PassThrough();
    options.signal?.addEventListener('abort', () => s.destroy());
    setImmediate(() => {
      s.write(text);
      if (end === 'end') s.end();
      if (end === 'reset') setImmediate(() => s.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
    });
    return s;
  };
}

const daemonDown: Connect = async () => {
  throw new DaemonUnavailableError('/var/run/docker.sock', { operation: 'events', code: 'ENOENT' });
};

/** Collects events until `count` have arrived, then aborts the subscription. */
async function collect(docker: Pick<DockerClient, 'events'>, count: number, extra: { since?: Date } = {}): Promise<{ events: DaemonEvent[]; states: string[] }> {
  const events: DaemonEvent[] = [];
  const states: string[] = [];
  const controller = new AbortController();
  await subscribeEvents(docker, {
    labels: RUN,
    ...extra,
    reconnectDelayMs: 1,
    signal: controller.signal,
    onState: (s) => states.push(s),
    onEvent: (e) => {
      events.push(e);
      if (events.length === count) controller.abort();
    },
  });
  return { events, states };
}

describe('parseDaemonEvent', () => {
  it('reads a die event: exit code, labels without Docker attributes, exact nanosecond time', () => {
    // 19 digits: JSON.parse would round this to …123456768.
    const e = parseDaemonEvent(line('die', 'c1', '1795316532123456789', { exitCode: '137' }));
    expect(e).toEqual({
      time: '2026-11-22T03:02:12.123Z',
      timeNano: '1795316532123456789',
      action: 'die',
      containerId: 'c1',
      exitCode: 137,
      containerName: 'w-c1',
      image: 'keelhaul/worker:0.1.0',
      labels: { 'dev.keelhaul.run': 'r-1' },
    });
  });

  it('reads a kill event: the signal as the daemon gives it', () => {
    const e = parseDaemonEvent(line('kill', 'c1', '1795316532000000001', { signal: '9' }));
    expect(e?.action).toBe('kill');
    expect(e?.signal).toBe('9');
    expect(e?.exitCode).toBeUndefined();
  });

  it('takes the top-level timeNano even when a label is named timeNano', () => {
    const e = parseDaemonEvent(line('start', 'c1', '1795316532000000002', { timeNano: '5' }));
    expect(e?.timeNano).toBe('1795316532000000002');
    expect(e?.labels['timeNano']).toBe('5');
  });

  it('ignores blank lines, non-JSON and events of other object types', () => {
    expect(parseDaemonEvent('')).toBeUndefined();
    expect(parseDaemonEvent('{"Type":"container"')).toBeUndefined();
    expect(parseDaemonEvent('{"Type":"network","Action":"connect","Actor":{"ID":"n1"},"timeNano":1}')).toBeUndefined();
  });
});

describe('toApiTimestamp', () => {
  it('writes seconds with a nine-digit fraction, from a Date or from nanoseconds', () => {
    expect(toApiTimestamp(new Date(1_795_316_532_007))).toBe('1795316532.007000000');
    expect(toApiTimestamp(1795316532000000042n)).toBe('1795316532.000000042');
  });
});

describe('subscribeEvents', () => {
  it('delivers parsed events of the labelled containers and asks only for container events with those labels', async () => {
    const { docker, calls } = fakeDocker([stream(line('start', 'c1', '1795316532000000001') + line('die', 'c1', '1795316533000000001', { exitCode: '0' }))]);
    const { events, states } = await collect(docker, 2);
    expect(events.map((e) => `${e.action} ${e.containerId}`)).toEqual(['start c1', 'die c1']);
    expect(calls[0]?.labels).toEqual(RUN);
    expect(states).toEqual(['connected']);
  });

  it('joins a message split across chunks', async () => {
    const text = line('oom', 'c2', '1795316532000000001');
    const split: Connect = async () => {
      const s = new PassThrough();
      setImmediate(() => {
        s.write(text.slice(0, 40));
        setImmediate(() => s.write(text.slice(40)));
      });
      return s;
    };
    const { events } = await collect(fakeDocker([split]).docker, 1);
    expect(events[0]?.action).toBe('oom');
  });

  it('first asks from the given since, as seconds with a fraction', async () => {
    const { docker, calls } = fakeDocker([stream(line('start', 'c1', '1795316532000000001'))]);
    await collect(docker, 1, { since: new Date(1_795_316_500_250) });
    expect(calls[0]?.since).toBe('1795316500.250000000');
  });

  it("resumes from just after a recorded event's timeNano, so that nothing recorded is delivered again", async () => {
    const { docker, calls } = fakeDocker([stream(line('die', 'c1', '1795316533123456790', { exitCode: '137' }))]);
    const events: DaemonEvent[] = [];
    const controller = new AbortController();
    await subscribeEvents(docker, {
      labels: RUN,
      since: '1795316533123456789',
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        controller.abort();
      },
    });
    expect(calls[0]?.since).toBe('1795316533.123456790');
    await expect(subscribeEvents(docker, { labels: RUN, since: '2024-01-01', signal: controller.signal, onEvent: () => undefined })).rejects.toThrow(
      'Expected `since` to be a Date or a timeNano',
    );
  });

  it('after a break, reconnects with since = the last event time and drops the events it already delivered', async () => {
    const e1 = line('start', 'c1', '1795316532000000001');
    const e2 = line('kill', 'c1', '1795316533123456789', { signal: '9' });
    // Same time as e2 but another action: a different event, delivered.
    const e2b = line('die', 'c1', '1795316533123456789', { exitCode: '137' });
    const e3 = line('destroy', 'c1', '1795316534000000000');
    const { docker, calls } = fakeDocker([
      stream(e1 + e2, 'reset'), // the daemon stopped mid-stream
      daemonDown, // socket gone: ENOENT
      daemonDown,
      stream(e2 + e2b + e3), // the daemon replays from since, inclusive
    ]);
    const { events, states } = await collect(docker, 4);
    expect(events.map((e) => e.action)).toEqual(['start', 'kill', 'die', 'destroy']);
    expect(calls).toHaveLength(4);
    // Every reconnect asks from the exact time of the last event delivered.
    expect(calls.slice(1).map((c) => c.since)).toEqual(['1795316533.123456789', '1795316533.123456789', '1795316533.123456789']);
    expect(states).toEqual(['connected', 'disconnected', 'connected']);
  });

  it('reconnects when the daemon ends the stream cleanly, and when it does not answer in time', async () => {
    const { docker, calls } = fakeDocker([
      stream(line('start', 'c1', '1795316532000000001'), 'end'),
      // Accepts but never answers (a restoring daemon): the connect timeout gives up on it.
      (options) => new Promise((_, reject) => options.signal?.addEventListener('abort', () => reject(new Error('aborted')))),
      stream(line('start', 'c1', '1795316532000000001') + line('pause', 'c1', '1795316535000000000')),
    ]);
    const events: DaemonEvent[] = [];
    const reasons: string[] = [];
    const controller = new AbortController();
    await subscribeEvents(docker, {
      labels: RUN,
      reconnectDelayMs: 1,
      connectTimeoutMs: 20,
      signal: controller.signal,
      onState: (s, d) => {
        if (s === 'disconnected') reasons.push(d.reason ?? '');
      },
      onEvent: (e) => {
        events.push(e);
        if (events.length === 2) controller.abort();
      },
    });
    expect(events.map((e) => e.action)).toEqual(['start', 'pause']);
    expect(calls).toHaveLength(3);
    expect(reasons[0]).toMatch(/ended the events stream/);
  });

  it('resolves at once when the signal has already aborted, without asking the daemon', async () => {
    const { docker, calls } = fakeDocker([]);
    const controller = new AbortController();
    controller.abort();
    await subscribeEvents(docker, { labels: RUN, signal: controller.signal, onEvent: () => undefined });
    expect(calls).toHaveLength(0);
  });

  it('resolves when aborted while waiting to reconnect', async () => {
    const controller = new AbortController();
    const states: string[] = [];
    const docker = {
      events: async () => {
        throw new DaemonUnavailableError('/x.sock', { operation: 'events', code: 'ECONNREFUSED' });
      },
    };
    const done = subscribeEvents(docker, {
      labels: RUN,
      signal: controller.signal,
      reconnectDelayMs: 60_000,
      onEvent: () => undefined,
      onState: (s) => {
        states.push(s);
        controller.abort();
      },
    });
    await expect(done).resolves.toBeUndefined();
    expect(states).toEqual(['disconnected']);
  });

  it('rejects on a client error from the daemon, which no reconnect would fix', async () => {
    const docker = {
      events: async (): Promise<Readable> => {
        throw new DockerError('Docker events failed: invalid filter', {
          operation: 'events',
          cause: Object.assign(new Error('(HTTP code 400) bad parameter'), { statusCode: 400 }),
        });
      },
    };
    await expect(subscribeEvents(docker, { labels: RUN, signal: new AbortController().signal, onEvent: () => undefined })).rejects.toThrow(/invalid filter/);
  });

  it('rejects with what onEvent threw and closes the stream', async () => {
    let s: PassThrough | undefined;
    const docker = {
      events: async (): Promise<Readable> => {
        s = new PassThrough();
        setImmediate(() => s?.write(line('start', 'c1', '1795316532000000001')));
        return s;
      },
    };
    const bug = new Error('listener bug');
    await expect(
      subscribeEvents(docker, {
        labels: RUN,
        signal: new AbortController().signal,
        onEvent: () => {
          throw bug;
        },
      }),
    ).rejects.toBe(bug);
    expect(s?.destroyed).toBe(true);
  });
});

describe('parseContainerStats', () => {
  const running = {
    read: '2026-11-22T03:02:12.594433903Z',
    pids_stats: { current: 11 },
    cpu_stats: { cpu_usage: { total_usage: 73_064_288 }, system_cpu_usage: 7_389_840_000_000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 72_396_148 }, system_cpu_usage: 7_387_820_000_000, online_cpus: 2 },
    memory_stats: { usage: 15_597_568, limit: 268_435_456, stats: { cache: 6_922_240, total_inactive_file: 1_000_000 } },
  };

  it('computes memory without inactive page cache and CPU from the cpu/precpu deltas × online CPUs', () => {
    const s = parseContainerStats('c1', running);
    expect(s.memoryBytes).toBe(14_597_568);
    expect(s.memoryLimitBytes).toBe(268_435_456);
    expect(s.pids).toBe(11);
    expect(s.time).toBe(running.read);
    // (668140 / 2020000000) × 2 × 100
    expect(s.cpuPercent).toBeCloseTo(0.066152, 5);
  });

  it('falls back to inactive_file (cgroup v2), then cache', () => {
    const v2 = { ...running, memory_stats: { usage: 1000, limit: 5000, stats: { inactive_file: 300 } } };
    expect(parseContainerStats('c1', v2).memoryBytes).toBe(700);
    const old = { ...running, memory_stats: { usage: 1000, limit: 5000, stats: { cache: 400 } } };
    expect(parseContainerStats('c1', old).memoryBytes).toBe(600);
  });

  it('gives 0 % CPU without a previous reading', () => {
    const first = { ...running, precpu_stats: { cpu_usage: { total_usage: 0 } } };
    expect(parseContainerStats('c1', first).cpuPercent).toBe(0);
  });

  it('throws ContainerNotRunningError for the empty answer about a stopped container', () => {
    const stopped = { read: '0001-01-01T00:00:00Z', memory_stats: {}, pids_stats: {} };
    expect(() => parseContainerStats('c9', stopped)).toThrow(ContainerNotRunningError);
  });
});
