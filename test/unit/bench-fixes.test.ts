/**
 * The behaviour behind issue 7's fixes, against plain-object fakes:
 * - the exit tracker gives an attempt's exit from the `die` event (the backend then skips
 *   its inspect), and never takes an earlier life's exit for the current one;
 * - `StateStore.schedule()` writes behind without making the caller wait, coalesces, and a
 *   failed write surfaces at the next awaited save;
 * - the monitor's stop aborts the container stats requests in flight instead of waiting
 *   for them (the daemon takes 1–2 s to answer one).
 * No wall-clock thresholds: each test waits for an outcome, never for a duration.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStateFixture } from '../setup/run-state.js';
import type { RunState } from '../../src/controller/index.js';
import { StateStore } from '../../src/controller/state.js';
import { ContainerExitTracker, type DockerClient } from '../../src/docker/index.js';
import type { DaemonEvent } from '../../src/docker/events.js';
import { startMonitor } from '../../src/monitor/index.js';

function event(action: string, containerId: string, extra: Partial<DaemonEvent> = {}): DaemonEvent {
  return { time: '2026-11-22T00:00:00.000Z', timeNano: '1', action, containerId, labels: {}, ...extra };
}

describe('ContainerExitTracker', () => {
  it('exit tracker: a waiter gets the exit code and time of the die event, and the oom flag of an oom before it', async () => {
    const exits = new ContainerExitTracker();
    const waiting = exits.waitForExit('c1', 60_000);
    exits.note(event('start', 'c1'));
    exits.note(event('oom', 'c1'));
    exits.note(event('die', 'c2', { exitCode: 0 }));
    exits.note(event('die', 'c1', { exitCode: 137, time: '2026-11-22T01:02:03.456Z' }));
    await expect(waiting).resolves.toEqual({ exitCode: 137, oomKilled: true, time: '2026-11-22T01:02:03.456Z' });
    // Known exits answer at once; c2 never had an oom.
    await expect(exits.waitForExit('c2', 60_000)).resolves.toEqual({ exitCode: 0, oomKilled: false, time: '2026-11-22T00:00:00.000Z' });
  });

  it('exit tracker: a start after a die (a restart) clears the exit, so the next die is the one reported', async () => {
    const exits = new ContainerExitTracker();
    exits.note(event('oom', 'c1'));
    exits.note(event('die', 'c1', { exitCode: 137 }));
    exits.note(event('start', 'c1'));
    expect(exits.exitOf('c1')).toBeUndefined();
    const waiting = exits.waitForExit('c1', 60_000);
    exits.note(event('die', 'c1', { exitCode: 0 }));
    await expect(waiting).resolves.toMatchObject({ exitCode: 0, oomKilled: false });
  });

  it('exit tracker: while the events stream is down a waiter is answered at once with nothing (the caller inspects), and a pending one is released', async () => {
    const exits = new ContainerExitTracker();
    const pending = exits.waitForExit('c1', 3_600_000);
    exits.setConnected(false);
    await expect(pending).resolves.toBeUndefined();
    await expect(exits.waitForExit('c2', 3_600_000)).resolves.toBeUndefined();
    exits.setConnected(true);
    exits.note(event('die', 'c2', { exitCode: 5 }));
    await expect(exits.waitForExit('c2', 3_600_000)).resolves.toMatchObject({ exitCode: 5 });
  });

  it('exit tracker: no die within the timeout resolves undefined (the caller inspects instead); a die without exitCode is ignored', async () => {
    const exits = new ContainerExitTracker();
    exits.note(event('die', 'c1'));
    await expect(exits.waitForExit('c1', 1)).resolves.toBeUndefined();
  });
});

const runState = (): RunState => runStateFixture();

describe('StateStore.schedule', () => {
  it('state write-behind: scheduled writes coalesce, and an awaited save leaves the latest state on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keelhaul-state-wb-'));
    try {
      const path = join(dir, 'state.json');
      const store = new StateStore(path, runState());
      store.state.tasks['t-01']!.status = 'running';
      store.schedule();
      for (let i = 0; i < 10; i++) {
        store.state.networkName = `n-${i}`;
        store.schedule();
      }
      store.state.tasks['t-01']!.status = 'completed';
      await store.save();
      const onDisk = JSON.parse(readFileSync(path, 'utf8')) as RunState;
      expect(onDisk.tasks['t-01']!.status).toBe('completed');
      expect(onDisk.networkName).toBe('n-9');
      // 12 requests, coalesced: the first write, then at most two more.
      expect(onDisk.revision).toBeLessThanOrEqual(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('state write-behind: a scheduled write that fails is thrown by the next awaited save, never lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keelhaul-state-wb-'));
    try {
      // A directory that does not exist: the atomic write's temp file cannot be created.
      const store = new StateStore(join(dir, 'missing', 'state.json'), runState());
      store.schedule();
      await expect(store.save()).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('monitor stop', () => {
  it('monitor: stop() aborts the container stats requests in flight instead of waiting for their answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keelhaul-monitor-stop-'));
    try {
      let asked!: () => void;
      const requested = new Promise<void>((r) => (asked = r));
      let aborted = 0;
      // A daemon that never answers a stats request: only an abort settles it. Without the
      // abort, stop() would wait for statsTimeoutMs (an hour here) and the test time out.
      const docker: Pick<DockerClient, 'containerStats'> = {
        containerStats: (_id, options) =>
          new Promise((_, reject) => {
            asked();
            options?.signal?.addEventListener('abort', () => {
              aborted += 1;
              reject(new Error('aborted'));
            });
          }),
      };
      const monitor = startMonitor({
        docker,
        intervalMs: 100,
        statsTimeoutMs: 3_600_000,
        samplesPath: join(dir, 'samples.jsonl'),
        processes: () => [],
        containers: () => ['c1', 'c2'],
        sampleProcess: async () => ({ rssBytes: 1, cpuPercent: 0 }),
      });
      await requested;
      const summary = await monitor.stop();
      expect(aborted).toBeGreaterThanOrEqual(1);
      // Cut short by stop: not a gap in the series.
      expect(summary.skipped).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
