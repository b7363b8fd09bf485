import { describe, expect, it } from 'vitest';
import type { RunEventInput } from '../../src/controller/events.js';
import { ensureReaper, guardRunNetwork } from '../../src/controller/run-setup.js';
import type { RunState, StateStore } from '../../src/controller/state.js';
import type { DockerClient } from '../../src/docker/index.js';

/** A store whose writes only apply the change. */
function fakeStore(reaper: RunState['reaper']): StateStore & { writes: number } {
  const state = { reaper } as RunState;
  const store = {
    state,
    writes: 0,
    update: async (change: (s: RunState) => void) => {
      change(state);
      store.writes += 1;
    },
  };
  return store as unknown as StateStore & { writes: number };
}

describe('run setup: the reaper', () => {
  it('run setup: a live reaper of the run is kept and reported, none started', async () => {
    const store = fakeStore({ pid: 42, ttlMs: 9000 });
    const events: RunEventInput[] = [];
    let started = 0;
    await ensureReaper({ runDir: '/r', store, ttlMs: 60_000, emit: (e) => events.push(e), isReaper: (pid) => pid === 42, start: async () => ({ pid: ++started }) });
    expect(started).toBe(0);
    expect(events).toEqual([{ type: 'reaper.started', pid: 42, ttlMs: 9000 }]);
  });

  it('run setup: otherwise a reaper is started and recorded in state.json before it is reported', async () => {
    const store = fakeStore({ pid: 42, ttlMs: 9000 });
    const events: RunEventInput[] = [];
    await ensureReaper({ runDir: '/r', store, ttlMs: 60_000, emit: (e) => events.push(e), isReaper: () => false, start: async () => ({ pid: 77 }) });
    expect(store.state.reaper).toEqual({ pid: 77, ttlMs: 60_000 });
    expect(store.writes).toBe(1);
    expect(events).toEqual([{ type: 'reaper.started', pid: 77, ttlMs: 60_000 }]);
  });

  it('run setup: a reaper that cannot start is reported unavailable and the run goes on', async () => {
    const store = fakeStore(null);
    const events: RunEventInput[] = [];
    await ensureReaper({ runDir: '/r', store, ttlMs: 1, emit: (e) => events.push(e), start: () => Promise.reject(new Error('spawn EACCES')) });
    expect(events).toEqual([{ type: 'reaper.unavailable', reason: 'spawn EACCES' }]);
    expect(store.writes).toBe(0);
  });
});

describe('run setup: the internal network guard', () => {
  const docker = (names: string[]): Pick<DockerClient, 'listNetworks' | 'endpoint'> =>
    ({ endpoint: '/var/run/docker.sock', listNetworks: async () => names.map((name, i) => ({ id: `n${i}`, name })) }) as unknown as Pick<DockerClient, 'listNetworks' | 'endpoint'>;

  it('run setup: the run network is guarded and the result reported', async () => {
    const events: RunEventInput[] = [];
    const calls: unknown[] = [];
    const applied = await guardRunNetwork(
      docker(['other', 'kh-r']),
      'r',
      'kh-r',
      (e) => events.push(e),
      async (runId, id, options) => {
        calls.push([runId, id, options]);
        return { applied: true, bridge: 'br-1' };
      },
    );
    expect(applied).toBe(true);
    expect(calls).toEqual([['r', 'n1', { daemonIsLocal: true }]]);
    expect(events).toEqual([{ type: 'network.guarded', network: 'kh-r', bridge: 'br-1', applied: true }]);
  });

  it('run setup: a network without the run label is not touched', async () => {
    const events: RunEventInput[] = [];
    const applied = await guardRunNetwork(
      docker([]),
      'r',
      'kh-r',
      (e) => events.push(e),
      async () => {
        throw new Error('must not be called');
      },
    );
    expect(applied).toBe(false);
    expect(events).toEqual([{ type: 'network.guarded', network: 'kh-r', bridge: '', applied: false, reason: "network kh-r does not carry the run's label" }]);
  });
});
