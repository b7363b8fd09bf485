/**
 * One-shot container resource figures from the Engine API's stats endpoint
 * (`GET /containers/{id}/stats?stream=false`,
 * https://docs.docker.com/engine/api/v1.41/#operation/ContainerStats), turned into the
 * few numbers keelhaul records. Pure parsing: the request itself is
 * {@link DockerClient.containerStats} in client.ts.
 */
import { DockerError } from './errors.js';

/** One resource sample of one container. */
export interface ContainerStatsSample {
  /** The container the sample is of (full id as given to the call). */
  readonly containerId: string;
  /** When the daemon read the cgroup, ISO 8601 (the stats body's `read`). */
  readonly time: string;
  /**
   * Memory in use, bytes, without reclaimable page cache: `memory_stats.usage` minus
   * `stats.total_inactive_file` (cgroup v1) or `stats.inactive_file` (cgroup v2), which is
   * what `docker stats` shows and what the Engine API doc prescribes since v1.44; on a
   * daemon that reports neither, minus `stats.cache` (the v1.41 doc's formula).
   */
  readonly memoryBytes: number;
  /** `memory_stats.limit`, bytes: the container's memory limit, or the host's memory when unlimited. */
  readonly memoryLimitBytes: number;
  /**
   * CPU use over the daemon's last collection interval (about 1 s), percent of one CPU
   * (so up to 100 × online CPUs): (Δ `cpu_usage.total_usage` / Δ `system_cpu_usage`) ×
   * online CPUs × 100, from `cpu_stats` against `precpu_stats`, as `docker stats`
   * computes it. 0 when the daemon had no previous reading.
   */
  readonly cpuPercent: number;
  /** `pids_stats.current`: processes and threads in the container's cgroup. */
  readonly pids: number;
}

/**
 * The daemon answered the stats request but had nothing to measure: the container exists
 * and is not running (created, exited, dead). A monitor skips such a sample.
 */
export class ContainerNotRunningError extends DockerError {
  override name = 'ContainerNotRunningError';
  override readonly containerId: string;
  constructor(containerId: string) {
    super(`container ${containerId} is not running: the daemon has no stats for it`, { operation: 'container stats', resource: `container ${containerId}`, containerId });
    this.containerId = containerId;
  }
}

/** The parts of the stats body ({@link parseContainerStats}'s input) that keelhaul reads. */
export interface RawContainerStats {
  read?: string;
  pids_stats?: { current?: number };
  cpu_stats?: RawCpuStats;
  precpu_stats?: RawCpuStats;
  memory_stats?: {
    usage?: number;
    limit?: number;
    stats?: Record<string, number | undefined>;
  };
}

interface RawCpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/**
 * Turns a stats body into a {@link ContainerStatsSample}.
 *
 * @throws {ContainerNotRunningError} when the body is the daemon's "no sample" answer for
 *   a container that is not running: `read` is Go's zero time (`0001-01-01T00:00:00Z`)
 *   and `memory_stats` is empty.
 */
export function parseContainerStats(containerId: string, raw: RawContainerStats): ContainerStatsSample {
  const read = raw.read ?? '';
  if (!read || read.startsWith('0001-01-01') || raw.memory_stats?.usage === undefined) {
    throw new ContainerNotRunningError(containerId);
  }
  const memory = raw.memory_stats;
  const usage = memory.usage ?? 0;
  const s = memory.stats ?? {};
  // Same order of preference as the docker CLI (cli/command/container/stats_helpers.go,
  // calculateMemUsageUnixNoCache): v1's hierarchical total, then v2's, then the old cache.
  const reclaimable = s['total_inactive_file'] ?? s['inactive_file'] ?? s['cache'] ?? 0;
  const memoryBytes = reclaimable < usage ? usage - reclaimable : usage;

  const cpu = raw.cpu_stats;
  const pre = raw.precpu_stats;
  const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
  // online_cpus appeared in API 1.27; older daemons only give the per-CPU array.
  const onlineCpus = cpu?.online_cpus || cpu?.cpu_usage?.percpu_usage?.length || 1;
  // A missing precpu reading (first frame, one-shot) has system_cpu_usage 0: the delta is
  // then the whole uptime and meaningless, hence the `pre` guard.
  const cpuPercent = pre?.system_cpu_usage && systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * onlineCpus * 100 : 0;

  return {
    containerId,
    time: read,
    memoryBytes,
    memoryLimitBytes: memory.limit ?? 0,
    cpuPercent,
    pids: raw.pids_stats?.current ?? 0,
  };
}
