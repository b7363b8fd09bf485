/**
 * Daemon faults against a private dockerd this test starts (never the machine's main
 * daemon): daemon-stop and daemon-kill with live-restore on and off, daemon-restart, and a
 * daemon that does not come back within the outage limit — state saved, and `resume`
 * completes the run once it is back.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resumeRun, runScenario, type RunResult, type RunState } from '../../src/controller/index.js';
import { startPrivateDaemon, type PrivateDaemon } from '../../src/daemon/index.js';
import { Label, type DockerClient } from '../../src/docker/index.js';
import { loadScenarioFile, validateScenario, type Scenario } from '../../src/scenario/index.js';

describe('daemon faults on a private daemon (docker)', () => {
  let daemon: PrivateDaemon;
  let docker: DockerClient;
  let runsDir: string;

  beforeAll(async () => {
    daemon = await startPrivateDaemon({ name: 'khdfault' });
    docker = await daemon.connect();
    runsDir = await mkdtemp(join(tmpdir(), 'keelhaul-daemon-faults-'));
  });
  afterAll(async () => {
    await daemon?.remove();
    await rm(runsDir, { recursive: true, force: true });
  });

  async function leftOn(runId: string): Promise<number> {
    const labels = { [Label.run]: runId };
    const [c, n, v] = await Promise.all([docker.listContainers({ labels, all: true }), docker.listNetworks({ labels }), docker.listVolumes({ labels })]);
    return c.length + n.length + v.length;
  }

  async function run(scenario: Scenario): Promise<RunResult> {
    // The main daemon's client is irrelevant here: a private-daemon scenario runs on `privateDaemon`.
    return runScenario({ scenario, docker, runsDir, privateDaemon: daemon, reaper: false });
  }

  const cases = [
    ['daemon-stop', true],
    ['daemon-stop', false],
    ['daemon-kill', true],
    ['daemon-kill', false],
  ] as const;

  it.each(cases)('%s with live-restore %s: every task completes exactly once; with live-restore no attempt is retried; nothing is left', async (kind, liveRestore) => {
    const base = await loadScenarioFile(resolve(`chaos/${kind}.yaml`));
    const scenario = { ...base, daemon: { ...base.daemon, liveRestore } };
    const r = await run(scenario);
    expect(r.report.error).toBeUndefined();
    expect(r.report.status).toBe('passed');
    expect(r.report.faults[0]!.status).toBe('injected');
    expect(r.report.tasks.every((t) => t.outcome === 'completed')).toBe(true);
    expect(r.report.checks.find((c) => c.name === 'exactly-once')!.ok).toBe(true);
    if (liveRestore) {
      // The workers kept running through the outage: one attempt per task.
      expect(r.report.tasks.map((t) => t.attempts)).toEqual([1, 1, 1]);
    } else {
      // The daemon stopped the running workers: those tasks were retried.
      expect(r.report.tasks.some((t) => t.attempts > 1)).toBe(true);
    }
    expect(await leftOn(r.report.runId)).toBe(0);
  });

  it('daemon-restart with live-restore: the running workers are re-attached and complete on their first attempt', async () => {
    const r = await run(await loadScenarioFile(resolve('chaos/daemon-restart.yaml')));
    expect(r.report.status).toBe('passed');
    expect(r.report.tasks.map((t) => t.attempts)).toEqual([1, 1, 1]);
    const events = await readFile(join(r.runDir, 'events.jsonl'), 'utf8');
    expect(events).toContain('"type":"attempt.reattached"');
    expect(await leftOn(r.report.runId)).toBe(0);
  });

  it('a daemon that does not come back: the controller gives up within the outage limit, state saved; resume completes the run once it is back', async () => {
    await daemon.setLiveRestore(true);
    const scenario = validateScenario({
      name: 'never-back',
      daemon: { mode: 'private', liveRestore: true, outageLimitMs: '3s' },
      concurrency: 2,
      heartbeatMs: 250,
      tasks: { count: 2, steps: [{ sleep: 4000 }, { write: { path: 'r.txt', content: 'x' } }] },
    });
    let stopped: Promise<unknown> | undefined;
    const started = Date.now();
    const first = await runScenario({
      scenario,
      docker,
      runsDir,
      privateDaemon: daemon,
      reaper: false,
      onEvent: (e) => {
        // An outage keelhaul did not cause: the test stops the daemon behind the run's back.
        if (e.type === 'attempt.running' && !stopped) stopped = daemon.stop();
      },
    });
    await stopped;
    expect(first.report.status).toBe('failed');
    expect(first.report.error).toMatch(/did not come back within 3000 ms .*keelhaul resume/);
    expect(Date.now() - started).toBeLessThan(30_000);
    const state = JSON.parse(await readFile(join(first.runDir, 'state.json'), 'utf8')) as RunState;
    expect(state.status).toBe('running');

    await daemon.start();
    const resumed = await resumeRun({ run: first.runDir, docker, reaper: false });
    expect(resumed.report.status, JSON.stringify([resumed.report.error, resumed.report.checks.filter((c) => !c.ok)])).toBe('passed');
    expect(resumed.report.controllers).toBe(2);
    expect(resumed.report.tasks.every((t) => t.outcome === 'completed')).toBe(true);
    const ledger = (await readFile(join(first.runDir, 'completions.jsonl'), 'utf8')).trim().split('\n');
    expect(ledger).toHaveLength(2);
    expect(await leftOn(first.report.runId)).toBe(0);
  });
});
