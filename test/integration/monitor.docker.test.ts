/**
 * Docker events and the monitor against the real daemon: two labelled worker containers;
 * one is killed through the API and its kill and die events must arrive through the label
 * subscription; the other is sampled by the monitor together with this process and dockerd.
 *
 * Needs a daemon (DOCKER_HOST or /var/run/docker.sock) and the worker image (the docker
 * project's global setup builds it); it fails, never skips, without them.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectDocker, Label, subscribeEvents, type ContainerSpec, type DockerClient } from '../../src/docker/index.js';
import type { DaemonEvent } from '../../src/docker/events.js';
import { startPrivateDaemon, type PrivateDaemon } from '../../src/daemon/index.js';
import { workerImageTag } from '../../src/images/index.js';
import { findDockerdPid, startMonitor, type MonitoredProcess, type MonitorSample } from '../../src/monitor/index.js';

const testRunId = `test-monitor-${randomUUID().slice(0, 8)}`;
const runLabels = { [Label.run]: testRunId };

/** A worker container locked down as the docker backend runs one, sleeping `sleepMs`. */
function workerSpec(name: string, sleepMs: number): ContainerSpec {
  return {
    name: `${testRunId}-${name}`,
    image: workerImageTag(),
    labels: { ...runLabels, [Label.role]: 'worker', [Label.task]: 't' },
    env: {
      KEELHAUL_RUN_ID: testRunId,
      KEELHAUL_TASK_ID: 't',
      KEELHAUL_ATTEMPT: '1',
      KEELHAUL_SEED: '1',
      KEELHAUL_TASK: JSON.stringify({ id: 't', steps: [{ sleep: sleepMs }] }),
    },
    user: '1000:1000',
    networkMode: 'none',
    mounts: [
      { type: 'tmpfs', target: '/workspace', sizeBytes: 1 << 20 },
      { type: 'tmpfs', target: '/tmp', sizeBytes: 1 << 20 },
    ],
    readonlyRootfs: true,
    capDrop: ['ALL'],
    securityOpt: ['no-new-privileges'],
    memoryBytes: 256 * 1024 * 1024,
    pidsLimit: 64,
  };
}

describe('docker events and monitor (docker)', () => {
  // A failed connect is recorded and thrown by every test, so that each one is reported as
  // failed (a throwing beforeAll would leave them marked "skipped").
  let daemonError: Error | undefined;
  let docker: DockerClient;
  let dir: string;
  const events: DaemonEvent[] = [];
  const states: string[] = [];
  const subscription = new AbortController();
  let subscribed: Promise<void> = Promise.resolve();
  let killed = '';
  let sampled = '';
  const requireDaemon = (): void => {
    if (daemonError) throw daemonError;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keelhaul-monitor-docker-'));
    try {
      docker = await connectDocker({ pingTimeoutMs: 10_000 });
    } catch (error) {
      daemonError = new Error(`No Docker daemon answers: this integration test needs one; start it with scripts/docker-up.sh`, { cause: error });
      return;
    }
    // Subscribed before anything exists: since = now, so the create events are ours too.
    subscribed = subscribeEvents(docker, {
      labels: runLabels,
      since: new Date(),
      signal: subscription.signal,
      onEvent: (e) => events.push(e),
      onState: (s) => states.push(s),
    });
    // The one to kill sleeps 1.5 s; the one to sample must outlive a stats request (the
    // daemon needs two of its 1 s collections) after the monitor's second of sampling.
    killed = await docker.createContainer(workerSpec('killed', 1500));
    sampled = await docker.createContainer(workerSpec('sampled', 30_000));
    await docker.startContainer(killed);
    await docker.startContainer(sampled);
  });

  afterAll(async () => {
    subscription.abort();
    await subscribed;
    await rm(dir, { recursive: true, force: true });
    if (daemonError) return;
    for (const c of await docker.listContainers({ labels: runLabels, all: true })) {
      await docker.removeContainer(c.id, { force: true, volumes: true });
    }
    expect(await docker.listContainers({ labels: runLabels, all: true })).toEqual([]);
  });

  it('events: an API SIGKILL arrives as kill (signal 9) then die (exit 137) through the label subscription', async () => {
    requireDaemon();
    await docker.killContainer(killed, 'SIGKILL');
    await vi.waitFor(
      () => {
        expect(events.some((e) => e.containerId === killed && e.action === 'die')).toBe(true);
      },
      { timeout: 10_000, interval: 50 },
    );
    const mine = events.filter((e) => e.containerId === killed);
    const kill = mine.find((e) => e.action === 'kill');
    const die = mine.find((e) => e.action === 'die');
    expect(kill?.signal).toBe('9');
    expect(die?.exitCode).toBe(137);
    expect(die?.labels[Label.run]).toBe(testRunId);
    expect(die?.containerName).toBe(`${testRunId}-killed`);
    expect(BigInt(kill!.timeNano)).toBeLessThan(BigInt(die!.timeNano));
    expect(mine.map((e) => e.action).slice(0, 2)).toEqual(['create', 'start']);
    // Only this run's containers: the label filter is applied by the daemon.
    expect(events.every((e) => e.labels[Label.run] === testRunId)).toBe(true);
    expect(states[0]).toBe('connected');
  });

  it('monitor: about a second of samples of a running container, this process and dockerd lands in the JSONL file', async () => {
    requireDaemon();
    const processes: MonitoredProcess[] = [{ name: 'controller', pid: process.pid }];
    const dockerdPid = docker.endpoint.startsWith('/') ? findDockerdPid(docker.endpoint) : undefined;
    if (docker.endpoint.startsWith('/')) {
      // A daemon on a local socket is a process here; its command line must say dockerd.
      expect(dockerdPid).toBeDefined();
      expect(readFileSync(`/proc/${dockerdPid}/cmdline`, 'utf8')).toMatch(/dockerd/);
      processes.push({ name: 'dockerd', pid: dockerdPid! });
    }
    const samplesPath = join(dir, 'samples.jsonl');
    const seen: MonitorSample[] = [];
    let gotContainer!: () => void;
    const containerSampled = new Promise<void>((resolve) => (gotContainer = resolve));
    const monitor = startMonitor({
      docker,
      intervalMs: 200,
      samplesPath,
      processes: () => processes,
      // The killed container is gone from the daemon's point of view: its samples are skipped.
      containers: () => [sampled, killed],
      onSample: (s) => {
        seen.push(s);
        if (s.kind === 'container' && seen.filter((x) => x.kind === 'process' && x.name === 'controller').length >= 3) gotContainer();
      },
    });
    // Until a container sample is in (the daemon answers a stats request after 1–2 s):
    // stop() aborts the requests still out, so stopping earlier would leave none.
    await containerSampled;
    const summary = await monitor.stop();

    const lines = (await readFile(samplesPath, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as MonitorSample);
    expect(lines).toHaveLength(summary.samples);
    expect(lines).toEqual(seen);
    const containerLines = lines.filter((l) => l.kind === 'container');
    expect(containerLines.length).toBeGreaterThan(0);
    for (const l of containerLines) {
      expect(l).toMatchObject({ containerId: sampled, memoryLimitBytes: 256 * 1024 * 1024 });
      if (l.kind === 'container') {
        expect(l.memoryBytes).toBeGreaterThan(0);
        expect(l.pids).toBeGreaterThan(0);
      }
    }
    const controllerLines = lines.filter((l) => l.kind === 'process' && l.name === 'controller');
    expect(controllerLines.length).toBeGreaterThanOrEqual(3);
    expect(controllerLines.every((l) => l.kind === 'process' && l.rssBytes > 0)).toBe(true);
    if (dockerdPid !== undefined) expect(lines.some((l) => l.kind === 'process' && l.name === 'dockerd' && l.rssBytes > 0)).toBe(true);
    expect(summary.containers.peakMemoryBytes).toBeGreaterThan(0);
    expect(summary.containers.sampled).toBe(1);
    expect(summary.controllerRss.firstBytes).toBeGreaterThan(0);
    expect(summary.skipped).toBeGreaterThan(0); // the killed container
  });
});

