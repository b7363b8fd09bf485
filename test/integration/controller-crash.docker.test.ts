/**
 * The controller itself as a fault, against the real daemon: `keelhaul run` is a child
 * process SIGKILLed at seeded moments, then `keelhaul resume` finishes the run. Every task
 * completes exactly once, state.json parses after every crash, nothing is left behind; an
 * abandoned run is reaped after its TTL while a live run beside it is untouched.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../src/chaos/index.js';
import { runScenario, type RunState } from '../../src/controller/index.js';
import { connectDocker, Label, type DockerClient } from '../../src/docker/index.js';
import type { RunReport } from '../../src/report/index.js';
import { validateScenario } from '../../src/scenario/index.js';

const bin = resolve('dist/src/cli/main.js');
const observer = new Dockerode();

const SCENARIO = `name: crash-resume
seed: 11
concurrency: 2
heartbeatMs: 200
reaper: { ttlMs: 30000 }
retry: { maxAttempts: 3, backoffMs: 50 }
tasks:
  count: 4
  steps:
    - sleep: 700
    - write: { path: out.bin, bytes: 2048 }
faults:
  - kind: kill
    trigger: { on: { event: task.started, nth: 2 } }
`;

async function labelled(runId: string): Promise<number> {
  const filters = JSON.stringify({ label: [`${Label.run}=${runId}`] });
  const [c, n, v] = await Promise.all([observer.listContainers({ all: true, filters }), observer.listNetworks({ filters }), observer.listVolumes({ filters })]);
  return c.length + n.length + (v.Volumes ?? []).length;
}

/**
 * Starts `keelhaul run`, waits until its run directory exists (the run has begun), then
 * SIGKILLs it `afterMs` later. Returns the run id and whether the run ended by itself first.
 */
async function runAndKill(file: string, runsDir: string, scenarioName: string, afterMs: number): Promise<{ runId: string; exited: boolean }> {
  const before = new Set(await readdir(runsDir).catch(() => []));
  const child = spawn(process.execPath, [bin, 'run', file, '--runs-dir', runsDir], { stdio: 'ignore' });
  let ended = false;
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      ended = true;
      r();
    }),
  );
  let runId: string | undefined;
  const deadline = Date.now() + 20_000;
  while (!runId && Date.now() < deadline && !ended) {
    for (const d of (await readdir(runsDir).catch(() => [] as string[])).filter((x) => !before.has(x))) {
      const yaml = await readFile(join(runsDir, d, 'scenario.yaml'), 'utf8').catch(() => '');
      if (yaml.includes(`name: ${scenarioName}`)) runId = d;
    }
    if (!runId) await sleep(20);
  }
  expect(runId, 'the run directory appeared').toBeDefined();
  await Promise.race([exited, sleep(afterMs)]);
  const exitedByItself = ended;
  if (!ended) child.kill('SIGKILL');
  await exited;
  return { runId: runId!, exited: exitedByItself };
}

