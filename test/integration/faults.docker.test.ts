/**
 * One test per fault kind against the real daemon: chaos/<kind>.yaml runs, and the test
 * asserts the classification (exit code, reason, OOMKilled), the recovery and the cleanup.
 * Rules a fault set inside a container (tc, iptables) are read from the container's own
 * network namespace while the fault is in effect and after it is undone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario, type RunEvent, type RunResult } from '../../src/controller/index.js';
import { connectDocker, Label, type DockerClient } from '../../src/docker/index.js';
import { loadScenarioFile } from '../../src/scenario/index.js';

const observer = new Dockerode();

async function labelled(labels: Record<string, string>): Promise<number> {
  const filters = JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) });
  const [c, n, v] = await Promise.all([observer.listContainers({ all: true, filters }), observer.listNetworks({ filters }), observer.listVolumes({ filters })]);
  return c.length + n.length + (v.Volumes ?? []).length;
}

describe('fault kinds (docker)', () => {
  let docker: DockerClient;
  let runsDir: string;
  beforeAll(async () => {
    docker = await connectDocker();
    runsDir = await mkdtemp(join(tmpdir(), 'keelhaul-faults-'));
  });
  afterAll(async () => {
    await rm(runsDir, { recursive: true, force: true });
  });

  async function run(name: string, onEvent?: (e: RunEvent) => void): Promise<RunResult> {
    const scenario = await loadScenarioFile(resolve(`chaos/${name}.yaml`));
    const result = await runScenario({ scenario, docker, runsDir, reaper: false, ...(onEvent ? { onEvent } : {}) });
    expect(await labelled({ [Label.run]: result.report.runId })).toBe(0);
    return result;
  }

  const attemptsOf = (r: RunResult, task: string) => r.report.attempts.filter((a) => a.task === task);

  it('kill (host mode): SIGKILL of the init pid from the host gives exit 137, outcome killed, and a later attempt completes', async () => {
    const r = await run('kill-host');
    expect(r.report.status).toBe('passed');
    const target = r.report.faults[0]!.targets[0]!;
    const killed = r.report.attempts.find((a) => a.containerId === target.containerId)!;
    expect([killed.exitCode, killed.outcome, killed.oomKilled]).toEqual([137, 'killed', false]);
    expect(attemptsOf(r, killed.task).at(-1)!.outcome).toBe('completed');
  });

  it('stop: SIGTERM is handled by the worker (task.failed terminated, exit 143); the task completes on a retry', async () => {
    const r = await run('stop');
    expect(r.report.status).toBe('passed');
    const stopped = r.report.attempts.find((a) => a.containerId === r.report.faults[0]!.targets[0]!.containerId)!;
    expect(stopped.exitCode).toBe(143);
    expect(stopped.outcome).toBe('killed');
    expect(stopped.reason).toMatch(/terminated/);
    expect(attemptsOf(r, stopped.task).at(-1)!.outcome).toBe('completed');
  });

  it('pause: a pause past heartbeatTimeoutMs makes the attempt hung, killed (137) and retried; a short pause is ridden out', async () => {
    const events: RunEvent[] = [];
    const r = await run('pause', (e) => events.push(e));
    expect(r.report.status).toBe('passed');
    const long = r.report.faults.find((f) => f.faultId === 'long-pause')!;
    const hung = r.report.attempts.find((a) => a.containerId === long.targets[0]!.containerId)!;
    expect([hung.outcome, hung.exitCode]).toEqual(['hung', 137]);
    expect(events.some((e) => e.type === 'attempt.hung' && e.containerId === hung.containerId)).toBe(true);
    const short = r.report.faults.find((f) => f.faultId === 'short-pause')!;
    expect(short.status).toBe('injected');
    const ridden = r.report.attempts.find((a) => a.containerId === short.targets[0]!.containerId)!;
    expect(ridden.outcome).toBe('completed');
    expect(
      events
        .filter((e) => e.type === 'fault.undone')
        .map((e) => (e as { faultId: string }).faultId)
        .sort(),
    ).toEqual(['long-pause', 'short-pause']);
  });

  it("netem: the shaping rules are in the target's namespace during the fault and gone after it; the worker completes", async () => {
    const seen: { during?: string; after?: string } = {};
    const shaping = (pid: number): string => execFileSync('nsenter', ['-t', String(pid), '-n', 'sh', '-c', 'tc qdisc show; iptables -S OUTPUT'], { encoding: 'utf8' });
    let pid = 0;
    const pending: Promise<void>[] = [];
    const r = await run('netem', (e) => {
      if (e.type === 'fault.injected') {
        pending.push(
          (async () => {
            pid = (await observer.getContainer(e.fault.targets[0]!.containerId).inspect()).State.Pid;
            seen.during = shaping(pid);
          })(),
        );
      }
      if (e.type === 'fault.undone' && pid > 0) seen.after = shaping(pid);
    });
    await Promise.all(pending);
    expect(r.report.status).toBe('passed');
    // Where the kernel has netem the qdisc is netem; without it, tbf plus an iptables statistic rule.
    expect(seen.during).toMatch(/netem|tbf/);
    expect(seen.during).toMatch(/netem .*loss 10%|statistic --mode random --probability 0\.1/);
    expect(seen.after).toBeDefined();
    expect(seen.after).not.toMatch(/netem|tbf|statistic/);
  });

  it('fill-disk: the filled workspace makes the worker fail with disk_full; the retry on a fresh volume completes; no filler remains', async () => {
    const r = await run('disk-full');
    expect(r.report.status).toBe('passed');
    const target = r.report.faults[0]!.targets[0]!;
    const full = r.report.attempts.find((a) => a.containerId === target.containerId)!;
    expect([full.outcome, full.exitCode, full.reason]).toEqual(['failed', 1, 'disk_full']);
    const next = attemptsOf(r, full.task).find((a) => a.attempt === full.attempt + 1)!;
    expect(next.outcome).toBe('completed');
    expect(await labelled({ [Label.run]: r.report.runId, [Label.role]: 'filler' })).toBe(0);
  });

  it('oom: an allocation past the memory limit is judged by State.OOMKilled (outcome oom, exit 137) and the task fails as expected', async () => {
    const r = await run('oom');
    expect(r.report.status).toBe('passed');
    const hog = attemptsOf(r, 'hog');
    expect(hog).toHaveLength(2);
    for (const a of hog) expect([a.outcome, a.oomKilled, a.exitCode]).toEqual(['oom', true, 137]);
    expect(r.report.tasks.find((t) => t.task === 'hog')!.outcome).toBe('failed');
    expect(r.report.checks.find((c) => c.name === 'expected-failures')!.ok).toBe(true);
  });

  it("netem without the kernel's netem qdisc: a delay is refused before anything starts, naming the field", async () => {
    const { netemSupported } = await import('../../src/chaos/index.js');
    const scenario = await loadScenarioFile(resolve('chaos/netem.yaml'));
    const delayed = { ...scenario, faults: [{ ...scenario.faults[0]!, params: { durationMs: 1000, delayMs: 100 } }] } as typeof scenario;
    if (await netemSupported()) {
      const r = await runScenario({ scenario: delayed, docker, runsDir, reaper: false });
      expect(r.report.status).toBe('passed');
    } else {
      await expect(runScenario({ scenario: delayed, docker, runsDir, reaper: false })).rejects.toThrow(/faults\[0\]\.params: delayMs needs the netem qdisc/);
      expect(await labelled({ [Label.scenario]: 'netem' })).toBe(0);
    }
  });
});

describe('partition and restart (docker)', () => {
  let docker: DockerClient;
  let runsDir: string;
  beforeAll(async () => {
    docker = await connectDocker();
    runsDir = await mkdtemp(join(tmpdir(), 'keelhaul-faults2-'));
  });
  afterAll(async () => {
    await rm(runsDir, { recursive: true, force: true });
  });

  it('partition: the target is cut off its network both ways while disconnected and reachable both ways after; no probe remains', async () => {
    const events: RunEvent[] = [];
    const scenario = await loadScenarioFile(resolve('chaos/partition.yaml'));
    const r = await runScenario({ scenario, docker, runsDir, reaper: false, onEvent: (e) => events.push(e) });
    expect(r.report.status).toBe('passed');
    const checks = events.filter((e): e is Extract<RunEvent, { type: 'fault.verified' }> => e.type === 'fault.verified');
    expect(checks.map((c) => [c.phase, c.fromProbe, c.fromTarget])).toEqual([
      ['cut', false, false],
      ['restored', true, true],
    ]);
    expect(r.report.checks.find((c) => c.name === 'partitions-verified')!.ok).toBe(true);
    expect(await labelled({ [Label.run]: r.report.runId })).toBe(0);
  });

  it('restart: the restarted container is followed again and its attempt completes; no second attempt runs', async () => {
    const events: RunEvent[] = [];
    const scenario = await loadScenarioFile(resolve('chaos/restart.yaml'));
    const r = await runScenario({ scenario, docker, runsDir, reaper: false, onEvent: (e) => events.push(e) });
    expect(r.report.status).toBe('passed');
    const target = r.report.faults[0]!.targets[0]!;
    const attempts = r.report.attempts.filter((a) => a.task === target.task);
    expect(attempts.map((a) => [a.attempt, a.outcome])).toEqual([[1, 'completed']]);
    expect(events.some((e) => e.type === 'attempt.reattached' && e.task === target.task)).toBe(true);
    expect(await labelled({ [Label.run]: r.report.runId })).toBe(0);
  });
});
