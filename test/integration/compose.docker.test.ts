/**
 * Compose in and repro against the real daemon: a run with compose/agents.yml as its
 * topology (services labelled, reachable by name on the internal network the workers join,
 * a fault that targets a service by name, everything removed by the run's cleanup); bad
 * Compose input refused by the binary (exit 2, file:line:field, nothing created); a killed
 * attempt of a real run re-run by `keelhaul repro` (reproduced, exit 0) and exported as a
 * Compose file that Debian's docker-compose accepts.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario, type RunEvent } from '../../src/controller/index.js';
import { connectDocker, Label, type DockerClient } from '../../src/docker/index.js';
import { validateScenario } from '../../src/scenario/index.js';
import { requireTool } from '../setup/require-tool.js';

const bin = resolve('dist/src/cli/main.js');
const observer = new Dockerode();

function run(cmd: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 150_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const keelhaul = (args: string[]): ReturnType<typeof run> => run(process.execPath, [bin, ...args]);
/** Debian's docker-compose CLI; a clear failure (never a skip) when it is missing. */
const dockerCompose = (args: string[]): ReturnType<typeof run> => run(requireTool('docker-compose', 'apt-get install -y docker-compose'), args);

/** Containers, networks and volumes carrying a label (`key=value`), asked of the daemon directly. */
async function labelled(label: string): Promise<number> {
  const filters = JSON.stringify({ label: [label] });
  const [c, n, v] = await Promise.all([observer.listContainers({ all: true, filters }), observer.listNetworks({ filters }), observer.listVolumes({ filters })]);
  return c.length + n.length + (v.Volumes ?? []).length;
}

