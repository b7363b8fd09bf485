/**
 * The walking skeleton end to end, against the real Docker daemon: chaos/smoke.yaml kills a
 * running worker with SIGKILL; the run recovers; a label query proves nothing leaked. The
 * containers are inspected with a separate dockerode client while the run goes on, so the
 * test does not take the controller's word for what it created.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario, type RunEvent, type RunResult } from '../../src/controller/index.js';
import { connectDocker, Label, type DockerClient } from '../../src/docker/index.js';
import { loadScenarioFile, validateScenario } from '../../src/scenario/index.js';

const observer = new Dockerode();
// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

interface Inspected {
  task: string;
  attempt: number;
  info: Dockerode.ContainerInspectInfo;
}

/** Counts what still carries the run label, by asking the daemon directly. */
async function labelled(runId: string): Promise<{ containers: number; networks: number; volumes: number }> {
  const filters = JSON.stringify({ label: [`${Label.run}=${runId}`] });
  const [containers, networks, volumes] = await Promise.all([
    observer.listContainers({ all: true, filters }),
    observer.listNetworks({ filters }),
    observer.listVolumes({ filters }),
  ]);
  return { containers: containers.length, networks: networks.length, volumes: (volumes.Volumes ?? []).length };
}

/** Runs a scenario and inspects each attempt container as soon as it runs. */
async function runAndInspect(
  docker: DockerClient,
  scenario: Parameters<typeof runScenario>[0]['scenario'],
  runsDir: string,
  onRunning?: (event: Extract<RunEvent, { type: 'attempt.running' }>) => Promise<void>,
): Promise<{ result: RunResult; events: RunEvent[]; inspected: Inspected[] }> {
  const events: RunEvent[] = [];
  const inspected: Inspected[] = [];
  const pending: Promise<void>[] = [];
  const result = await runScenario({
    scenario,
    docker,
    runsDir,
    onEvent: (event) => {
      events.push(event);
      if (event.type === 'attempt.running') {
        pending.push(
          (async () => {
            const info = await observer.getContainer(event.containerId).inspect();
            inspected.push({ task: event.task, attempt: event.attempt, info });
            await onRunning?.(event);
          })(),
        );
      }
    },
  });
  await Promise.all(pending);
  return { result, events, inspected };
}

