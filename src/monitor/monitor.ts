/**
 * Resource sampling of a run: processes through pidusage, containers through the Engine
 * API's stats, both every `intervalMs`, into a JSONL file in the run directory.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import PQueue from 'p-queue';
import pidusage from 'pidusage';
import type { DockerClient } from '../docker/index.js';
import type { BacklogSample, ContainerSample, MonitorAlert, MonitorSample, MonitoredProcess, MonitorSummary, ProcessSample } from './types.js';

/** Options of {@link startMonitor}. */
export interface MonitorOptions {
  /** Only `containerStats` is used. */
  readonly docker: Pick<DockerClient, 'containerStats'>;
  /**
   * Time between ticks, ms. Processes are sampled every tick; a container whose previous
   * stats request is still out (the daemon takes 1–2 s to answer one) is left out of a tick.
   */
  readonly intervalMs: number;
  /** The JSONL file samples are appended to, one {@link MonitorSample} per line; created with its directory. */
  readonly samplesPath: string;
  /** The processes to sample, asked again every tick (local workers come and go). */
  readonly processes: () => readonly MonitoredProcess[];
  /** The container ids to sample, asked again every tick: the running attempt containers. */
  readonly containers: () => readonly string[];
  /** The controller's backlogs, read every tick into a `backlog` sample; a throw skips the sample. */
  readonly backlog?: () => Omit<BacklogSample, 'kind' | 'time' | 'tick'>;
  readonly alerts?: {
    /** Alert when a process's RSS exceeds its first sample by more than this many bytes. */
    readonly rssGrowthBytes?: number;
  };
  /** Called for each alert; a throw is ignored (the monitor never fails the run). */
  readonly onAlert?: (alert: MonitorAlert) => void;
  /** Called for each sample written; a throw is ignored. */
  readonly onSample?: (sample: MonitorSample) => void;
  /**
   * The process name whose RSS the summary's `controllerRss` follows.
   * @default 'controller'
   */
  readonly controllerName?: string;
  /**
   * Container stats requests at once.
   * @default 4
   */
  readonly containerConcurrency?: number;
  /**
   * Bound on one container stats request, ms; past it the sample is skipped (a daemon
   * restoring its containers accepts requests without answering).
   * @default max(5000, 2 × intervalMs)
   */
  readonly statsTimeoutMs?: number;
  /**
   * Reads one process. Tests pass a fake; the default is pidusage.
   * @default pidusage: RSS bytes and CPU percent since its previous reading of the pid
   */
  readonly sampleProcess?: (pid: number) => Promise<{ rssBytes: number; cpuPercent: number; time?: string }>;
}

/** A running monitor. */
export interface Monitor {
  /**
   * Ends the timer, aborts the container stats requests still out (their samples are
   * dropped, not counted as skipped), waits for the process samples being taken, closes
   * the samples file and returns the summary. Idempotent: later calls return the same
   * summary.
   *
   * Why abort: the daemon takes 1–2 s to answer one stats request, and a run's end waited
   * for them — 1.27 s of a 12-task run's end in bench/ (issue 7, attempts/s at c=8).
   */
  stop(): Promise<MonitorSummary>;
}

function describe(value: unknown): string {
  return `\`${typeof value === 'string' ? value : String(value)}\` (${typeof value})`;
}

/**
 * pidusage keeps `/proc/<pid>/stat` open between readings (for CPU deltas) until the pid's
 * history expires — 60 to 90 s after the last reading by default. Every run samples its
 * reaper, a new pid each run, so a process running many runs (a soak, a test suite) held
 * one more fd per run for that long (the soak's fd growth found it). A `maxage` of a few
 * sampling intervals keeps the CPU deltas and lets a gone pid's fd close within seconds.
 */
export function pidusageMaxAgeMs(intervalMs: number): number {
  return Math.max(5000, 3 * intervalMs);
}

async function pidusageSample(pid: number, maxage: number): Promise<{ rssBytes: number; cpuPercent: number; time: string }> {
  const stat = await pidusage(pid, { maxage });
  return { rssBytes: stat.memory, cpuPercent: stat.cpu, time: new Date(stat.timestamp).toISOString() };
}

/**
 * Starts sampling at once (the first tick is the baseline for RSS growth), then every
 * `intervalMs`. A sample that fails — the process exited, the container is gone or not
 * running, the daemon does not answer — is counted in `skipped` and never thrown; so is
 * an error writing the samples file (kept in `writeError`). The timer is unref'd: a
 * monitor never keeps the process alive.
 *
 * @throws {TypeError} at once for an invalid option, naming it and the value.
 */