describe('controller crash (docker)', () => {
  let dir: string;
  let runsDir: string;
  let file: string;
  let docker: DockerClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keelhaul-crash-'));
    runsDir = join(dir, 'runs');
    file = join(dir, 'crash-resume.yaml');
    await writeFile(file, SCENARIO);
    docker = await connectDocker();
  });
  afterAll(async () => {
    // Anything a failed assertion left behind goes, so later tests start clean (the reapers
    // of runs whose directory is removed here reap from the state they last read).
    spawnSync(process.execPath, [bin, 'clean', '--stale', '--runs-dir', runsDir], { stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true });
  });

  // Ten crash moments drawn from one seed, spread over the run's ~2.5 s of work (ms after its run directory appears).
  const moments = Array.from({ length: 10 }, (_, i) => createSeededRandom(2026).fork(`moment-${i}`)).map((r) => r.int(2600));

  it.each(moments.map((ms, i) => [i + 1, ms]))('controller crash %i: SIGKILL at +%i ms, then resume: every task completes exactly once and nothing is left', async (_i, ms) => {
    const { runId, exited } = await runAndKill(file, runsDir, 'crash-resume', ms);
    const runDir = join(runsDir, runId);
    // state.json is written atomically: it parses whatever the moment of the crash.
    const state = JSON.parse(await readFile(join(runDir, 'state.json'), 'utf8')) as RunState;
    expect(state.runId).toBe(runId);
    if (!exited) expect(state.status).toBe('running');

    const resume = spawnSync(process.execPath, [bin, 'resume', runId, '--runs-dir', runsDir], { encoding: 'utf8', timeout: 120_000 });
    if (exited) {
      // The run finished before the kill landed: resume refuses with exit 2.
      expect(resume.status).toBe(2);
      expect(resume.stderr).toMatch(/already finished/);
    } else {
      expect(resume.stderr, resume.stdout).toBe('');
      expect(resume.status, resume.stdout).toBe(0);
    }
    const report = JSON.parse(await readFile(join(runDir, 'report.json'), 'utf8')) as RunReport;
    expect(report.status).toBe('passed');
    expect(report.tasks.map((t) => t.outcome)).toEqual(['completed', 'completed', 'completed', 'completed']);
    const ledger = (await readFile(join(runDir, 'completions.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { task: string }).task);
    expect(ledger.sort()).toEqual(['t-01', 't-02', 't-03', 't-04']);
    expect(report.checks.find((c) => c.name === 'exactly-once')?.ok).toBe(true);
    // Agent usage across both controllers: every usage report in events.jsonl counted once
    // (the resumed controller reads the first one's events; replayed lines are skipped).
    const usageReports = (await readFile(join(runDir, 'events.jsonl'), 'utf8')).split('\n').flatMap((l) => {
      try {
        const e = JSON.parse(l) as { type?: string; event?: { usage?: { tokensIn: number; tokensOut: number } } };
        return e.type === 'worker.event' && e.event?.usage ? [e.event.usage] : [];
      } catch {
        return []; // the line the SIGKILL tore
      }
    });
    expect(report.usage.total.reports).toBe(usageReports.length);
    expect(report.usage.total.tokens).toBe(usageReports.reduce((n, u) => n + u.tokensIn + u.tokensOut, 0));
    expect(report.usage.total.tokens).toBe(report.attempts.reduce((n, a) => n + a.usage.tokens, 0));
    expect(await labelled(runId)).toBe(0);
  });

  it('reaper: a SIGKILLed controller that nobody resumes is reaped after its TTL; a live run beside it is untouched', async () => {
    const abandoned = join(dir, 'abandoned.yaml');
    await writeFile(abandoned, SCENARIO.replace('name: crash-resume', 'name: abandoned').replace('ttlMs: 30000', 'ttlMs: 2000').replace('sleep: 700', 'sleep: 20000'));
    // A live run on the same daemon, in this process, whose workers outlive the reap.
    const live = runScenario({
      scenario: validateScenario({
        name: 'live-beside',
        concurrency: 2,
        heartbeatMs: 200,
        reaper: { ttlMs: 2000 },
        tasks: { count: 2, steps: [{ sleep: 9000 }] },
      }),
      docker,
      runsDir,
    });
    const { runId } = await runAndKill(abandoned, runsDir, 'abandoned', 1500);
    expect(await labelled(runId)).toBeGreaterThan(0);
    let liveRunId: string | undefined;
    for (const d of await readdir(runsDir)) {
      if ((await readFile(join(runsDir, d, 'scenario.yaml'), 'utf8')).includes('name: live-beside')) liveRunId = d;
    }
    expect(liveRunId).toBeDefined();

    // TTL 2 s after the reaper notices (polls every 1 s), plus slack.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await labelled(runId)) > 0) await sleep(500);
    expect(await labelled(runId)).toBe(0);
    const reaped = JSON.parse(await readFile(join(runsDir, runId, 'state.json'), 'utf8')) as RunState;
    expect(reaped.status).toBe('reaped');
    expect(await readFile(join(runsDir, runId, 'events.jsonl'), 'utf8')).toContain('"type":"run.reaped"');

    // The live run still has its containers, running, and finishes normally.
    const liveContainers = await observer.listContainers({ filters: JSON.stringify({ label: [`${Label.run}=${liveRunId}`] }) });
    expect(liveContainers.filter((c) => c.State === 'running')).toHaveLength(2);
    const result = await live;
    expect(result.report.status).toBe('passed');
    expect(await labelled(result.report.runId)).toBe(0);
  });
});
