/**
 * The monitor against plain-object fakes: a scripted process sampler instead of pidusage
 * and a fake `containerStats`. Small intervals; tests wait for a number of samples, never
 * for a wall-clock duration.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContainerNotRunningError, ResourceNotFoundError, type DockerClient } from '../../src/docker/index.js';
import type { ContainerStatsSample } from '../../src/docker/stats.js';
import { findDockerdPid, socketsServedBy, startMonitor, type MonitorAlert, type MonitorOptions, type MonitorSample } from '../../src/monitor/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keelhaul-monitor-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function stats(containerId: string, memoryBytes: number, cpuPercent = 1): ContainerStatsSample {
  return { containerId, time: new Date().toISOString(), memoryBytes, memoryLimitBytes: 1 << 30, cpuPercent, pids: 3 };
}

/** A process sampler that plays each pid's RSS series, repeating the last value. */
function scripted(series: Record<number, number[]>): NonNullable<MonitorOptions['sampleProcess']> {
  const seen = new Map<number, number>();
  return async (pid) => {
    const values = series[pid];
    if (!values) throw new Error('No matching pid found');
    const i = seen.get(pid) ?? 0;
    seen.set(pid, i + 1);
    return { rssBytes: values[Math.min(i, values.length - 1)]!, cpuPercent: i * 10 };
  };
}

/** Resolves once `predicate` holds for the samples seen so far. */
function samplesUntil(predicate: (samples: MonitorSample[]) => boolean): {
  onSample: (s: MonitorSample) => void;
  done: Promise<MonitorSample[]>;
} {
  const seen: MonitorSample[] = [];
  let resolve!: (s: MonitorSample[]) => void;
  const done = new Promise<MonitorSample[]>((r) => (resolve = r));
  return {
    onSample: (s) => {
      seen.push(s);
      if (predicate(seen)) resolve(seen);
    },
    done,
  };
}

async function readLines(path: string): Promise<MonitorSample[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as MonitorSample);
}

const noContainers: Pick<DockerClient, 'containerStats'> = {
  containerStats: async (id) => {
    throw new ResourceNotFoundError(`container ${id}`, { operation: 'container stats' });
  },
};

