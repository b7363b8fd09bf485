/**
 * The shapes the monitor produces: one JSON line per {@link MonitorSample} in the run's
 * samples file, {@link MonitorAlert}s for the run's events, a {@link MonitorSummary} for
 * the report.
 */

/** A process to sample: the controller, dockerd, a local worker. */
export interface MonitoredProcess {
  /** Stable name for peaks and alerts, e.g. `controller`, `dockerd`, `worker t-01#2`. */
  readonly name: string;
  readonly pid: number;
}

/** One sample of one process, from pidusage (`/proc/<pid>/stat` on Linux). */
export interface ProcessSample {
  readonly kind: 'process';
  /** ISO 8601, when the sample was read. */
  readonly time: string;
  /** The tick the sample belongs to, 0-based; samples of one tick were taken together. */
  readonly tick: number;
  readonly name: string;
  readonly pid: number;
  /** Resident set size, bytes (pidusage `memory`: rss pages × page size). */
  readonly rssBytes: number;
  /**
   * CPU use since the previous sample of this pid, percent of one CPU (up to 100 × cores;
   * pidusage `cpu`). 0 on a pid's first sample: pidusage has no earlier reading.
   */
  readonly cpuPercent: number;
}

/** One sample of one container, from the Engine API (see `ContainerStatsSample`). */
export interface ContainerSample {
  readonly kind: 'container';
  /** ISO 8601, when the daemon read the cgroup. */
  readonly time: string;
  readonly tick: number;
  readonly containerId: string;
  /** Bytes in use without reclaimable page cache. */
  readonly memoryBytes: number;
  /** Bytes; the host's memory when the container has no limit. */
  readonly memoryLimitBytes: number;
  /** Percent of one CPU over the daemon's last ~1 s collection interval. */
  readonly cpuPercent: number;
  /** Processes and threads in the container. */
  readonly pids: number;
}

/**
 * The controller's backlogs at one tick: work and events waiting, as counts. Written when the
 * monitor is given a `backlog` source; the resource-stability check bounds `events`.
 */
export interface BacklogSample {
  readonly kind: 'backlog';
  /** ISO 8601, when the counts were read. */
  readonly time: string;
  readonly tick: number;
  /** Events emitted but not yet handed to the events.jsonl file stream (winston's `logged`). */
  readonly events: number;
  /** Tasks queued for a concurrency slot (p-queue `size`). */
  readonly queuedTasks: number;
  /** Attempts waiting for their task's locks (src/controller/locks.ts). */
  readonly lockWaiting: number;
}

/** One line of the samples file (JSONL). */
export type MonitorSample = ProcessSample | ContainerSample | BacklogSample;

/**
 * A resource bound crossed. Emitted once per process (name and pid) when its RSS exceeds
 * its first sample by more than `alerts.rssGrowthBytes`.
 */
export interface MonitorAlert {
  readonly kind: 'rss-growth';
  /** ISO 8601 of the sample that crossed the bound. */
  readonly time: string;
  readonly name: string;
  readonly pid: number;
  /** RSS of the process's first sample, bytes. */
  readonly firstBytes: number;
  /** RSS now, bytes. */
  readonly rssBytes: number;
  /** `rssBytes − firstBytes`, bytes. */
  readonly growthBytes: number;
  /** The bound crossed (`alerts.rssGrowthBytes`), bytes. */
  readonly limitBytes: number;
}

/** What a monitor saw over its life, for the run's report. */
export interface MonitorSummary {
  /** Samples written (processes and containers). */
  readonly samples: number;
  /** Samples that failed and were skipped: a process or container gone, a daemon not answering. */
  readonly skipped: number;
  /** Per process name, the highest RSS (bytes) and CPU (percent of one CPU) seen. */
  readonly peaks: readonly { readonly name: string; readonly rssBytes: number; readonly cpuPercent: number }[];
  readonly containers: {
    /** Highest memory of any one container in one sample, bytes. */
    readonly peakMemoryBytes: number;
    /** Highest CPU of any one container in one sample, percent of one CPU. */
    readonly peakCpuPercent: number;
    /** Highest sum of the memory of all containers sampled in one tick, bytes. */
    readonly peakTotalMemoryBytes: number;
    /** Distinct containers sampled at least once. */
    readonly sampled: number;
  };
  /** RSS of the process named `controllerName`, bytes; all 0 when it was never sampled. */
  readonly controllerRss: { readonly firstBytes: number; readonly lastBytes: number; readonly growthBytes: number };
  /** Alerts emitted. */
  readonly alerts: number;
  /** The first error writing the samples file, if any; sampling went on regardless. */
  readonly writeError?: string;
}
