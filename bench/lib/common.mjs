// Shared helpers of the benchmarks: clocks, statistics, the raw dockerode baseline's
// container spec (the same hardening keelhaul's DockerBackend applies), label keys.
import Dockerode from 'dockerode';
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** The run label every container, volume and network of the benchmark carries. */
export const RUN_LABEL = 'dev.keelhaul.run';
/** keelhaul's runs label their resources with their own run id; the scenario name is the bench id. */
export const SCENARIO_LABEL = 'dev.keelhaul.scenario';
export const ROLE_LABEL = 'dev.keelhaul.role';

/** Wall-clock milliseconds with sub-ms resolution (comparable with the daemon's `timeNano`). */
export function wallNow() {
  return performance.timeOrigin + performance.now();
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Median (mean of the two middle values for an even count), min, max, p99 of raw samples. */
export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n === 0 ? Number.NaN : n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return {
    n,
    median: round(median),
    min: round(sorted[0]),
    max: round(sorted[n - 1]),
    p99: round(percentile(sorted, 99)),
    samples: samples.map((x) => round(x)),
  };
}

export function round(x, digits = 2) {
  if (x === undefined || Number.isNaN(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * A dockerode client pinned to the API version keelhaul negotiates (min(daemon, 1.45)), so
 * both sides speak the same API over the same socket.
 */
export async function connectRaw() {
  const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const socketPath = host.startsWith('unix://') ? host.slice('unix://'.length) : host;
  const docker = new Dockerode({ socketPath });
  const v = await docker.version();
  const [maj, min] = v.ApiVersion.split('.').map(Number);
  docker.modem.version = maj === 1 && min < 45 ? `v${v.ApiVersion}` : 'v1.45';
  return { docker, version: v };
}

export const MEMORY_BYTES = 256 * 1024 ** 2;
export const TMPFS_BYTES = 64 * 1024 ** 2;

/** The task JSON keelhaul's controller hands a worker (AttemptTask). */
export function workerTask(id, steps, heartbeatMs = 1000) {
  return { id, steps, heartbeatMs };
}

/** The worker contract's environment (docs/worker-contract.md). */
export function workerEnv({ runId, taskId, attempt = 1, seed = 1, task }) {
  return [
    `KEELHAUL_RUN_ID=${runId}`,
    `KEELHAUL_TASK_ID=${taskId}`,
    `KEELHAUL_ATTEMPT=${attempt}`,
    `KEELHAUL_SEED=${seed}`,
    `KEELHAUL_TASK=${JSON.stringify(task)}`,
    'KEELHAUL_WORKSPACE=/workspace',
  ];
}

/**
 * `POST /containers/create` body with the hardening keelhaul's DockerBackend applies
 * (src/backends/docker-backend.ts): uid 1000, CapDrop ALL, no-new-privileges, read-only
 * root, memory (= swap) and pids limits, network none, a /tmp tmpfs and, when `volume` is
 * given, that volume at /workspace.
 */
export function hardenedCreateOptions({ name, image, labels, env, volume }) {
  const mounts = [];
  if (volume) mounts.push({ Type: 'volume', Source: volume, Target: '/workspace', ReadOnly: false });
  mounts.push({ Type: 'tmpfs', Source: '', Target: '/tmp', TmpfsOptions: { SizeBytes: TMPFS_BYTES, Mode: 0o1777 } });
  return {
    name,
    Image: image,
    Labels: labels,
    Env: env,
    User: '1000:1000',
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    OpenStdin: false,
    NetworkDisabled: false,
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: MEMORY_BYTES,
      MemorySwap: MEMORY_BYTES,
      PidsLimit: 128,
      Mounts: mounts,
    },
  };
}

/** Swallows "no such container/volume" (404) and "removal already in progress" (409). */
export async function ignoreGone(promise) {
  try {
    return await promise;
  } catch (error) {
    if (error?.statusCode === 404 || error?.statusCode === 409) return undefined;
    throw error;
  }
}

/** A keelhaul scenario object (validated by the caller with validateScenario). */
export function scenarioInput({ name, count, steps, concurrency, maxAttempts = 1, heartbeatMs = 1000, expect = {} }) {
  return {
    name,
    description: 'keelhaul benchmark (bench/)',
    seed: 1,
    image: 'keelhaul/worker:{version}',
    network: 'none',
    concurrency,
    heartbeatMs,
    retry: { maxAttempts, backoffMs: 0 },
    reaper: { enabled: false, ttlMs: 60_000 },
    tasks: { count, steps },
    expect,
  };
}
