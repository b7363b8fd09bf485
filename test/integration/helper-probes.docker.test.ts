/**
 * Nothing needed inside the user's image (issue #16 item 3), on the real daemon: a
 * distroless worker — one static C binary in a `FROM scratch` image, no shell — passes a
 * `network: none` scenario with every default check on, its isolation proven by keelhaul's
 * probe alone (a helper container of keelhaul's image in the worker's network namespace; the
 * worker reports no interfaces), its workspace listed by a helper that mounts the volume; and
 * the same probe still fails `network-isolation` when a hole is made in a running distroless
 * worker. The daemon is watched with a separate dockerode client, so the helpers' shape and
 * their removal rest on the daemon's word, not the controller's.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario, type RunEvent, type RunResult } from '../../src/controller/index.js';
import { connectDocker, Label, type DockerClient } from '../../src/docker/index.js';
import { workerImageTag } from '../../src/images/index.js';
import { validateScenario } from '../../src/scenario/index.js';
import { buildDistrolessWorker, type DistrolessWorker } from '../setup/distroless-worker.js';

const observer = new Dockerode();
const STAMP = Date.now().toString(36);
/** The label of what this file creates outside a run (the image, a check container). */
const TEST_RUN = `test-helper-probes-${STAMP}`;

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

const eventsOf = (result: RunResult): RunEvent[] =>
  readFileSync(join(result.runDir, 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RunEvent);

/**
 * Inspects every probe helper of scenario `scenario` as the daemon creates it (the daemon's
 * own event stream; a helper lives for about half a second). Stop it to get the inspections.
 */
async function watchProbeHelpers(scenario: string): Promise<{ stop(): Promise<Dockerode.ContainerInspectInfo[]> }> {
  const stream = (await observer.getEvents({
    filters: JSON.stringify({ type: ['container'], event: ['create'], label: [`${Label.scenario}=${scenario}`, `${Label.role}=probe`] }),
  })) as NodeJS.ReadableStream & { destroy(): void };
  const inspections: Promise<Dockerode.ContainerInspectInfo | undefined>[] = [];
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const id = (JSON.parse(line) as { id: string }).id;
      inspections.push(
        observer
          .getContainer(id)
          .inspect()
          .catch(() => undefined),
      );
    }
  });
  return {
    async stop() {
      stream.destroy();
      return (await Promise.all(inspections)).filter((i): i is Dockerode.ContainerInspectInfo => i !== undefined);
    },
  };
}