export function startMonitor(options: MonitorOptions): Monitor {
  const { docker, intervalMs, samplesPath } = options;
  if (!Number.isInteger(intervalMs) || intervalMs < 1) {
    throw new TypeError(`Expected \`intervalMs\` to be an integer ≥ 1 (ms), got ${describe(intervalMs)}`);
  }
  if (typeof samplesPath !== 'string' || samplesPath === '') {
    throw new TypeError(`Expected \`samplesPath\` to be a file path, got ${describe(samplesPath)}`);
  }
  const rssGrowthBytes = options.alerts?.rssGrowthBytes;
  if (rssGrowthBytes !== undefined && !(Number.isFinite(rssGrowthBytes) && rssGrowthBytes >= 0)) {
    throw new TypeError(`Expected \`alerts.rssGrowthBytes\` to be a number of bytes ≥ 0, got ${describe(rssGrowthBytes)}`);
  }
  const concurrency = options.containerConcurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new TypeError(`Expected \`containerConcurrency\` to be an integer ≥ 1, got ${describe(concurrency)}`);
  }
  const statsTimeoutMs = options.statsTimeoutMs ?? Math.max(5000, 2 * intervalMs);
  const controllerName = options.controllerName ?? 'controller';
  const maxage = pidusageMaxAgeMs(intervalMs);
  const sampleProcess = options.sampleProcess ?? ((pid: number) => pidusageSample(pid, maxage));

  // What the summary needs, kept as samples arrive.
  let samples = 0;
  let skipped = 0;
  let alerts = 0;
  let writeError: string | undefined;
  const peaks = new Map<string, { rssBytes: number; cpuPercent: number }>();
  const firstRss = new Map<string, number>();
  const alerted = new Set<string>();
  let controllerFirst: number | undefined;
  let controllerLast = 0;
  let peakMemoryBytes = 0;
  let peakCpuPercent = 0;
  let peakTotalMemoryBytes = 0;
  const sampledContainers = new Set<string>();
  const tickTotals = new Map<number, number>();

  // The file: opened once, appended to in order through one promise chain, so lines of
  // concurrent samples never interleave.
  let file: FileHandle | undefined;
  let writes: Promise<void> = mkdir(dirname(samplesPath), { recursive: true })
    .then(() => open(samplesPath, 'a'))
    .then((handle) => {
      file = handle;
    })
    .catch((error: unknown) => {
      writeError ??= `cannot open ${samplesPath}: ${error instanceof Error ? error.message : String(error)}`;
    });
  const append = (lines: string): void => {
    writes = writes.then(async () => {
      if (!file) return;
      try {
        await file.appendFile(lines);
      } catch (error) {
        writeError ??= `cannot write ${samplesPath}: ${error instanceof Error ? error.message : String(error)}`;
      }
    });
  };

  const record = (sample: MonitorSample): void => {
    samples += 1;
    append(`${JSON.stringify(sample)}\n`);
    try {
      options.onSample?.(sample);
    } catch {
      // A listener's failure is not the monitor's.
    }
  };

  const noteProcess = (sample: ProcessSample): void => {
    const peak = peaks.get(sample.name) ?? { rssBytes: 0, cpuPercent: 0 };
    peak.rssBytes = Math.max(peak.rssBytes, sample.rssBytes);
    peak.cpuPercent = Math.max(peak.cpuPercent, sample.cpuPercent);
    peaks.set(sample.name, peak);
    if (sample.name === controllerName) {
      controllerFirst ??= sample.rssBytes;
      controllerLast = sample.rssBytes;
    }
    // Growth is measured per pid: a local worker restarted under the same name is a new
    // process with its own baseline.
    const key = `${sample.name}\0${sample.pid}`;
    const first = firstRss.get(key);
    if (first === undefined) {
      firstRss.set(key, sample.rssBytes);
      return;
    }
    const growthBytes = sample.rssBytes - first;
    if (rssGrowthBytes !== undefined && growthBytes > rssGrowthBytes && !alerted.has(key)) {
      alerted.add(key);
      alerts += 1;
      try {
        options.onAlert?.({
          kind: 'rss-growth',
          time: sample.time,
          name: sample.name,
          pid: sample.pid,
          firstBytes: first,
          rssBytes: sample.rssBytes,
          growthBytes,
          limitBytes: rssGrowthBytes,
        });
      } catch {
        // as for onSample
      }
    }
  };

  const noteContainer = (sample: ContainerSample): void => {
    peakMemoryBytes = Math.max(peakMemoryBytes, sample.memoryBytes);
    peakCpuPercent = Math.max(peakCpuPercent, sample.cpuPercent);
    sampledContainers.add(sample.containerId);
    const total = (tickTotals.get(sample.tick) ?? 0) + sample.memoryBytes;
    tickTotals.set(sample.tick, total);
    peakTotalMemoryBytes = Math.max(peakTotalMemoryBytes, total);
    // Stats answers arrive at most a few ticks late; older totals can no longer grow.
    for (const t of tickTotals.keys()) if (t < sample.tick - 16) tickTotals.delete(t);
  };

  let stopped = false;
  /** Aborted by stop(): cancels the stats requests in flight. */
  const stopping = new AbortController();
  const queue = new PQueue({ concurrency });
  /** Containers with a stats request out: not asked again until it settles. */
  const inFlight = new Set<string>();

  const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };

  const sampleContainer = async (id: string, tick: number): Promise<void> => {
    if (stopped) return; // queued before stop(): not worth a 1–2 s request any more
    try {
      const stats = await withTimeout(docker.containerStats(id, { signal: stopping.signal }), statsTimeoutMs);
      if (stopped) return; // answered as stop() began: dropped with the aborted ones
      const sample: ContainerSample = {
        kind: 'container',
        time: stats.time,
        tick,
        containerId: id,
        memoryBytes: stats.memoryBytes,
        memoryLimitBytes: stats.memoryLimitBytes,
        cpuPercent: stats.cpuPercent,
        pids: stats.pids,
      };
      noteContainer(sample);
      record(sample);
    } catch {
      // Gone (404), not running, or the daemon is away: a gap in the series, not an error.
      // Aborted by stop(): not a gap, the series simply ends.
      if (!stopped) skipped += 1;
    } finally {
      inFlight.delete(id);
    }
  };

  const tick = async (n: number): Promise<void> => {
    let processes: readonly MonitoredProcess[] = [];
    let containers: readonly string[] = [];
    try {
      processes = options.processes();
    } catch {
      skipped += 1;
    }
    try {
      containers = options.containers();
    } catch {
      skipped += 1;
    }
    // Container stats run beside the ticks, not inside them: one request takes longer
    // than a typical interval, and process samples should keep their rhythm.
    for (const id of new Set(containers)) {
      if (inFlight.has(id)) continue;
      inFlight.add(id);
      void queue.add(() => sampleContainer(id, n));
    }
    if (options.backlog) {
      try {
        const b = options.backlog();
        record({ kind: 'backlog', time: new Date().toISOString(), tick: n, events: b.events, queuedTasks: b.queuedTasks, lockWaiting: b.lockWaiting });
      } catch {
        skipped += 1;
      }
    }
    const results = await Promise.allSettled(processes.map((p) => sampleProcess(p.pid)));
    results.forEach((result, i) => {
      const p = processes[i]!;
      if (result.status === 'rejected') {
        skipped += 1; // the process exited: pidusage fails with ENOENT / "No matching pid found"
        return;
      }
      const sample: ProcessSample = {
        kind: 'process',
        time: result.value.time ?? new Date().toISOString(),
        tick: n,
        name: p.name,
        pid: p.pid,
        rssBytes: result.value.rssBytes,
        cpuPercent: result.value.cpuPercent,
      };
      noteProcess(sample);
      record(sample);
    });
  };

  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let ticks = 0;
  const loop = (): void => {
    if (stopped) return;
    const startedAt = Date.now();
    current = tick(ticks++).finally(() => {
      current = undefined;
      if (stopped) return;
      // Fixed rate: the next tick is due intervalMs after this one began, at once if late.
      timer = setTimeout(loop, Math.max(0, intervalMs - (Date.now() - startedAt)));
      timer.unref();
    });
  };
  // The first tick runs after startMonitor returns, so callbacks never run inside it.
  timer = setTimeout(loop, 0);
  timer.unref();

  let summary: Promise<MonitorSummary> | undefined;
  const stop = (): Promise<MonitorSummary> => {
    summary ??= (async () => {
      stopped = true;
      clearTimeout(timer);
      stopping.abort(new Error('monitor stopped'));
      await current;
      await queue.onIdle();
      await writes;
      await file?.close().catch(() => undefined);
      return {
        samples,
        skipped,
        peaks: [...peaks].map(([name, p]) => ({ name, rssBytes: p.rssBytes, cpuPercent: p.cpuPercent })),
        containers: { peakMemoryBytes, peakCpuPercent, peakTotalMemoryBytes, sampled: sampledContainers.size },
        controllerRss: {
          firstBytes: controllerFirst ?? 0,
          lastBytes: controllerLast,
          growthBytes: controllerFirst === undefined ? 0 : controllerLast - controllerFirst,
        },
        alerts,
        ...(writeError !== undefined ? { writeError } : {}),
      };
    })();
    return summary;
  };
  return { stop };
}
