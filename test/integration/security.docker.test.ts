/**
 * Hardened workers, proven on the real daemon: a RUNNING worker container is inspected with
 * a separate dockerode client (non-root user, CapDrop ALL, read-only root, no-new-privileges,
 * pids and memory limits, no Docker socket, the scenario's env); and a scenario that opts in
 * with `dangerouslyAllow` really gets the socket, host networking and privileged mode — and
 * its report, checks, Markdown, HTML and JUnit say loudly that the run was UNHARDENED.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario, type RunResult } from '../../src/controller/index.js';
import { connectDocker, Label, type DockerClient } from '../../src/docker/index.js';
import { validateScenario } from '../../src/scenario/index.js';

const observer = new Dockerode();

/** What a label query finds of a run after it ended. */
async function leftovers(runId: string): Promise<number> {
  const filters = JSON.stringify({ label: [`${Label.run}=${runId}`] });
  const [c, n, v] = await Promise.all([observer.listContainers({ all: true, filters }), observer.listNetworks({ filters }), observer.listVolumes({ filters })]);
  return c.length + n.length + (v.Volumes ?? []).length;
}

/** Runs a scenario, inspecting each attempt container at its attempt.running event. */
async function runAndInspect(docker: DockerClient, input: unknown, runsDir: string): Promise<{ result: RunResult; inspected: Dockerode.ContainerInspectInfo[] }> {
  const pending: Promise<Dockerode.ContainerInspectInfo>[] = [];
  const result = await runScenario({
    scenario: validateScenario(input),
    docker,
    runsDir,
    reaper: false,
    onEvent: (event) => {
      if (event.type === 'attempt.running') pending.push(observer.getContainer(event.containerId).inspect());
    },
  });
  return { result, inspected: await Promise.all(pending) };
}

describe('hardened workers (docker)', () => {
  let docker: DockerClient;
  let runsDir: string;

  beforeAll(async () => {
    docker = await connectDocker();
    runsDir = await mkdtemp(join(tmpdir(), 'keelhaul-security-'));
  });
  afterAll(async () => {
    await rm(runsDir, { recursive: true, force: true });
  });

  it('a running worker: non-root, CapDrop ALL, read-only root, no-new-privileges, pids and memory limits, not privileged, no socket, the scenario env', async () => {
    const { result, inspected } = await runAndInspect(
      docker,
      {
        name: 'sec-hardened',
        seed: 3,
        env: { PLAIN_SETTING: 'visible-value', API_TOKEN: 'tok-0123456789' },
        resources: { memory: '96m', pidsLimit: 64 },
        tasks: [{ id: 'slow', steps: [{ sleep: 2000 }] }],
      },
      runsDir,
    );
    expect(result.report.status).toBe('passed');
    expect(inspected).toHaveLength(1);
    const info = inspected[0]!;
    // Inspected while it ran: the two-second sleep had just begun.
    expect(info.State.Running).toBe(true);
    expect(info.Config.User).toBe('1000:1000');
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.HostConfig.CapAdd ?? []).toEqual([]);
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(info.HostConfig.PidsLimit).toBe(64);
    expect(info.HostConfig.Memory).toBe(96 * 1024 * 1024);
    expect(info.HostConfig.NetworkMode).toBe('none');
    expect(info.Mounts.map((m) => m.Type).sort()).toEqual(['tmpfs', 'volume']);
    expect(info.Mounts.some((m) => (m.Source ?? '').includes('docker.sock') || m.Destination.includes('docker.sock'))).toBe(false);
    expect(info.Config.Env).toEqual(expect.arrayContaining(['PLAIN_SETTING=visible-value', 'API_TOKEN=tok-0123456789']));
    const audit = result.report.checks.find((c) => c.name === 'containers-labelled-and-hardened')!;
    expect(audit.ok).toBe(true);
    expect(audit.observed).not.toContain('UNHARDENED');
    expect(result.report.unhardened).toBeUndefined();
    expect(result.report.redactedSecrets).toBe(1);
    expect(await leftovers(result.report.runId)).toBe(0);
  });

  it('dangerouslyAllow: the socket, host networking and privileged mode are granted, and every report says UNHARDENED', async () => {
    const { result, inspected } = await runAndInspect(
      docker,
      {
        name: 'sec-unhardened',
        seed: 4,
        network: 'host',
        privileged: true,
        mounts: [{ source: '/var/run/docker.sock', target: '/var/run/docker.sock' }],
        dangerouslyAllow: { dockerSocket: true, hostNetwork: true, privileged: true },
        tasks: [{ id: 'boxless', steps: [{ sleep: 1000 }] }],
      },
      runsDir,
    );
    const info = inspected[0]!;
    expect(info.HostConfig.Privileged).toBe(true);
    expect(info.HostConfig.NetworkMode).toBe('host');
    const socket = info.Mounts.find((m) => m.Destination === '/var/run/docker.sock');
    expect(socket?.Type).toBe('bind');
    expect(socket?.RW).toBe(false);

    const { report, runDir } = result;
    expect(report.status).toBe('passed');
    expect(report.unhardened?.dangerouslyAllow).toEqual(['dockerSocket', 'hostNetwork', 'privileged']);
    expect(report.unhardened?.warning).toMatch(/NOT hardened.*Docker socket.*network stack.*privileged/);
    const audit = report.checks.find((c) => c.name === 'containers-labelled-and-hardened')!;
    expect(audit.observed).toContain('UNHARDENED by dangerouslyAllow: dockerSocket, hostNetwork, privileged');
    expect(audit.evidence.filter((e) => e.startsWith('UNHARDENED'))).toHaveLength(3);
    expect(await readFile(join(runDir, 'report.md'), 'utf8')).toContain('**UNHARDENED RUN**');
    expect(await readFile(join(runDir, 'report.html'), 'utf8')).toContain('<strong>UNHARDENED RUN</strong>');
    expect(await readFile(join(runDir, 'junit.xml'), 'utf8')).toContain('name="keelhaul.unhardened"');
    expect(await leftovers(report.runId)).toBe(0);
  });
});
