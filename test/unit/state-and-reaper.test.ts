import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStateFixture } from '../setup/run-state.js';
import { isControllerAlive, readRunState, runReaper, StateError } from '../../src/controller/index.js';
import { CompletionLedger } from '../../src/controller/ledger.js';
import { currentController, processStartTimeMs } from '../../src/controller/liveness.js';
import { StateStore } from '../../src/controller/state.js';
import type { DockerClient } from '../../src/docker/index.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'keelhaul-state-'));
}

/** The pid of a process that has exited (so it is certainly not alive, barring pid reuse within the test). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const state = runStateFixture;

describe('state store', () => {
  it('state: every save leaves a file that parses, with a growing revision, and no temp file behind', async () => {
    const dir = tempDir();
    const store = new StateStore(join(dir, 'state.json'), state());
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.update((s) => {
          s.tasks['t-01']!.status = i % 2 ? 'running' : 'pending';
        }),
      ),
    );
    const onDisk = await readRunState(join(dir, 'state.json'));
    expect(onDisk.revision).toBeGreaterThanOrEqual(1);
    expect(onDisk.revision).toBeLessThanOrEqual(20);
    expect(onDisk.tasks['t-01']!.status).toBe(store.state.tasks['t-01']!.status);
    expect(readdirSync(dir)).toEqual(['state.json']);
    rmSync(dir, { recursive: true });
  });

  it('state: a missing, corrupt or other-version state.json is a StateError naming the file', async () => {
    const dir = tempDir();
    const path = join(dir, 'state.json');
    await expect(readRunState(path)).rejects.toThrow(StateError);
    writeFileSync(path, '{"schemaVersion": 1, "runId": ');
    await expect(readRunState(path)).rejects.toThrow(/state\.json: is not valid JSON/);
    writeFileSync(path, JSON.stringify({ schemaVersion: 99 }));
    await expect(readRunState(path)).rejects.toThrow(/schemaVersion 99/);
    rmSync(dir, { recursive: true });
  });
});

describe('completion ledger', () => {
  it('ledger: appended entries read back in order; a torn last line is ignored', async () => {
    const dir = tempDir();
    const ledger = new CompletionLedger(join(dir, 'completions.jsonl'));
    expect(await ledger.read()).toEqual([]);
    await ledger.append({ task: 't-01', attempt: 2, containerId: 'c1', controllerPid: 1, ts: 'x' });
    await ledger.append({ task: 't-02', attempt: 1, containerId: 'c2', controllerPid: 1, ts: 'y' });
    writeFileSync(join(dir, 'completions.jsonl'), `${readFileSync(join(dir, 'completions.jsonl'), 'utf8')}{"task":"t-0`);
    expect((await ledger.read()).map((e) => [e.task, e.attempt])).toEqual([
      ['t-01', 2],
      ['t-02', 1],
    ]);
    rmSync(dir, { recursive: true });
  });
});

describe('controller liveness', () => {
  it('liveness: this process is alive; an exited pid is not; a pid with another start time is not', () => {
    const me = currentController();
    expect(isControllerAlive(me)).toBe(true);
    expect(processStartTimeMs(process.pid)).toBeGreaterThan(0);
    expect(isControllerAlive({ pid: deadPid(), start: me.start, hostname: hostname() })).toBe(false);
    expect(isControllerAlive({ ...me, start: me.start - 60_000 })).toBe(false);
  });

  it('liveness: a controller on another host is assumed alive (never reap what cannot be seen)', () => {
    expect(isControllerAlive({ pid: deadPid(), start: 1, hostname: `not-${hostname()}` })).toBe(true);
  });
});

describe('reaper loop', () => {
  const fakeDocker = (removed: string[]): DockerClient =>
    ({
      listContainers: async () => [{ id: 'c1', names: ['/c1'], image: 'i', state: 'running', labels: {} }],
      listNetworks: async () => [],
      listVolumes: async () => [{ name: 'v1', labels: {} }],
      removeContainer: async (id: string) => void removed.push(id),
      removeVolume: async (name: string) => void removed.push(name),
      removeNetwork: async () => undefined,
    }) as unknown as DockerClient;

  it('reaper: a dead controller is reaped after the TTL; the run is marked reaped and run.reaped appended', async () => {
    const dir = tempDir();
    const store = new StateStore(join(dir, 'state.json'), state({ controller: { pid: deadPid(), start: 1, hostname: hostname() } }));
    await store.save();
    const removed: string[] = [];
    const result = await runReaper({ runDir: dir, ttlMs: 30, pollMs: 10, log: () => undefined, connect: async () => fakeDocker(removed) });
    expect(result).toBe('reaped');
    expect(removed).toEqual(['c1', 'v1']);
    expect((await readRunState(join(dir, 'state.json'))).status).toBe('reaped');
    expect(readFileSync(join(dir, 'events.jsonl'), 'utf8')).toContain('"type":"run.reaped"');
    rmSync(dir, { recursive: true });
  });

  it('reaper: a daemon that never answers is tried with growing delays, then given up with a final line (no retrying once a second forever)', async () => {
    const dir = tempDir();
    const store = new StateStore(join(dir, 'state.json'), state({ controller: { pid: deadPid(), start: 1, hostname: hostname() } }));
    await store.save();
    const lines: string[] = [];
    const tries: number[] = [];
    const result = await runReaper({
      runDir: dir,
      ttlMs: 10,
      pollMs: 5,
      maxFailures: 4,
      log: (line) => lines.push(line),
      connect: async () => {
        tries.push(Date.now());
        throw new Error('No Docker daemon answers at /x.sock');
      },
    });
    expect(result).toBe('gave-up');
    expect(tries).toHaveLength(4);
    // 5 × 2, × 4, × 8 ms between the tries: each wait longer than the one before.
    const gaps = tries.slice(1).map((t, i) => t - tries[i]!);
    expect(gaps[2]!).toBeGreaterThanOrEqual(35);
    expect(lines.at(-1)).toMatch(/^giving up after 4 tries: No Docker daemon answers at \/x\.sock; once the daemon answers, `keelhaul clean /);
    expect(lines.filter((l) => l.startsWith('reaping failed (try '))).toHaveLength(3);
    rmSync(dir, { recursive: true });
  });

  it('reaper: a live controller is never reaped; the reaper exits when the run finishes', async () => {
    const dir = tempDir();
    const store = new StateStore(join(dir, 'state.json'), state());
    await store.save();
    const removed: string[] = [];
    const reaper = runReaper({ runDir: dir, ttlMs: 20, pollMs: 10, log: () => undefined, connect: async () => fakeDocker(removed) });
    await new Promise((r) => setTimeout(r, 150));
    await store.update((s) => {
      s.status = 'finished';
    });
    expect(await reaper).toBe('finished');
    expect(removed).toEqual([]);
    rmSync(dir, { recursive: true });
  });

  it('reaper: when the run directory disappears it still reaps from the state it last read', async () => {
    const dir = tempDir();
    const store = new StateStore(join(dir, 'state.json'), state({ controller: { pid: deadPid(), start: 1, hostname: hostname() } }));
    await store.save();
    const removed: string[] = [];
    const reaper = runReaper({ runDir: dir, ttlMs: 200, pollMs: 10, log: () => undefined, connect: async () => fakeDocker(removed) });
    await new Promise((r) => setTimeout(r, 50));
    rmSync(dir, { recursive: true });
    expect(await reaper).toBe('reaped');
    expect(removed).toEqual(['c1', 'v1']);
  });
});
