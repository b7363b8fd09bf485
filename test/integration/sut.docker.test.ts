/**
 * A system under test that keelhaul does not share code with — examples/sut/orchestrator.py,
 * a Python orchestrator driving the docker CLI — under keelhaul (issue 15), on real daemons:
 * it passes under a worker kill, a stop, its own SIGKILL + resume at seeded moments, and a
 * private daemon's SIGKILL; with its leak bug the cleanup check names the leaked container,
 * with its re-run bug exactly-once names the task, and a worker that is not hardened as
 * declared is named by the hardening check. Nothing labelled by keelhaul or by the SUT's
 * selector is left after any of them.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../src/chaos/index.js';
import { runScenario, type RunResult } from '../../src/controller/index.js';
import { runParity } from '../../src/parity/index.js';
import { startPrivateDaemon, type PrivateDaemon } from '../../src/daemon/index.js';
import { connectDocker, Label, type DockerClient } from '../../src/docker/index.js';
import { loadScenarioFile, type FaultSpec, type Scenario } from '../../src/scenario/index.js';

const SCENARIO = resolve('chaos/sut-acme.yaml');
const DAEMON_KILL_SCENARIO = resolve('chaos/sut-acme-daemon-kill.yaml');

/** What still carries the run's label or the SUT's (`acme.run=<run>`), asked of the daemon directly. */
async function leftOn(observer: Dockerode, runId: string): Promise<string[]> {
  const out: string[] = [];
  for (const label of [`${Label.run}=${runId}`, `acme.run=${runId}`]) {
    const filters = JSON.stringify({ label: [label] });
    const [containers, networks, volumes] = await Promise.all([
      observer.listContainers({ all: true, filters }),
      observer.listNetworks({ filters }),
      observer.listVolumes({ filters }),
    ]);
    out.push(...containers.map((c) => `container ${c.Names[0] ?? c.Id}`), ...networks.map((n) => `network ${n.Name}`), ...(volumes.Volumes ?? []).map((v) => `volume ${v.Name}`));
  }
  return out;
}