let dir: string;
let runsDir: string;
let docker: DockerClient;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keelhaul-compose-'));
  runsDir = join(dir, 'runs');
  docker = await connectDocker();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('compose topology (docker)', () => {
  it('compose: services run labelled beside the workers, answer by name on the shared internal network, a fault stops one by name, and cleanup leaves nothing', async () => {
    const scenario = validateScenario({
      name: `compose-${randomUUID().slice(0, 8)}`,
      seed: 3,
      network: 'internal',
      topology: { file: resolve('compose/agents.yml'), workerNetwork: 'agents' },
      concurrency: 1,
      tasks: { count: 2, steps: [{ progress: 0.5 }, { sleep: 1500 }] },
      // On the last task.completed: the services answer all through both attempts, while
      // the test asks one for the other.
      faults: [{ name: 'stop-api', kind: 'stop', params: { graceMs: 1000 }, trigger: { on: { event: 'task.completed', nth: 2 } }, target: { service: 'api' } }],
    });
    let seen: Promise<{ services: Dockerode.ContainerInfo[]; reply: string; worker: Dockerode.ContainerInspectInfo }> | undefined;
    const events: RunEvent[] = [];
    const result = await runScenario({
      scenario,
      docker,
      runsDir,
      reaper: false,
      onEvent: (event) => {
        events.push(event);
        if (event.type === 'attempt.running' && !seen) {
          seen = (async () => {
            const services = await observer.listContainers({ all: true, filters: JSON.stringify({ label: [`${Label.run}=${event.run}`, `${Label.role}=service`] }) });
            const cache = services.find((s) => s.Labels[Label.service] === 'cache')!;
            // From one service to the other by its service name, through busybox wget.
            const exec = await observer.getContainer(cache.Id).exec({ Cmd: ['timeout', '5', 'wget', '-qO-', 'http://api:8080/health'], AttachStdout: true, AttachStderr: true });
            const stream = await exec.start({ hijack: true, stdin: false });
            const chunks: Buffer[] = [];
            stream.on('data', (c: Buffer) => chunks.push(c));
            await new Promise((r) => stream.on('end', r));
            const worker = await observer.getContainer(event.containerId).inspect();
            return { services, reply: Buffer.concat(chunks).toString('utf8'), worker };
          })();
        }
      },
    });
    const { services, reply, worker } = await seen!;
    const runId = result.report.runId;

    expect(services.map((s) => s.Labels[Label.service]).sort()).toEqual(['api', 'cache']);
    for (const s of services) {
      expect(s.Labels).toMatchObject({ [Label.run]: runId, [Label.role]: 'service', [Label.scenario]: scenario.name });
      expect(s.Names[0]).toBe(`/kh-${runId}-${s.Labels[Label.service]}`);
    }
    expect(services.find((s) => s.Labels[Label.service] === 'api')!.Labels['com.example.tier']).toBe('backend');
    expect(reply).toContain('ok');
    expect(worker.HostConfig.NetworkMode).toBe(`kh-${runId}-agents`);

    const fault = result.report.faults[0]!;
    expect(fault).toMatchObject({ faultId: 'stop-api', status: 'injected' });
    expect(fault.targets).toEqual([expect.objectContaining({ service: 'api' })]);
    expect(events.some((e) => e.type === 'docker.event' && e.action === 'die' && e.role === 'service')).toBe(true);
    expect(result.report.status).toBe('passed');
    // The 2 services and the agents network at the end; the 2 completed attempts' containers
    // went as their tasks finished (removal behind).
    expect(result.report.cleanup).toMatchObject({ containers: 2, networks: 1, errors: [] });
    const cleaned = events.find((e): e is Extract<RunEvent, { type: 'cleanup.finished' }> => e.type === 'cleanup.finished');
    expect(cleaned?.removedBehind).toEqual({ containers: 2, volumes: 2 });
    expect(await labelled(`${Label.run}=${runId}`)).toBe(0);
  });

  it("compose: the example topology compose/agents.yml is also a file Debian's docker-compose accepts", () => {
    const config = dockerCompose(['-f', 'compose/agents.yml', 'config']);
    expect(config.code, config.stderr).toBe(0);
    expect(config.stdout).toMatch(/internal: true/);
  });

  it('compose: bad Compose input — an unsupported key, a socket mount without the opt-in — exits 2 naming file:line:field and creates nothing', async () => {
    const name = `badcompose-${randomUUID().slice(0, 8)}`;
    const cases = [
      { text: 'services:\n  api:\n    image: keelhaul/worker:{version}\n    build: .\n', match: /:4:5: services\.api\.build: unsupported Compose key "build"/ },
      {
        text: 'services:\n  api:\n    image: keelhaul/worker:{version}\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n',
        match: /:5:\d+: services\.api\.volumes\[0\]: mounts the Docker socket .*dangerouslyAllow: \{ dockerSocket: true \}/,
      },
    ];
    for (const [i, c] of cases.entries()) {
      const composeFile = join(dir, `bad-${i}.yml`);
      const scenarioFile = join(dir, `bad-${i}.yaml`);
      await writeFile(composeFile, c.text);
      await writeFile(scenarioFile, `name: ${name}\ntopology: bad-${i}.yml\ntasks:\n  count: 1\n  steps:\n    - sleep: 10\n`);
      const r = keelhaul(['run', scenarioFile, '--runs-dir', runsDir]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(composeFile);
      expect(r.stderr).toMatch(c.match);
    }
    expect(await labelled(`${Label.scenario}=${name}`)).toBe(0);
  });
});

describe('keelhaul repro (docker)', () => {
  it('repro: a killed attempt of a real run is re-run as a new run and the failure reproduces (exit 0); its Compose export passes docker-compose config', async () => {
    const name = `repro-${randomUUID().slice(0, 8)}`;
    const scenario = validateScenario({
      name,
      seed: 11,
      tasks: { count: 2, steps: [{ progress: 0.3 }, { sleep: 1500 }, { write: { path: 'out.txt', content: 'cost $5\n' } }] },
      resources: { memory: '128m', pidsLimit: 64, tmpfs: '16m' },
      workspace: { size: '4m' },
      faults: [{ name: 'kill-one', kind: 'kill', trigger: { on: { event: 'task.started', nth: 1 } } }],
    });
    const original = await runScenario({ scenario, docker, runsDir, reaper: false });
    const killed = original.report.attempts.find((a) => a.outcome === 'killed')!;
    expect(killed).toBeDefined();
    const state = JSON.parse(await readFile(join(original.runDir, 'state.json'), 'utf8')) as { tasks: Record<string, { attempts: { attempt: number; imageId?: string }[] }> };
    expect(state.tasks[killed.task]!.attempts[0]!.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);

    const r = keelhaul(['repro', original.report.runId, '--runs-dir', runsDir]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`original: ${killed.task}#${killed.attempt} killed, exit 137, fault kill-one`);
    expect(r.stdout).toMatch(/repro: +\S+#1 killed, exit 137, fault kill-one/);
    expect(r.stdout).toContain('REPRODUCED');
    const reproRun = /run (\d{8}-\d{6}-[0-9a-f]{4}),/.exec(r.stdout.split('repro:')[1] ?? '')?.[1];
    expect(reproRun).toBeDefined();
    expect(reproRun).not.toBe(original.report.runId);
    const report = JSON.parse(await readFile(join(runsDir, reproRun!, 'report.json'), 'utf8')) as { seed: number; image: string; scenario: string };
    expect(report).toMatchObject({ seed: 11, scenario: `${name}.repro` });
    expect(report.image).toBe(state.tasks[killed.task]!.attempts[0]!.imageId);
    expect(await labelled(`${Label.run}=${reproRun}`)).toBe(0);

    const exported = join(dir, 'export', 'attempt.yml');
    const x = keelhaul(['repro', original.report.runId, '--runs-dir', runsDir, '--export', 'compose', exported]);
    expect(x.code, x.stderr).toBe(0);
    const config = dockerCompose(['-f', exported, 'config']);
    expect(config.code, config.stderr).toBe(0);
    expect(config.stdout).toContain('pids_limit: 64');
    expect(config.stdout).toMatch(/o: size=4194304,uid=1000/);
    // The task's literal $ survives docker-compose's interpolation (config writes it escaped
    // again, and folds long lines: a fold is a space in YAML).
    expect(config.stdout.replace(/\s+/g, ' ')).toContain('cost $$5');

    const bad = keelhaul(['repro', original.report.runId, '--runs-dir', runsDir, '--attempt', '9']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/has no attempt 9/);
  });
});
