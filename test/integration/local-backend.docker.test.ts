/**
 * The local backend with real worker processes: nothing is left behind on any exit path
 * (an aborted run, Ctrl-C to the CLI, the CLI SIGKILLed), and a size-limited workspace is
 * a real tmpfs mount that a fill-disk fault fills and that is unmounted at the end. The
 * docker project runs it because a local run still asks the daemon for its version.
 */
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/index.js';
import { runScenario, type RunEvent } from '../../src/controller/index.js';
import { connectDocker, Label, type DockerClient } from '../../src/docker/index.js';
import { validateScenario } from '../../src/scenario/index.js';

let docker: DockerClient;
let runsDir: string;
const cli = resolve('dist/src/cli/main.js');

beforeAll(async () => {
  docker = await connectDocker();
  runsDir = await mkdtemp(join(tmpdir(), 'keelhaul-local-'));
});
afterAll(async () => {
  await rm(runsDir, { recursive: true, force: true });
});

/** Whether a process is alive (a zombie is not). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits (bounded by attempts, not a wall-clock assertion) until none of the pids is alive. */
async function settled(pids: readonly number[]): Promise<number[]> {
  for (let i = 0; i < 100 && pids.some(alive); i++) await sleep(50);
  return pids.filter(alive);
}

/** Whether the process of a `pid:<n>` attempt reaches the state letter (T stopped, S sleeping) within 100 looks. */
async function stateSettles(id: string, letter: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (new RegExp(`^State:\\s+${letter}`, 'm').test(readFileSync(`/proc/${id.slice(4)}/status`, 'utf8'))) return true;
    await sleep(20);
  }
  return false;
}

const longTasks = {
  name: 'local-long',
  seed: 1,
  concurrency: 2,
  heartbeatMs: 200,
  tasks: { count: 3, steps: [{ progress: 0.1 }, { sleep: 20_000 }, { progress: 1 }] },
};

/** A scenario file for the CLI. */
async function scenarioFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(runsDir, 'scenario-'));
  const path = join(dir, 'scenario.yaml');
  await (await import('node:fs/promises')).writeFile(path, text);
  return path;
}

describe('local backend: attempts as processes, found by label', () => {
  it('local backend: label queries, pause (SIGSTOP/SIGCONT), kill and refusals act on real worker processes', async () => {
    const runDir = await mkdtemp(join(runsDir, 'direct-'));
    const backend = new LocalBackend({ runId: 'r-direct', runDir, network: 'none' });
    await backend.prepare();
    const labels = (task: string) => ({ [Label.run]: 'r-direct', [Label.role]: 'worker', [Label.task]: task, [Label.attempt]: '1' });
    const events: string[] = [];
    const taskStarted: Promise<void>[] = [];
    const launch = (task: string) => {
      let resolveStarted!: () => void;
      taskStarted.push(new Promise((r) => (resolveStarted = r)));
      return backend.launch(
        {
          runId: 'r-direct',
          taskId: task,
          attempt: 1,
          seed: 9,
          labels: labels(task),
          logDir: join(runDir, 'attempts', task, '1'),
          task: { id: task, heartbeatMs: 100, steps: [{ sleep: 20_000 }] },
        },
        {
          onEvent: (e) => {
            events.push(`${task} ${e.type}`);
            if (e.type === 'task.started') resolveStarted();
          },
        },
      );
    };
    const [a, b] = await Promise.all([launch('t-01'), launch('t-02')]);
    try {
      // Faults act on workers that run their task, as the injector's triggers do.
      await Promise.all(taskStarted);
      const running = (labels: Record<string, string>, status = 'running') =>
        backend
          .listAttempts({ labels, status })
          .map((c) => c.labels[Label.task])
          .sort();
      expect(running({ [Label.run]: 'r-direct', [Label.role]: 'worker' })).toEqual(['t-01', 't-02']);
      expect(running({ [Label.run]: 'r-direct', [Label.task]: 't-02' })).toEqual(['t-02']);
      expect(running({ [Label.run]: 'r-direct', [Label.task]: '*' })).toEqual(['t-01', 't-02']);
      expect(running({ [Label.run]: 'other' })).toEqual([]);
      expect(backend.listAttempts({ labels: {} })[0]!.names[0]).toMatch(/^\/kh-r-direct-t-0[12]-a1$/);

      const undo = await backend.applyFault({ kind: 'pause', trigger: { at: 0 }, target: { labels: {}, pick: 'first', count: 1 }, params: { durationMs: 1 } }, a.id);
      // Signal delivery is asynchronous: look a few times (bounded by count, not a deadline).
      expect(await stateSettles(a.id, 'T')).toBe(true);
      expect(running({ [Label.run]: 'r-direct' })).toEqual(['t-02']);
      expect(running({ [Label.run]: 'r-direct' }, 'paused')).toEqual(['t-01']);
      await undo!();
      expect(await stateSettles(a.id, 'S')).toBe(true);

      await backend.applyFault({ kind: 'kill', trigger: { at: 0 }, target: { labels: {}, pick: 'first', count: 1 }, params: { signal: 'SIGKILL', mode: 'api' } }, b.id);
      expect(await b.wait()).toMatchObject({ exitCode: 137, oomKilled: false });
      await expect(
        backend.applyFault({ kind: 'kill', trigger: { at: 0 }, target: { labels: {}, pick: 'first', count: 1 }, params: { signal: 'SIGKILL', mode: 'api' } }, b.id),
      ).rejects.toThrow(/not running/);
      await expect(backend.applyFault({ kind: 'restart', trigger: { at: 0 }, target: { labels: {}, pick: 'first', count: 1 }, params: { graceMs: 1000 } }, a.id)).rejects.toThrow(
        /restart on process pid:\d+: cannot be applied on the local backend/,
      );
      expect(events).toContain('t-01 task.started');
      // The worker saw only lo, as in a container with --network none (unshare --net).
      const started = JSON.parse(readFileSync(join(runDir, 'attempts', 't-01', '1', 'stdout.log'), 'utf8').split('\n')[0]!) as { interfaces: { name: string }[] };
      expect(started.interfaces.filter((i) => i.name !== 'lo')).toEqual([]);
    } finally {
      await backend.close();
    }
    expect(await settled([a, b].map((h) => Number(h.id.slice(4))))).toEqual([]);
    expect(backend.leaks()).toEqual({ containers: [], networks: [], volumes: [] });
  });
});

