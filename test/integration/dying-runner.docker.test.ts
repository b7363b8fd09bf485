/**
 * A dying test runner, against the real daemon: a child Node process drives a run through
 * the library API (the Harness, as a user's vitest or node:test suite would), with
 * long-sleeping workers on a per-run network; the child is SIGKILLed mid-run — no
 * `finally`, no `harness.close()`, no signal handler runs. After the scenario's reaper TTL
 * a label query finds nothing of the run on the daemon: no container (stopped ones
 * included), no network, no volume. Needs `npm run build` (the reaper is the compiled CLI).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRunResources, removeRunResources, type RunState } from '../../src/controller/index.js';
import { connectDocker, type DockerClient } from '../../src/docker/index.js';

const library = pathToFileURL(resolve('dist/src/index.js')).href;

/** The child: a minimal "test suite" that runs a scenario and prints each attempt it sees running. */
const CHILD = `
import { Harness } from ${JSON.stringify(library)};
const harness = await Harness.create({ runsDir: process.argv[2] });
try {
  await harness.run(
    {
      name: 'dying-runner',
      seed: 8,
      network: 'internal',
      concurrency: 2,
      heartbeatMs: 1000,
      timeoutMs: '20m',
      reaper: { ttlMs: '2s' },
      tasks: { count: 3, steps: [{ progress: 0.1 }, { sleep: '10m' }] },
    },
    { onEvent: (e) => { if (e.type === 'attempt.running') process.stdout.write(JSON.stringify({ run: e.run, task: e.task }) + '\\n'); } },
  );
} finally {
  await harness.close(); // never reached: the runner is SIGKILLed first
}
`;

describe('a dying test runner (docker)', () => {
  let dir: string;
  let docker: DockerClient;
  let runId: string | undefined;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kh-dying-runner-'));
    docker = await connectDocker();
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // Only when the test failed is anything left; remove it by this run's label only.
    if (runId) await removeRunResources(docker, runId);
    await rm(dir, { recursive: true, force: true });
  });

  it('dying runner: a Harness run whose process is SIGKILLed leaves nothing on the daemon after the reaper TTL', async () => {
    const script = join(dir, 'suite.mjs');
    const runsDir = join(dir, 'runs');
    await writeFile(script, CHILD);
    child = spawn(process.execPath, [script, runsDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<NodeJS.Signals | null>((r) => child!.once('exit', (_code, signal) => r(signal)));

    // Wait until two attempts run (concurrency 2; the third task is still queued).
    const running = new Set<string>();
    for await (const line of createInterface({ input: child.stdout! })) {
      const seen = JSON.parse(line) as { run: string; task: string };
      runId = seen.run;
      running.add(seen.task);
      if (running.size === 2) break;
    }
    expect(running.size, `two attempts running before the kill; the child's stderr:\n${stderr}`).toBe(2);
    const id = runId!;

    // The run has something on the daemon to leak: two attempt containers (`…-a<n>`; a helper —
    // the isolation probe, a workspace owner — may be there beside them), the per-run network,
    // the task volumes.
    const before = await findRunResources(docker, id);
    expect(before.containers.filter((name) => /-a\d+$/.test(name))).toHaveLength(2);
    expect(before.networks).toHaveLength(1);
    expect(before.volumes.length).toBeGreaterThanOrEqual(2);
    const state = JSON.parse(await readFile(join(runsDir, id, 'state.json'), 'utf8')) as RunState;
    expect(state.reaper, 'the Harness path started a reaper').not.toBeNull();
    expect(state.controller.pid).toBe(child.pid);

    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // The reaper removes the run once its controller has been dead for the TTL (2 s); wait
    // for its record rather than for a fixed time, with a bound only against a hang.
    let after = await findRunResources(docker, id);
    for (let i = 0; i < 240 && (after.containers.length + after.networks.length + after.volumes.length > 0 || !(await reaped(runsDir, id))); i++) {
      await sleep(500);
      after = await findRunResources(docker, id);
    }
    const reaperLog = await readFile(join(runsDir, id, 'reaper.log'), 'utf8').catch(() => '(no reaper.log)');
    expect(after, `label query dev.keelhaul.run=${id} after the TTL; reaper.log:\n${reaperLog}`).toEqual({ containers: [], networks: [], volumes: [] });
    const finalState = JSON.parse(await readFile(join(runsDir, id, 'state.json'), 'utf8')) as RunState;
    expect(finalState.status).toBe('reaped');
    const events = (await readFile(join(runsDir, id, 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; deadControllerPid?: number });
    expect(events.find((e) => e.type === 'run.reaped')?.deadControllerPid).toBe(child.pid);
    runId = undefined;
  });
});

async function reaped(runsDir: string, runId: string): Promise<boolean> {
  const text = await readFile(join(runsDir, runId, 'state.json'), 'utf8').catch(() => '{}');
  return (JSON.parse(text) as { status?: string }).status === 'reaped';
}