describe('monitor', () => {
  it('writes one JSON line per sample, and keeps peaks per process and across containers', async () => {
    const samplesPath = join(dir, 'nested', 'samples.jsonl');
    const memory: Record<string, number[]> = { c1: [100, 900, 300], c2: [500] };
    const calls = new Map<string, number>();
    const docker: Pick<DockerClient, 'containerStats'> = {
      containerStats: async (id) => {
        const n = calls.get(id) ?? 0;
        calls.set(id, n + 1);
        const series = memory[id]!;
        return stats(id, series[Math.min(n, series.length - 1)]!, id === 'c1' ? 150 : 20);
      },
    };
    const wait = samplesUntil((s) => s.filter((x) => x.kind === 'container' && x.containerId === 'c1').length >= 3 && s.filter((x) => x.kind === 'process').length >= 8);
    const monitor = startMonitor({
      docker,
      intervalMs: 2,
      samplesPath,
      processes: () => [
        { name: 'controller', pid: 10 },
        { name: 'dockerd', pid: 20 },
      ],
      containers: () => ['c1', 'c2'],
      sampleProcess: scripted({ 10: [1000, 3000, 2000], 20: [7000, 5000] }),
      onSample: wait.onSample,
    });
    await wait.done;
    const summary = await monitor.stop();

    const lines = await readLines(samplesPath);
    expect(lines).toHaveLength(summary.samples);
    expect(lines.every((l) => typeof l.time === 'string' && Number.isInteger(l.tick))).toBe(true);
    const processLine = lines.find((l) => l.kind === 'process');
    expect(processLine).toMatchObject({ kind: 'process', name: 'controller', pid: 10, rssBytes: 1000 });
    expect(lines.find((l) => l.kind === 'container')).toMatchObject({ kind: 'container', memoryLimitBytes: 1 << 30, pids: 3 });

    expect(summary.peaks).toContainEqual({ name: 'controller', rssBytes: 3000, cpuPercent: expect.any(Number) });
    expect(summary.peaks).toContainEqual({ name: 'dockerd', rssBytes: 7000, cpuPercent: expect.any(Number) });
    expect(summary.containers.peakMemoryBytes).toBe(900);
    expect(summary.containers.peakCpuPercent).toBe(150);
    expect(summary.containers.sampled).toBe(2);
    expect(summary.containers.peakTotalMemoryBytes).toBeGreaterThanOrEqual(900);
    expect(summary.controllerRss).toEqual({ firstBytes: 1000, lastBytes: 2000, growthBytes: 1000 });
    expect(summary.skipped).toBe(0);
    expect(summary.writeError).toBeUndefined();
  });

  it('alerts once per process when its RSS grows past rssGrowthBytes over its first sample', async () => {
    const alerts: MonitorAlert[] = [];
    const wait = samplesUntil((s) => s.filter((x) => x.kind === 'process' && x.pid === 11).length >= 6);
    const monitor = startMonitor({
      docker: noContainers,
      intervalMs: 2,
      samplesPath: join(dir, 'samples.jsonl'),
      processes: () => [
        { name: 'worker t-1', pid: 11 },
        { name: 'steady', pid: 12 },
      ],
      containers: () => [],
      alerts: { rssGrowthBytes: 200 },
      onAlert: (a) => alerts.push(a),
      sampleProcess: scripted({ 11: [100, 150, 300, 301, 900], 12: [100, 250] }),
      onSample: wait.onSample,
    });
    await wait.done;
    const summary = await monitor.stop();
    // 300 − 100 = 200 is not past the bound; 301 is. Later growth does not alert again.
    expect(alerts).toEqual([{ kind: 'rss-growth', time: expect.any(String), name: 'worker t-1', pid: 11, firstBytes: 100, rssBytes: 301, growthBytes: 201, limitBytes: 200 }]);
    expect(summary.alerts).toBe(1);
  });

  it('skips a failed sample — a process gone, a container gone or stopped — and keeps sampling the rest', async () => {
    const docker: Pick<DockerClient, 'containerStats'> = {
      containerStats: async (id) => {
        if (id === 'gone') throw new ResourceNotFoundError(`container ${id}`, { operation: 'container stats' });
        if (id === 'exited') throw new ContainerNotRunningError(id);
        return stats(id, 42);
      },
    };
    const wait = samplesUntil((s) => s.filter((x) => x.kind === 'process').length >= 3 && s.some((x) => x.kind === 'container'));
    const monitor = startMonitor({
      docker,
      intervalMs: 2,
      samplesPath: join(dir, 'samples.jsonl'),
      processes: () => [
        { name: 'controller', pid: 10 },
        { name: 'exited worker', pid: 99 },
      ],
      containers: () => ['gone', 'exited', 'ok'],
      sampleProcess: scripted({ 10: [1000] }),
      onSample: wait.onSample,
    });
    await wait.done;
    const summary = await monitor.stop();
    const lines = await readLines(join(dir, 'samples.jsonl'));
    expect(lines.some((l) => l.kind === 'process' && l.pid === 99)).toBe(false);
    expect(lines.filter((l) => l.kind === 'container').every((l) => l.kind === 'container' && l.containerId === 'ok')).toBe(true);
    expect(summary.skipped).toBeGreaterThanOrEqual(3);
    expect(summary.peaks.map((p) => p.name)).toEqual(['controller']);
  });

  it('asks for at most 4 container stats at a time and never twice at once for one container', async () => {
    let running = 0;
    let maxRunning = 0;
    const perContainer = new Map<string, number>();
    let overlapped = false;
    const releases: (() => void)[] = [];
    const docker: Pick<DockerClient, 'containerStats'> = {
      containerStats: async (id) => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        perContainer.set(id, (perContainer.get(id) ?? 0) + 1);
        if (perContainer.get(id)! > 1) overlapped = true;
        // Held until the test has seen ticks pass, like a daemon answering after 1–2 s.
        await new Promise<void>((r) => releases.push(r));
        perContainer.set(id, perContainer.get(id)! - 1);
        running -= 1;
        return stats(id, 1);
      },
    };
    const ids = Array.from({ length: 10 }, (_, i) => `c${i}`);
    const wait = samplesUntil((s) => s.filter((x) => x.kind === 'process').length >= 5);
    const monitor = startMonitor({
      docker,
      intervalMs: 1,
      samplesPath: join(dir, 'samples.jsonl'),
      processes: () => [{ name: 'controller', pid: 10 }],
      containers: () => ids,
      sampleProcess: scripted({ 10: [1] }),
      onSample: wait.onSample,
    });
    // Process samples keep their rhythm while container stats are out.
    await wait.done;
    expect(running).toBe(4);
    const stopping = monitor.stop();
    // Release requests as they come; the ones queued before stop() are not sent.
    while (releases.length > 0) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    const summary = await stopping;
    expect(maxRunning).toBe(4);
    expect(overlapped).toBe(false);
    // The four answered after stop() began: dropped (stop aborts the requests in flight;
    // this fake ignores the signal and answers anyway).
    expect(summary.containers.sampled).toBe(0);
  });

  it('stop() is idempotent and records an unwritable samples file instead of throwing', async () => {
    const monitor = startMonitor({
      docker: noContainers,
      intervalMs: 5,
      // A directory cannot be opened for appending.
      samplesPath: dir,
      processes: () => [{ name: 'controller', pid: 10 }],
      containers: () => [],
      sampleProcess: scripted({ 10: [1] }),
    });
    const first = await monitor.stop();
    expect(await monitor.stop()).toBe(first);
    expect(first.writeError).toMatch(/cannot open/);
  });

  it('refuses invalid options, naming the option and the value', () => {
    const base: MonitorOptions = {
      docker: noContainers,
      intervalMs: 10,
      samplesPath: join(dir, 's.jsonl'),
      processes: () => [],
      containers: () => [],
    };
    expect(() => startMonitor({ ...base, intervalMs: 0 })).toThrow('Expected `intervalMs` to be an integer ≥ 1 (ms), got `0` (number)');
    expect(() => startMonitor({ ...base, samplesPath: '' })).toThrow(/`samplesPath`/);
    expect(() => startMonitor({ ...base, alerts: { rssGrowthBytes: -1 } })).toThrow(/`alerts.rssGrowthBytes`/);
  });

  it('samples a real process with pidusage by default', async () => {
    const wait = samplesUntil((s) => s.length >= 2);
    const monitor = startMonitor({
      docker: noContainers,
      intervalMs: 5,
      samplesPath: join(dir, 'samples.jsonl'),
      processes: () => [{ name: 'controller', pid: process.pid }],
      containers: () => [],
      onSample: wait.onSample,
    });
    const [first] = await wait.done;
    await monitor.stop();
    expect(first).toMatchObject({ kind: 'process', pid: process.pid });
    expect(first?.kind === 'process' && first.rssBytes).toBeGreaterThan(1024 * 1024);
  });
});

