/**
 * The checks of issue #5 shown able to fail on real runs against the real daemon: a task
 * that writes an undeclared path (in a tmpfs workspace), a recovery bound of 1 ms a kill
 * cannot meet, an attempt bound a retried task exceeds; conflicting lock tasks proven
 * serialised from the daemon's own events; a leaked container and a duplicated completion
 * planted during a run; a leftover shaping rule in a container's namespace; isolation holes
 * made in running workers (a `none` container given a veth to the host, an `internal` one
 * connected to the default bridge, an internal network without keelhaul's guard); lines
 * another writer put in events.jsonl. The daemon is queried with a separate dockerode
 * client, so nothing rests on the controller's word.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkNoLeaks, type RunFacts } from '../../src/checks/index.js';
import { conflictingLocks } from '../../src/checks/lock-exclusion.js';
import { runScenario, type RunEvent, type RunResult } from '../../src/controller/index.js';
import { findRulesInContainers } from '../../src/controller/rule-leaks.js';
import { ruleMark } from '../../src/chaos/index.js';
import { connectDocker, Label, type DockerClient } from '../../src/docker/index.js';
import { workerImageTag } from '../../src/images/index.js';
import { validateScenario } from '../../src/scenario/index.js';
import { splitRule } from '../../src/backends/internal-network-guard.js';

const observer = new Dockerode();

async function labelled(runId: string): Promise<number> {
  const filters = JSON.stringify({ label: [`${Label.run}=${runId}`] });
  const [c, n, v] = await Promise.all([observer.listContainers({ all: true, filters }), observer.listNetworks({ filters }), observer.listVolumes({ filters })]);
  return c.length + n.length + (v.Volumes ?? []).length;
}

const check = (result: RunResult, name: string) => {
  const found = result.report.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no ${name} check in ${result.report.checks.map((c) => c.name).join(', ')}`);
  return found;
};

describe('checks able to fail (docker)', () => {
  let docker: DockerClient;
  let runsDir: string;
  const planted: string[] = [];

  beforeAll(async () => {
    docker = await connectDocker();
    runsDir = await mkdtemp(join(tmpdir(), 'keelhaul-checks-'));
  });
  afterAll(async () => {
    for (const id of planted)
      await observer
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    await rm(runsDir, { recursive: true, force: true });
  });

  describe('a run with locks, writes in a tmpfs workspace and a kill', () => {
    let result: RunResult;
    const events: RunEvent[] = [];
    const locks = {
      w1: { reads: [], writes: ['db'] },
      w2: { reads: [], writes: ['db'] },
      r1: { reads: ['db'], writes: [] },
      r2: { reads: ['db'], writes: [] },
    };

    beforeAll(async () => {
      const scenario = validateScenario({
        name: 'checks-fail',
        seed: 5,
        concurrency: 4,
        heartbeatMs: 200,
        workspace: { size: '4m' },
        retry: { maxAttempts: 3, backoffMs: 50 },
        tasks: [
          // Declares out/a.txt, also writes sneaky.txt.
          {
            id: 'w1',
            locks: locks.w1,
            writes: ['out/a.txt'],
            steps: [{ write: { path: 'out/a.txt', content: 'a' } }, { write: { path: 'sneaky.txt', content: 'x' } }, { sleep: 600 }],
          },
          { id: 'w2', locks: locks.w2, writes: ['out/b.txt'], steps: [{ write: { path: 'out/b.txt', content: 'b' } }, { sleep: 600 }] },
          { id: 'r1', locks: locks.r1, steps: [{ sleep: 3000 }] },
          { id: 'r2', locks: locks.r2, steps: [{ sleep: 600 }] },
        ],
        faults: [{ name: 'kill-r1', kind: 'kill', trigger: { on: { event: 'task.started', task: 'r1', attempt: 1 } }, target: { labels: { task: 'r1', role: 'worker' } } }],
        expect: { recoveryTimeMs: 1, maxAttempts: 1 },
      });
      result = await runScenario({ scenario, docker, runsDir, reaper: false, onEvent: (e) => events.push(e) });
    });

    it('workspace-compliance fails with the undeclared path in observed, seen in the tmpfs volume itself', () => {
      const c = check(result, 'workspace-compliance');
      expect(c.ok).toBe(false);
      expect(c.observed).toContain('sneaky.txt');
      expect(c.evidence).toContain('w1 attempt 1: wrote sneaky.txt, not in writes [out/a.txt]');
      // w2 complied; the tasks without writes are named as not checked.
      expect(c.evidence.join('\n')).not.toContain('w2 attempt');
      expect(c.evidence).toContain('not checked (no writes declared): r1, r2');
    });

    it('recovery-time fails a 1 ms bound, with the die → start figure in evidence', () => {
      const c = check(result, 'recovery-time');
      expect(c.ok).toBe(false);
      expect(c.observed).toMatch(/^1 recovery\(ies\): max \d+ ms/);
      expect(c.evidence[0]).toMatch(/^kill-r1: r1 attempt 1 died → attempt 2 running in \d+ ms \(over 1 ms\)$/);
    });

    it('attempts-within-bound fails for the task that needed a second attempt', () => {
      const c = check(result, 'attempts-within-bound');
      expect(c.ok).toBe(false);
      expect(c.evidence).toEqual(['r1: 2 attempts (#1 killed, #2 completed), bound 1']);
    });

    it("lock-exclusion holds, and the daemon's own start/die events show conflicting attempts never overlapped", () => {
      const c = check(result, 'lock-exclusion');
      expect(c.ok).toBe(true);
      expect(c.observed).toMatch(/^5 attempt\(s\) of 4 locking task\(s\), \d+ conflicting pair\(s\), 0 overlapping$/);
      // Independent of the controller's timeline: the daemon's timestamps of each worker container.
      const spans = new Map<string, { task: keyof typeof locks; start?: bigint; die?: bigint }>();
      for (const e of events) {
        if (e.type !== 'docker.event' || e.role !== 'worker' || !e.task) continue;
        const span = spans.get(e.containerId) ?? { task: e.task as keyof typeof locks };
        if (e.action === 'start') span.start ??= BigInt(e.timeNano);
        if (e.action === 'die') span.die = BigInt(e.timeNano);
        spans.set(e.containerId, span);
      }
      const list = [...spans.values()];
      expect(list).toHaveLength(5);
      let conflicting = 0;
      for (const a of list) {
        for (const b of list) {
          if (a === b || a.task === b.task || conflictingLocks(locks[a.task], locks[b.task]).length === 0) continue;
          conflicting += 1;
          expect(a.start! < b.die! && b.start! < a.die!, `${a.task} and ${b.task} overlapped`).toBe(false);
        }
      }
      expect(conflicting).toBeGreaterThan(0);
    });

    it('the run fails on those checks only; every task completed and nothing is left, the workspace listers included', async () => {
      expect(result.report.status).toBe('failed');
      expect(
        result.report.checks
          .filter((c) => !c.ok)
          .map((c) => c.name)
          .sort(),
      ).toEqual(['attempts-within-bound', 'recovery-time', 'workspace-compliance']);
      expect(result.report.tasks.every((t) => t.outcome === 'completed')).toBe(true);
      expect(await labelled(result.report.runId)).toBe(0);
    });
  });

  it('a run within its bounds passes them: compliant writes on an ordinary volume, recovery within 60 s, stable resources', async () => {
    const scenario = validateScenario({
      name: 'checks-pass',
      seed: 1,
      concurrency: 2,
      heartbeatMs: 200,
      monitor: { intervalMs: 200 },
      retry: { maxAttempts: 3, backoffMs: 50 },
      tasks: [
        // Long enough that the kill on its task.started lands before task.completed, even on a loaded machine.
        { id: 'a', writes: ['notes'], steps: [{ write: { path: 'notes/plan.md', content: '#' } }, { sleep: 3000 }] },
        { id: 'b', writes: ['result.bin'], steps: [{ write: { path: 'result.bin', bytes: 4096 } }, { sleep: 500 }] },
      ],
      faults: [{ kind: 'kill', trigger: { on: { event: 'task.started', task: 'a', attempt: 1 } }, target: { labels: { task: 'a', role: 'worker' } } }],
      expect: { recoveryTimeMs: '60s', resourceStability: { rssGrowthBytes: '512m', eventBacklog: 10_000 } },
    });
    const result = await runScenario({ scenario, docker, runsDir, reaper: false });
    for (const name of ['workspace-compliance', 'recovery-time', 'resource-stability', 'attempts-within-bound']) {
      expect(check(result, name), name).toMatchObject({ ok: true });
    }
    expect(check(result, 'recovery-time').observed).toMatch(/^1 recovery\(ies\)/);
    expect(check(result, 'workspace-compliance').observed).toBe('2 completed attempt(s) checked, every path declared');
    expect(check(result, 'resource-stability').observed).toMatch(/controller RSS grew -?\d+ bytes .*; peak event backlog \d+ over \d+ sample\(s\)/);
    const samples = (await readFile(join(result.runDir, 'samples.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string });
    expect(samples.some((s) => s.kind === 'backlog')).toBe(true);
    expect(result.report.status).toBe('passed');
  });

  it('a leaked container and a duplicated completion planted during a real run fail no-leaks and exactly-once, naming them', async () => {
    const scenario = validateScenario({ name: 'planted', concurrency: 2, heartbeatMs: 200, tasks: { count: 2, steps: [{ sleep: 200 }] } });
    let runDir = '';
    let runId = '';
    let duplicated = false;
    const result = await runScenario({
      scenario,
      docker,
      runsDir,
      reaper: false,
      onEvent: (e) => {
        if (e.type === 'run.started') {
          runDir = e.runDir;
          runId = e.run;
        }
        // A second writer (a split-brain controller) records t-01's completion again.
        if (e.type === 'attempt.exited' && e.task === 't-01' && e.outcome === 'completed' && !duplicated) {
          duplicated = true;
          appendFileSync(join(runDir, 'completions.jsonl'), `${JSON.stringify({ task: 't-01', attempt: 9, containerId: 'x', controllerPid: 1, ts: new Date().toISOString() })}\n`);
        }
        // A container with the run's label created after cleanup, before the leak query.
        if (e.type === 'cleanup.finished') {
          const id = execFileSync('docker', ['create', '--label', `${Label.run}=${runId}`, '--entrypoint', '/bin/sh', workerImageTag(), '-c', 'true'], { encoding: 'utf8' }).trim();
          planted.push(id);
        }
      },
    });
    expect(planted).toHaveLength(1);
    const leaks = check(result, 'no-leaks');
    expect(leaks.ok).toBe(false);
    expect(leaks.observed).toBe('1 containers, 0 networks, 0 volumes with the run label');
    const name = (await observer.getContainer(planted[0]!).inspect()).Name.replace(/^\//, '');
    expect(leaks.evidence).toEqual([`container ${name}`]);
    const once = check(result, 'exactly-once');
    expect(once.ok).toBe(false);
    expect(once.evidence).toContain('t-01 is in the completion ledger 2 times');
    expect(result.report.status).toBe('failed');
  });

  it("a shaping rule left in a running container's namespace is found by its run mark and fails no-leaks", async () => {
    const runId = `checks-rule-${Date.now().toString(36)}`;
    const container = await observer.createContainer({
      Image: workerImageTag(),
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['exec sleep 60'],
      Labels: { [Label.run]: runId },
      HostConfig: { NetworkMode: 'none' },
    });
    planted.push(container.id);
    await container.start();
    const pid = (await container.inspect()).State.Pid;
    execFileSync('nsenter', ['-t', String(pid), '-n', 'iptables', '-w', '-I', 'OUTPUT', '-o', 'lo', '-m', 'comment', '--comment', ruleMark(runId), '-j', 'DROP']);
    const found = await findRulesInContainers(runId, [{ containerId: container.id, pid }]);
    expect(found.checked).toBe(true);
    expect(found.rules).toHaveLength(1);
    expect(found.rules[0]).toContain(ruleMark(runId));
    const r = checkNoLeaks({ leaks: { containers: [], networks: [], volumes: [], rules: found.rules } } as unknown as RunFacts);
    expect(r.ok).toBe(false);
    expect(r.observed).toContain('1 injected rules');
    // Another run's mark is not this run's leak.
    expect((await findRulesInContainers(`${runId}-other`, [{ containerId: container.id, pid }])).rules).toEqual([]);
    await container.remove({ force: true });
  });

  describe('isolation holes made in running workers fail network-isolation, seen from inside and from the host', () => {
    const hostLinks: string[] = [];
    afterAll(() => {
      for (const link of hostLinks) {
        try {
          execFileSync('ip', ['link', 'del', link], { stdio: 'ignore' });
        } catch {
          // Gone with the container's namespace.
        }
      }
    });
    const isolationScenario = (name: string, network: 'none' | 'internal') =>
      validateScenario({ name, seed: 3, network, concurrency: 2, heartbeatMs: 200, tasks: { count: 2, steps: [{ sleep: 1500 }] } });
    const runIsolation = (name: string, network: 'none' | 'internal', onEvent: (e: RunEvent) => void): Promise<RunResult> =>
      runScenario({ scenario: isolationScenario(name, network), docker, runsDir, reaper: false, onEvent });
    /**
     * The gateway a container has on one of its networks, from the container's own network
     * settings: a network's IPAM config names no gateway when the daemon's bridge config has
     * none (the default bridge of a fresh daemon; the address is only on docker0).
     */
    const gatewayOf = (containerId: string, network: string): string =>
      execFileSync('docker', ['inspect', '-f', `{{with index .NetworkSettings.Networks ${JSON.stringify(network)}}}{{.Gateway}}{{end}}`, containerId], { encoding: 'utf8' }).trim();
    const markedHostRules = (runId: string): string[] =>
      execFileSync('iptables', ['-w', '-S'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(`--comment keelhaul:${runId} `) || l.includes(`--comment "keelhaul:${runId}"`));

    it('a clean internal run: the guard is on while it runs, every probe finds no way to the host, and the rules go with the network', async () => {
      let rulesWhileRunning: string[] = [];
      let runId = '';
      const result = await runIsolation('iso-clean', 'internal', (e) => {
        if (e.type === 'run.started') runId = e.run;
        if (e.type === 'attempt.running' && rulesWhileRunning.length === 0) rulesWhileRunning = markedHostRules(runId);
      });
      const c = check(result, 'network-isolation');
      expect(c).toMatchObject({ ok: true, observed: '2 attempt(s) probed from inside, 2 worker report(s): no hole found' });
      expect(rulesWhileRunning).toHaveLength(4);
      expect(rulesWhileRunning.join('\n')).toContain('-j REJECT --reject-with tcp-reset');
      const events = readFileSync(join(result.runDir, 'events.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as RunEvent);
      const probes = events.filter((e): e is Extract<RunEvent, { type: 'isolation.probed' }> => e.type === 'isolation.probed');
      expect(probes).toHaveLength(2);
      for (const p of probes) {
        expect(p.interfaces).toEqual(['eth0', 'lo']);
        expect(p.reached).toEqual([]);
        expect(p.unreachable.length).toBeGreaterThan(0);
      }
      expect(markedHostRules(result.report.runId)).toEqual([]);
      expect(check(result, 'no-leaks').ok).toBe(true);
      expect(result.report.status).toBe('passed');
    });

    it('internal: a worker connected to the default bridge mid-run reaches the host and shows a second interface', async () => {
      let holed = '';
      let docker0 = '';
      const result = await runIsolation('iso-bridge', 'internal', (e) => {
        // Synchronous: the controller's probe of this attempt starts after the hole exists.
        if (e.type === 'attempt.running' && !holed) {
          holed = `${e.task} attempt ${e.attempt}`;
          execFileSync('docker', ['network', 'connect', 'bridge', e.containerId]);
          docker0 = gatewayOf(e.containerId, 'bridge');
        }
      });
      const c = check(result, 'network-isolation');
      expect(c.ok).toBe(false);
      expect(c.evidence).toContain(`${holed}: interfaces eth0, eth1, lo seen from inside (expected lo and one network interface)`);
      expect(docker0).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(c.evidence.some((line) => line.startsWith(`${holed}: opened a TCP connection to the host at ${docker0}:`))).toBe(true);
      expect(
        c.evidence.some((line) => line.startsWith('host canary: accepted a connection from ') && line.includes(` to ${docker0}:`) && / \(probe t-0\d#1\) at /.test(line)),
      ).toBe(true);
      expect(c.observed).toMatch(/^\d+ hole\(s\) found; 2 attempt\(s\) probed from inside/);
      expect(await labelled(result.report.runId)).toBe(0);
    });

    it("internal without keelhaul's guard: Docker's --internal lets a worker reach the host through its gateway, and the check says so", async () => {
      let runId = '';
      let removed = 0;
      let gateway = '';
      let network = '';
      let guardApplied = false;
      const result = await runIsolation('iso-unguarded', 'internal', (e) => {
        if (e.type === 'run.started') runId = e.run;
        // As on a host where the guard cannot be applied (not root, a remote daemon).
        // The gateway as the worker sees it (172.x or, once Docker's 172.16/12 pools are in use, 192.168.x).
        if (e.type === 'attempt.running' && !gateway) gateway = gatewayOf(e.containerId, network);
        if (e.type === 'network.guarded') {
          network = e.network;
          guardApplied = e.applied;
          for (const line of markedHostRules(runId)) {
            execFileSync('iptables', ['-w', '-D', ...splitRule(line.slice(3))]);
            removed += 1;
          }
        }
      });
      expect(guardApplied).toBe(true);
      expect(removed).toBe(4);
      const c = check(result, 'network-isolation');
      expect(c.ok).toBe(false);
      // The gateway is the host's address on the run's bridge; every probe got through it.
      expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      const reached = c.evidence.filter((line) => line.endsWith(' from inside') && line.includes(` attempt 1: opened a TCP connection to the host at ${gateway}:`));
      expect(reached.length).toBeGreaterThanOrEqual(2);
      expect(c.evidence.filter((line) => line.startsWith('host canary: accepted a connection')).length).toBeGreaterThanOrEqual(2);
    });

    it("none: a veth from the host moved into a running worker's namespace is found from inside, and the host saw the connection", async () => {
      const suffix = Date.now().toString(36).slice(-5);
      const [hostEnd, workerEnd] = [`khvh${suffix}`, `khvc${suffix}`];
      let holed = '';
      const result = await runIsolation('iso-veth', 'none', (e) => {
        if (e.type === 'attempt.running' && !holed) {
          holed = `${e.task} attempt ${e.attempt}`;
          const pid = execFileSync('docker', ['inspect', '-f', '{{.State.Pid}}', e.containerId], { encoding: 'utf8' }).trim();
          const ns = ['nsenter', '-t', pid, '-n'];
          hostLinks.push(hostEnd);
          for (const cmd of [
            ['ip', 'link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', workerEnd],
            ['ip', 'link', 'set', workerEnd, 'netns', pid],
            ['ip', 'addr', 'add', '10.251.77.1/30', 'dev', hostEnd],
            ['ip', 'link', 'set', hostEnd, 'up'],
            [...ns, 'ip', 'addr', 'add', '10.251.77.2/30', 'dev', workerEnd],
            [...ns, 'ip', 'link', 'set', workerEnd, 'up'],
          ])
            execFileSync(cmd[0]!, cmd.slice(1));
        }
      });
      const c = check(result, 'network-isolation');
      expect(c.ok).toBe(false);
      expect(c.evidence).toContain(`${holed}: interfaces ${workerEnd}, lo seen from inside (expected lo)`);
      expect(c.evidence.some((line) => line.startsWith(`${holed}: opened a TCP connection to the host at 10.251.77.1:`))).toBe(true);
      expect(c.evidence.some((line) => line.startsWith('host canary: accepted a connection from 10.251.77.2 to 10.251.77.1:'))).toBe(true);
      // The other worker stayed isolated.
      expect(c.evidence.every((line) => line.includes(holed) || line.startsWith('host canary'))).toBe(true);
      expect(await labelled(result.report.runId)).toBe(0);
    });
  });

  it('lines another writer put in events.jsonl during a real run fail event-schema, with their line numbers', async () => {
    let runDir = '';
    let planted = false;
    const result = await runScenario({
      scenario: validateScenario({ name: 'bad-lines', concurrency: 1, heartbeatMs: 200, tasks: { count: 1, steps: [{ sleep: 300 }] } }),
      docker,
      runsDir,
      reaper: false,
      onEvent: (e) => {
        if (e.type === 'run.started') runDir = e.runDir;
        // A second writer (another controller given the same run directory): a torn line and an unknown event.
        if (e.type === 'attempt.running' && !planted) {
          planted = true;
          appendFileSync(join(runDir, 'events.jsonl'), '{"ts":"2026-11-22T00:00:00.000Z","run":"x","ty\n{"ts":"2026-11-22T00:00:00.000Z","run":"x","type":"attempt.bogus"}\n');
        }
      },
    });
    const c = check(result, 'event-schema');
    expect(c.ok).toBe(false);
    expect(c.observed).toMatch(/^(\d+) of (\d+) lines valid$/);
    const [, valid, total] = /^(\d+) of (\d+)/.exec(c.observed)!;
    expect(Number(total) - Number(valid)).toBe(2);
    const lines = readFileSync(join(runDir, 'events.jsonl'), 'utf8').split('\n');
    const torn = lines.findIndex((l) => l.endsWith('"ty')) + 1;
    expect(c.evidence[0]).toMatch(new RegExp(`^line ${torn}: not JSON \\(`));
    expect(c.evidence[1]).toMatch(new RegExp(`^line ${torn + 1} \\(attempt\\.bogus\\): `));
    expect(result.report.status).toBe('failed');
    expect(result.report.tasks[0]?.outcome).toBe('completed');
  });
});