describe('local backend: processes, reaped on every exit path', () => {
  it('local backend: an aborted run kills its running workers and reports them', async () => {
    const controller = new AbortController();
    const pids: number[] = [];
    const result = await runScenario({
      scenario: validateScenario({ ...longTasks, backend: 'local' }),
      docker,
      runsDir,
      reaper: false,
      signal: controller.signal,
      onEvent: (e: RunEvent) => {
        if (e.type === 'attempt.running') {
          pids.push(Number(e.containerId.slice(4)));
          if (pids.length === 2) controller.abort(new Error('test abort'));
        }
      },
    });
    expect(pids).toHaveLength(2);
    expect(await settled(pids)).toEqual([]);
    expect(result.report.backend).toBe('local');
    expect(result.report.error).toMatch(/test abort/);
    expect(result.report.attempts.map((a) => a.exitCode)).toEqual([137, 137]);
    expect(result.report.checks.find((c) => c.name === 'no-leaks')).toMatchObject({ ok: true });
    // Workers ran as processes of the same worker: their workspaces are under the run directory.
    expect(await readdir(join(result.runDir, 'workspaces'))).toEqual(expect.arrayContaining(['t-01', 't-02']));
  });

  it('local backend: Ctrl-C to `keelhaul run --backend local` exits 130 and leaves no worker', async () => {
    const path = await scenarioFile(JSON.stringify(longTasks));
    const child = execa('node', [cli, 'run', path, '--backend', 'local', '--runs-dir', runsDir], { reject: false, buffer: false });
    const pids: number[] = [];
    for await (const line of child.iterable({ from: 'stdout' })) {
      const m = /running\s+process pid:(\d+)/.exec(String(line));
      if (m) pids.push(Number(m[1]));
      // Read on to the end: a closed pipe would make keelhaul's next write fail (EPIPE).
      if (m && pids.length === 2) child.kill('SIGINT');
    }
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(await settled(pids)).toEqual([]);
  });

  it('local backend: workers die with a SIGKILLed controller (parent-death signal)', async () => {
    const path = await scenarioFile(JSON.stringify(longTasks));
    const child = execa('node', [cli, 'run', path, '--backend', 'local', '--runs-dir', runsDir], { reject: false, buffer: false });
    const pids: number[] = [];
    for await (const line of child.iterable({ from: 'stdout' })) {
      const m = /running\s+process pid:(\d+)/.exec(String(line));
      if (m) pids.push(Number(m[1]));
      // Read on to the end: a closed pipe would make keelhaul's next write fail (EPIPE).
      if (m && pids.length === 2) child.kill('SIGKILL');
    }
    await child;
    expect(pids).toHaveLength(2);
    expect(await settled(pids)).toEqual([]);
  });

  it('local backend: fill-disk fills the tmpfs workspace, the worker fails disk_full, the retry gets a fresh one; nothing stays mounted', async () => {
    const result = await runScenario({
      scenario: validateScenario({
        name: 'local-fill-disk',
        backend: 'local',
        seed: 2,
        concurrency: 1,
        heartbeatMs: 200,
        workspace: { size: '1m' },
        tasks: [
          { id: 't-01', steps: [{ write: { path: 'a.txt', content: 'a\n' } }, { progress: 0.5 }, { sleep: 800 }, { write: { path: 'big.bin', bytes: 262_144 } }, { progress: 1 }] },
        ],
        faults: [
          {
            kind: 'fill-disk',
            trigger: { on: { event: 'task.progress', task: 't-01', attempt: 1 } },
            target: { labels: { role: 'worker', task: 't-01' } },
          },
        ],
      }),
      docker,
      runsDir,
      reaper: false,
    });
    expect(result.report.attempts.map((a) => [a.outcome, a.reason ?? null])).toEqual([
      ['failed', 'disk_full'],
      ['completed', null],
    ]);
    expect(result.report.status).toBe('passed');
    const mounts = readFileSync('/proc/mounts', 'utf8');
    expect(mounts).not.toContain(result.runDir);
    // Both workspaces stay as directories (now unmounted, so empty) for the post-mortem.
    expect(existsSync(join(result.runDir, 'workspaces', 't-01'))).toBe(true);
    expect(existsSync(join(result.runDir, 'workspaces', 't-01.w2'))).toBe(true);
  });
});