describe('dockerd sockets', () => {
  const noConfig = (): string => {
    throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  };

  it('a dockerd without --host serves the default socket', () => {
    expect(socketsServedBy(['dockerd', '--data-root', '/x'], noConfig)).toEqual(['/var/run/docker.sock']);
  });

  it('reads --host in its spellings, fd:// as the default socket, and skips tcp', () => {
    expect(
      socketsServedBy(['/usr/bin/dockerd', '--host', 'unix:///a.sock', '--host=unix:///b.sock', '-H', 'tcp://0.0.0.0:2375', '-Hunix:///c.sock', '-H=fd://'], noConfig),
    ).toEqual(['/a.sock', '/b.sock', '/c.sock', '/var/run/docker.sock']);
  });

  it("falls back to daemon.json's hosts, from --config-file", () => {
    const read = (path: string): string => {
      expect(path).toBe('/p/daemon.json');
      return JSON.stringify({ hosts: ['unix:///p/docker.sock'] });
    };
    expect(socketsServedBy(['dockerd', '--config-file', '/p/daemon.json'], read)).toEqual(['/p/docker.sock']);
  });

  it('finds no dockerd for a socket nobody serves', () => {
    expect(findDockerdPid(join(dir, 'nobody.sock'))).toBeUndefined();
  });
});