describe('helper probes: nothing needed inside the worker image (docker)', () => {
  let docker: DockerClient;
  let runsDir: string;
  let worker: DistrolessWorker;

  beforeAll(async () => {
    docker = await connectDocker();
    runsDir = await mkdtemp(join(tmpdir(), 'keelhaul-helper-probes-'));
    worker = await buildDistrolessWorker(docker, { tag: `keelhaul-test/distroless:${STAMP}`, labels: { [Label.run]: TEST_RUN } });
  });
  afterAll(async () => {
    await worker?.remove();
    await rm(runsDir, { recursive: true, force: true });
  });

  it('the distroless image has no shell: what the old docker-exec probe needed is not there', () => {
    expect(() =>
      execFileSync('docker', ['run', '--rm', '--label', `${Label.run}=${TEST_RUN}`, '--network', 'none', '--entrypoint', '/bin/sh', worker.tag, '-c', 'true'], { stdio: 'pipe' }),
    ).toThrow();
  });

  it("network none: a distroless worker passes every default check, its isolation proven by keelhaul's probe alone, its workspace listed by a helper", async () => {
    const name = `distroless-none-${STAMP}`;
    const helpers = await watchProbeHelpers(name);
    const result = await runScenario({
      scenario: validateScenario({
        name,
        seed: 5,
        image: worker.tag,
        network: 'none',
        concurrency: 2,
        heartbeatMs: 200,
        // The worker reports no interfaces: only the probe can prove the isolation.
        env: { DISTROLESS_NO_INTERFACES: '1' },
        // A tmpfs workspace owned by uid 1000 (a scratch image has no /workspace of its own).
        workspace: { size: '1m' },
        tasks: [
          { id: 't-01', writes: ['out'], steps: [{ sleep: 1500 }, { write: { path: 'out/result.txt' } }] },
          { id: 't-02', writes: ['out'], steps: [{ sleep: 1500 }, { write: { path: 'out/result.txt' } }] },
        ],
      }),
      docker,
      runsDir,
      reaper: false,
    });
    const inspected = await helpers.stop();

    const failed = result.report.checks.filter((c) => !c.ok);
    expect(failed.map((c) => `${c.name}: ${c.observed}`)).toEqual([]);
    expect(result.report.status).toBe('passed');
    expect(check(result, 'network-isolation')).toMatchObject({ ok: true, observed: '2 attempt(s) probed from inside, 0 worker report(s): no hole found' });
    expect(check(result, 'workspace-compliance').ok).toBe(true);
    expect(check(result, 'containers-labelled-and-hardened').ok).toBe(true);
    expect(check(result, 'state-matches-daemon').ok).toBe(true);

    const events = eventsOf(result);
    const probes = events.filter((e): e is Extract<RunEvent, { type: 'isolation.probed' }> => e.type === 'isolation.probed');
    expect(probes).toHaveLength(2);
    for (const p of probes) {
      expect(p.error).toBeUndefined();
      expect(p.interfaces).toEqual(['lo']);
      expect(p.reached).toEqual([]);
      expect(p.unreachable.length).toBeGreaterThan(0);
    }
    // The probes were helpers of keelhaul's image in each attempt's namespace, hardened and
    // never an attempt: the attempts are exactly the two worker containers.
    const attempts = events.filter((e): e is Extract<RunEvent, { type: 'attempt.running' }> => e.type === 'attempt.running');
    expect(attempts).toHaveLength(2);
    const probeHelpers = inspected.filter((i) => i.HostConfig.NetworkMode?.startsWith('container:'));
    expect(probeHelpers).toHaveLength(2);
    expect(probeHelpers.map((i) => i.HostConfig.NetworkMode).sort()).toEqual(attempts.map((a) => `container:${a.containerId}`).sort());
    for (const i of probeHelpers) {
      expect(i.Config.Image).toBe(workerImageTag());
      expect(i.Config.Labels).toMatchObject({ [Label.run]: result.report.runId, [Label.role]: 'probe', [Label.skip]: 'true' });
      expect(i.HostConfig).toMatchObject({ CapDrop: ['ALL'], ReadonlyRootfs: true, SecurityOpt: ['no-new-privileges'], Memory: 32 * 1024 * 1024, PidsLimit: 64 });
      expect(i.HostConfig.CapAdd ?? []).toEqual([]);
      expect(i.HostConfig.Privileged).toBe(false);
      expect(i.Config.User).toBe('65534:65534');
    }
    expect(await labelled(result.report.runId)).toBe(0);
  });

  it('internal: a hole made in a running distroless worker is found by the helper probe and fails network-isolation', async () => {
    let holed = '';
    let gateway = '';
    const result = await runScenario({
      scenario: validateScenario({
        name: `distroless-hole-${STAMP}`,
        seed: 5,
        image: worker.tag,
        network: 'internal',
        concurrency: 2,
        heartbeatMs: 200,
        env: { DISTROLESS_NO_INTERFACES: '1' },
        tasks: { count: 2, steps: [{ sleep: 1500 }] },
      }),
      docker,
      runsDir,
      reaper: false,
      onEvent: (e) => {
        // Synchronous: the controller's probe of this attempt starts after the hole exists.
        if (e.type === 'attempt.running' && !holed) {
          holed = `${e.task} attempt ${e.attempt}`;
          execFileSync('docker', ['network', 'connect', 'bridge', e.containerId]);
          gateway = execFileSync('docker', ['inspect', '-f', '{{with index .NetworkSettings.Networks "bridge"}}{{.Gateway}}{{end}}', e.containerId], { encoding: 'utf8' }).trim();
        }
      },
    });
    const c = check(result, 'network-isolation');
    expect(c.ok).toBe(false);
    expect(c.evidence).toContain(`${holed}: interfaces eth0, eth1, lo seen from inside (expected lo and one network interface)`);
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(c.evidence.some((line) => line.startsWith(`${holed}: opened a TCP connection to the host at ${gateway}:`))).toBe(true);
    expect(c.evidence.some((line) => line.startsWith('host canary: accepted a connection from ') && line.includes(` to ${gateway}:`))).toBe(true);
    // No worker reported its interfaces: every hole above was seen by the probe.
    expect(c.observed).toMatch(/^\d+ hole\(s\) found; 2 attempt\(s\) probed from inside, 0 worker report\(s\)/);
    expect(await labelled(result.report.runId)).toBe(0);
  });

  it("partition of a distroless worker: the cut and the healing are checked from the target's side by a helper in its namespace", async () => {
    const result = await runScenario({
      scenario: validateScenario({
        name: `distroless-partition-${STAMP}`,
        seed: 12,
        image: worker.tag,
        network: 'internal',
        concurrency: 1,
        heartbeatMs: 250,
        tasks: { count: 1, steps: [{ sleep: 5000 }] },
        faults: [{ kind: 'partition', trigger: { on: { event: 'task.started', nth: 1 } }, params: { durationMs: 1500 } }],
      }),
      docker,
      runsDir,
      reaper: false,
    });
    const verified = check(result, 'partitions-verified');
    expect(verified.evidence).toEqual([]);
    expect(verified.ok).toBe(true);
    const checks = eventsOf(result).filter((e): e is Extract<RunEvent, { type: 'fault.verified' }> => e.type === 'fault.verified');
    // target→probe runs in a helper that joined the target's namespace: the worker has no nc.
    expect(checks.map((c) => [c.phase, c.fromProbe, c.fromTarget])).toEqual([
      ['cut', false, false],
      ['restored', true, true],
    ]);
    expect(result.report.status).toBe('passed');
    expect(await labelled(result.report.runId)).toBe(0);
  });
});