function check(result: RunResult, name: string): { ok: boolean; evidence: readonly string[]; observed: string } {
  const found = result.report.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name} in ${result.report.checks.map((c) => c.name).join(', ')}`);
  return found;
}

/** The scenario with its SUT's env extended and its faults replaced. */
function variant(base: Scenario, env: Record<string, string>, faults: FaultSpec[] = [...base.faults]): Scenario {
  if (!base.sut) throw new Error('not a SUT scenario');
  return { ...base, faults, sut: { ...base.sut, env: { ...base.sut.env, ...env } } };
}

describe('a system under test on the main daemon', () => {
  let docker: DockerClient;
  let runsDir: string;
  let base: Scenario;
  const observer = new Dockerode();

  beforeAll(async () => {
    docker = await connectDocker();
    runsDir = await mkdtemp(join(tmpdir(), 'kh-sut-'));
    base = await loadScenarioFile(SCENARIO);
  });
  afterAll(async () => {
    await rm(runsDir, { recursive: true, force: true });
  });

  const run = (scenario: Scenario): Promise<RunResult> => runScenario({ scenario, scenarioFile: SCENARIO, docker, runsDir, reaper: false });

  it('passes under a worker kill, a stop and its own SIGKILL + resume, with every check and its container timeline', async () => {
    const result = await run(base);
    const failed = result.report.checks.filter((c) => !c.ok);
    expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
    expect(result.report.status).toBe('passed');
    const names = result.report.checks.map((c) => c.name);
    for (const name of ['sut-exit', 'sut-containers-seen', 'sut-labels', 'sut-hardening', 'sut-cleanup', 'sut-exactly-once', 'sut-log-schema', 'faults-injected', 'sut-recovery']) {
      expect(names).toContain(name);
    }
    const sut = result.report.sut!;
    // The first run was killed by the fault, the resume finished the work.
    expect(sut.exits.map((e) => e.killedBy ?? e.exitCode)).toEqual(['sut-kill', 0]);
    // task-1 and task-3 each needed a second container; the others one.
    const perTask = new Map<string, number>();
    for (const c of sut.containers) perTask.set(c.task ?? '', (perTask.get(c.task ?? '') ?? 0) + 1);
    expect(perTask.get('task-1')).toBe(2);
    expect(perTask.get('task-3')).toBe(2);
    expect(sut.recovery.every((r) => r.recovered && r.recoveryMs !== null)).toBe(true);
    expect(await leftOn(observer, result.report.runId)).toEqual([]);
  });

  it('passes with the SUT killed at seeded moments and resumed', async () => {
    // Two moments drawn from a seed across the run's busy part (both batches).
    const random = createSeededRandom(15);
    for (const at of [1500 + Math.floor(random.next() * 7000), 1500 + Math.floor(random.next() * 7000)]) {
      const scenario = variant(base, {}, [
        {
          name: 'kill-orchestrator',
          kind: 'sut-kill',
          trigger: { at },
          target: { labels: {}, pick: 'random', count: 1 },
          params: { signal: 'SIGKILL', resume: true, resumeAfterMs: 0 },
        },
      ]);
      const result = await run(scenario);
      const failed = result.report.checks.filter((c) => !c.ok);
      expect(failed, `sut-kill at ${at} ms: ${JSON.stringify(failed, null, 2)}`).toEqual([]);
      expect(result.report.sut!.exits.length).toBeGreaterThanOrEqual(2);
      expect(await leftOn(observer, result.report.runId)).toEqual([]);
    }
  });

  it('names the container its leak bug leaves behind (sut-cleanup fails), and removes it afterwards', async () => {
    const kill = base.faults.filter((f) => f.kind === 'kill');
    const result = await run(variant(base, { ACME_BUG_LEAK: '1' }, kill));
    const cleanup = check(result, 'sut-cleanup');
    expect(cleanup.ok).toBe(false);
    expect(cleanup.evidence.join('\n')).toMatch(new RegExp(`container acme-${result.report.runId}-task-1-1 .* is exited`));
    expect(result.report.status).toBe('failed');
    expect(await leftOn(observer, result.report.runId)).toEqual([]);
  });

  it('names the task its re-run bug completes twice (sut-exactly-once fails)', async () => {
    const sutKill = base.faults.filter((f) => f.kind === 'sut-kill');
    const result = await run(variant(base, { ACME_BUG_RERUN: '1' }, sutKill));
    const once = check(result, 'sut-exactly-once');
    expect(once.ok).toBe(false);
    expect(once.evidence.join('\n')).toMatch(/task_id task-[12] completed 2 times/);
    expect(await leftOn(observer, result.report.runId)).toEqual([]);
  });

  it('names each container that runs as root with a bridge network where none was declared (sut-hardening fails)', async () => {
    const result = await run(variant(base, { ACME_USER: '0:0', ACME_NETWORK: 'bridge', ACME_TASKS: '2' }, []));
    const hardening = check(result, 'sut-hardening');
    expect(hardening.ok).toBe(false);
    const evidence = hardening.evidence.join('\n');
    expect(evidence).toMatch(new RegExp(`acme-${result.report.runId}-task-1-1 \\(task task-1\\): runs as user "0:0", expected non-root`));
    expect(evidence).toMatch(/NetworkMode is bridge, expected none/);
    expect(await leftOn(observer, result.report.runId)).toEqual([]);
  });
});

describe('parity of a system under test: its local mode against its docker mode', () => {
  const PARITY = resolve('chaos/sut-acme-parity.yaml');
  let docker: DockerClient;
  let runsDir: string;
  const observer = new Dockerode();

  beforeAll(async () => {
    docker = await connectDocker();
    runsDir = await mkdtemp(join(tmpdir(), 'kh-sut-parity-'));
  });
  afterAll(async () => {
    await rm(runsDir, { recursive: true, force: true });
  });

  it('holds for the example (exit, ledger, outputs by SHA-256, both killed and resumed), and breaks naming the ledger and the output when one mode does less', async () => {
    const scenario = await loadScenarioFile(PARITY);
    const held = await runParity({ scenario, scenarioFile: PARITY, docker, runsDir });
    expect(held.differences, JSON.stringify(held.rows, null, 2)).toEqual([]);
    expect(held.ok).toBe(true);
    expect(held.sut?.modes).toEqual(['local', 'docker']);
    expect(held.sut?.digests.map((d) => Object.keys(d.outputs).length)).toEqual([4, 4]);
    for (const d of held.sut!.digests) {
      const report = JSON.parse(await readFile(join(d.runDir, 'report.json'), 'utf8')) as { sut: { exits: { killedBy?: string }[] } };
      expect(report.sut.exits[0]!.killedBy).toBe('sut-kill');
      expect(await leftOn(observer, d.runId)).toEqual([]);
    }
    // The docker mode given one task fewer: its ledger and outputs differ, and parity names them.
    const modes = scenario.sut!.modes!;
    const uneven: Scenario = {
      ...scenario,
      faults: [],
      sut: { ...scenario.sut!, modes: { ...modes, docker: { ...modes['docker']!, env: { ...modes['docker']!.env, ACME_TASKS: '3' } } } },
    };
    const broken = await runParity({ scenario: uneven, scenarioFile: PARITY, docker, runsDir });
    expect(broken.ok).toBe(false);
    expect(broken.differences.map((r) => r.field)).toEqual(expect.arrayContaining(['ledger', 'outputs', 'output outputs/task-4.txt']));
  });
});

describe('a system under test on a private daemon', () => {
  let daemon: PrivateDaemon;
  let runsDir: string;

  beforeAll(async () => {
    daemon = await startPrivateDaemon({ name: 'khsut', liveRestore: false });
    runsDir = await mkdtemp(join(tmpdir(), 'kh-sut-private-'));
  });
  afterAll(async () => {
    await daemon?.remove();
    await rm(runsDir, { recursive: true, force: true });
  });

  it('passes when the daemon is SIGKILLed mid-run: the SUT fails, keelhaul resumes it once the daemon answers', async () => {
    const scenario = await loadScenarioFile(DAEMON_KILL_SCENARIO);
    const docker = await connectDocker();
    const result = await runScenario({ scenario, scenarioFile: DAEMON_KILL_SCENARIO, docker, runsDir, privateDaemon: daemon, reaper: false });
    const failed = result.report.checks.filter((c) => !c.ok);
    expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
    const exits = result.report.sut!.exits;
    // The orchestrator fails while the daemon is away, and the resume finishes.
    expect(exits.length, JSON.stringify(exits)).toBeGreaterThanOrEqual(2);
    expect(exits[0]!.exitCode).not.toBe(0);
    expect(exits.at(-1)!.exitCode).toBe(0);
    expect(result.report.faults[0]).toMatchObject({ kind: 'daemon-kill', status: 'injected' });
    const observer = new Dockerode({ socketPath: daemon.socketPath });
    expect(await leftOn(observer, result.report.runId)).toEqual([]);
  });
});