describe('smoke run (docker)', () => {
  let docker: DockerClient;
  let runsDir: string;

  beforeAll(async () => {
    docker = await connectDocker();
    runsDir = await mkdtemp(join(tmpdir(), 'keelhaul-smoke-'));
  });
  afterAll(async () => {
    await rm(runsDir, { recursive: true, force: true });
  });

  describe('chaos/smoke.yaml', () => {
    let run: Awaited<ReturnType<typeof runAndInspect>>;
    beforeAll(async () => {
      const scenario = await loadScenarioFile(resolve('chaos/smoke.yaml'));
      run = await runAndInspect(docker, scenario, runsDir);
    });

    it('kill fault: the run passes with every check holding', () => {
      const failed = run.result.report.checks.filter((c) => !c.ok);
      expect(failed).toEqual([]);
      expect(run.result.report.status).toBe('passed');
      expect(run.result.report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['all-completed', 'exactly-once', 'killed-attempts-recover', 'no-leaks']));
    });

    it('kill fault: the killed attempt exited 137 and its task completed on a later attempt', () => {
      const { report } = run.result;
      const fault = report.faults[0]!;
      expect(fault.status).toBe('injected');
      expect(fault.targets).toHaveLength(1);
      const killed = report.attempts.find((a) => a.containerId === fault.targets[0]!.containerId)!;
      expect(killed.exitCode).toBe(137);
      expect(killed.outcome).toBe('killed');
      const later = report.attempts.filter((a) => a.task === killed.task && a.attempt > killed.attempt);
      expect(later.some((a) => a.outcome === 'completed' && a.exitCode === 0)).toBe(true);
    });

    it("exactly once: each task completed once, counting the workers' own task.completed events", () => {
      const completed = run.events.filter((e): e is Extract<RunEvent, { type: 'worker.event' }> => e.type === 'worker.event' && e.event.type === 'task.completed');
      const perTask = new Map<string, number>();
      for (const e of completed) perTask.set(e.task, (perTask.get(e.task) ?? 0) + 1);
      expect([...perTask.keys()].sort()).toEqual(['t-01', 't-02', 't-03', 't-04']);
      expect([...perTask.values()].every((n) => n === 1)).toBe(true);
    });

    it('labels: every attempt container carried run, role, task, attempt, scenario and version labels (inspected during the run)', () => {
      const { report } = run.result;
      expect(run.inspected.length).toBe(report.attempts.length);
      for (const { task, attempt, info } of run.inspected) {
        const labels = info.Config.Labels;
        expect(labels[Label.run]).toBe(report.runId);
        expect(labels[Label.role]).toBe('worker');
        expect(labels[Label.task]).toBe(task);
        expect(labels[Label.attempt]).toBe(String(attempt));
        expect(labels[Label.scenario]).toBe('smoke');
        expect(labels[Label.version]).toBe(report.keelhaulVersion);
        expect(labels[Label.controllerPid]).toBe(String(process.pid));
      }
    });

    it('hardening: workers run non-root with CapDrop ALL, no-new-privileges, a read-only root, limits and no Docker socket', () => {
      for (const { info } of run.inspected) {
        expect(info.Config.User).toBe('1000:1000');
        expect(info.HostConfig.CapDrop).toEqual(['ALL']);
        expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges');
        expect(info.HostConfig.ReadonlyRootfs).toBe(true);
        expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
        expect(info.HostConfig.PidsLimit).toBe(128);
        expect(info.Mounts.map((m) => m.Destination).sort()).toEqual(['/tmp', '/workspace']);
        expect(info.Mounts.some((m) => (m.Source ?? '').includes('docker.sock'))).toBe(false);
      }
    });

    it('network none: HostConfig.NetworkMode was none and each worker reported only lo', () => {
      for (const { info } of run.inspected) expect(info.HostConfig.NetworkMode).toBe('none');
      const started = run.events.filter((e): e is Extract<RunEvent, { type: 'worker.event' }> => e.type === 'worker.event' && e.event.type === 'task.started');
      expect(started.length).toBeGreaterThanOrEqual(4);
      for (const e of started) {
        const interfaces = (e.event as unknown as { interfaces: { name: string }[] }).interfaces.map((i) => i.name);
        expect(interfaces).toEqual(['lo']);
      }
    });

    it('cleanup: a label query finds no container, network or volume of the run', async () => {
      expect(await labelled(run.result.report.runId)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    });

    it('run directory: report.json, scenario.yaml with the seed, events.jsonl that parses, and per-attempt logs', async () => {
      const { runDir, report } = run.result;
      const onDisk = JSON.parse(await readFile(join(runDir, 'report.json'), 'utf8')) as typeof report;
      expect(onDisk.runId).toBe(report.runId);
      expect(onDisk.seed).toBe(1);
      expect(await readFile(join(runDir, 'scenario.yaml'), 'utf8')).toMatch(/^seed: 1$/m);
      const lines = (await readFile(join(runDir, 'events.jsonl'), 'utf8')).trim().split('\n');
      const types = lines.map((l) => (JSON.parse(l) as { type: string }).type);
      expect(types[0]).toBe('run.started');
      expect(types.at(-1)).toBe('run.finished');
      expect(types).toContain('fault.injected');
      const log = await readFile(join(runDir, 'attempts', 't-01', '1', 'stdout.log'), 'utf8');
      expect(log).toContain('"type":"task.completed"');
    });

    it('reports: report.json and every events.jsonl line validate against docs/*.schema.json; report.md, report.html and junit.xml are written', async () => {
      const { runDir } = run.result;
      const ajv = new Ajv2020({ discriminator: true, allErrors: true, strict: false });
      addFormats(ajv);
      const load = async (name: string) => JSON.parse(await readFile(resolve('docs', name), 'utf8')) as object;
      const report = ajv.compile(await load('report.schema.json'));
      const event = ajv.compile(await load('events.schema.json'));
      expect(report(JSON.parse(await readFile(join(runDir, 'report.json'), 'utf8'))), JSON.stringify(report.errors)).toBe(true);
      const lines = (await readFile(join(runDir, 'events.jsonl'), 'utf8')).trim().split('\n');
      const invalid = lines.filter((l) => !event(JSON.parse(l))).map((l) => `${l.slice(0, 120)}: ${JSON.stringify(event.errors)}`);
      expect(invalid).toEqual([]);
      expect(await readFile(join(runDir, 'report.md'), 'utf8')).toMatch(/killed-attempts-recover/);
      const html = await readFile(join(runDir, 'report.html'), 'utf8');
      expect(html).toMatch(/<svg/);
      expect(html).not.toMatch(/<script|src="http/);
      expect(await readFile(join(runDir, 'junit.xml'), 'utf8')).toMatch(/<testsuite [^>]*name="smoke"[^>]*failures="0"/);
    });
  });

  it('seeded choice: the same seed kills the same task twice in a row', async () => {
    const scenario = await loadScenarioFile(resolve('chaos/smoke.yaml'));
    const short = { ...scenario, tasks: scenario.tasks.slice(0, 2) };
    const a = await runScenario({ scenario: short, docker, runsDir, seed: 7 });
    const b = await runScenario({ scenario: short, docker, runsDir, seed: 7 });
    expect(a.report.faults[0]!.targets[0]!.task).toBeDefined();
    expect(b.report.faults[0]!.targets[0]!.task).toBe(a.report.faults[0]!.targets[0]!.task);
    expect(a.report.status).toBe('passed');
    expect(b.report.status).toBe('passed');
  });

  it('network internal: one labelled per-run network with Internal true, used by the workers and removed at the end', async () => {
    const scenario = validateScenario({
      name: 'internal-net',
      network: 'internal',
      concurrency: 2,
      heartbeatMs: 200,
      tasks: { count: 2, steps: [{ sleep: 300 }, { write: { path: 'out.txt', content: 'x' } }] },
    });
    const networks: Dockerode.NetworkInspectInfo[] = [];
    const { result, inspected } = await runAndInspect(docker, scenario, runsDir, async (event) => {
      const info = await observer.getContainer(event.containerId).inspect();
      networks.push(await observer.getNetwork(info.HostConfig.NetworkMode!).inspect());
    });
    expect(result.report.status).toBe('passed');
    expect(networks).toHaveLength(2);
    for (const net of networks) {
      expect(net.Internal).toBe(true);
      expect(net.Labels?.[Label.run]).toBe(result.report.runId);
      expect(net.Id).toBe(networks[0]!.Id);
    }
    for (const { info } of inspected) expect(info.HostConfig.NetworkMode).toBe(networks[0]!.Name);
    await expect(observer.getNetwork(networks[0]!.Id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await labelled(result.report.runId)).toEqual({ containers: 0, networks: 0, volumes: 0 });
  });

  it('a failing check fails the run: a task that always fails ends with all-completed false and status failed', async () => {
    const scenario = validateScenario({
      name: 'always-fails',
      retry: { maxAttempts: 2, backoffMs: 10 },
      tasks: [{ id: 'doomed', steps: [{ fail: 'planned_failure' }] }],
    });
    const { result } = await runAndInspect(docker, scenario, runsDir);
    expect(result.report.status).toBe('failed');
    const check = result.report.checks.find((c) => c.name === 'all-completed')!;
    expect(check.ok).toBe(false);
    expect(check.evidence.join('\n')).toContain('doomed');
    expect(result.report.attempts.map((a) => [a.attempt, a.outcome, a.exitCode, a.reason])).toEqual([
      [1, 'failed', 1, 'planned_failure'],
      [2, 'failed', 1, 'planned_failure'],
    ]);
    expect(await labelled(result.report.runId)).toEqual({ containers: 0, networks: 0, volumes: 0 });
  });
});