describe('docker events across a daemon outage (docker, private daemon)', () => {
  // A private dockerd that the test may stop; the main daemon is never touched.
  let daemon: PrivateDaemon | undefined;
  let dir: string;

  afterAll(async () => {
    await daemon?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('events: the subscription survives a daemon stop and start, and delivers each event once', async () => {
    daemon = await startPrivateDaemon({ name: 'khevents' });
    let docker = await daemon.connect();
    // A private daemon has no images and no registry to pull from: a one-file scratch
    // image is enough for containers that are created, never started.
    dir = await mkdtemp(join(tmpdir(), 'keelhaul-events-outage-'));
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY marker /marker\n');
    await writeFile(join(dir, 'marker'), 'keelhaul\n');
    await docker.buildImage({ contextDir: dir, dockerfile: 'Dockerfile', tag: 'keelhaul/events-probe:1', labels: runLabels });
    const spec = (name: string): ContainerSpec => ({
      ...workerSpec(name, 0),
      image: 'keelhaul/events-probe:1',
      cmd: ['/marker'],
      mounts: [],
    });

    const events: DaemonEvent[] = [];
    const states: { state: string; reason?: string }[] = [];
    const controller = new AbortController();
    const subscribed = subscribeEvents(docker, {
      labels: runLabels,
      since: new Date(),
      signal: controller.signal,
      reconnectDelayMs: 50,
      maxReconnectDelayMs: 200,
      onEvent: (e) => events.push(e),
      onState: (state, d) => states.push({ state, ...(d.reason ? { reason: d.reason } : {}) }),
    });
    try {
      const before = await docker.createContainer(spec('before'));
      await vi.waitFor(() => expect(events.map((e) => e.containerId)).toContain(before), { timeout: 10_000, interval: 20 });

      // SIGTERM: the socket goes away (ENOENT while down) and the stream is cut.
      await daemon.stop();
      await vi.waitFor(() => expect(states.at(-1)?.state).toBe('disconnected'), { timeout: 10_000, interval: 20 });
      await daemon.start();
      docker = await daemon.connect();
      await vi.waitFor(() => expect(states.at(-1)?.state).toBe('connected'), { timeout: 15_000, interval: 20 });

      const after = await docker.createContainer(spec('after'));
      await docker.removeContainer(before, { force: true });
      await vi.waitFor(() => expect(events.filter((e) => e.action === 'destroy').map((e) => e.containerId)).toContain(before), { timeout: 10_000, interval: 20 });
      const seen = events.map((e) => `${e.action} ${e.containerId}`);
      expect(seen).toEqual([`create ${before}`, `create ${after}`, `destroy ${before}`]);
      expect(states[0]?.state).toBe('connected');
      expect(states.at(-1)?.state).toBe('connected');
      const down = states.find((s) => s.state === 'disconnected');
      expect(down?.reason).toBeTruthy();
    } finally {
      controller.abort();
      await subscribed;
    }
  });
});
