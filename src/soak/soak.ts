import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pidusage from 'pidusage';
import { findRunResources, runScenario, type LeakReport } from '../controller/index.js';
import { ANY_VALUE, Label, type DockerClient } from '../docker/index.js';
import { DEFAULT_DOCKER_SOCKET, findDockerdPid } from '../monitor/index.js';
import type { Scenario } from '../scenario/index.js';
import { judgeGrowth, type GrowthVerdict } from './growth.js';
import { writeSoakReports } from './soak-report.js';
import type { SoakBounds, SoakIteration, SoakReport, SoakSample } from './types.js';

const MiB = 1024 * 1024;

/** The defaults of {@link SoakBounds}. */
export const DEFAULT_SOAK_BOUNDS: SoakBounds = { controllerRssBytes: 64 * MiB, openFds: 10, dockerdRssBytes: 256 * MiB };

/** Options of {@link runSoak}. */
export interface SoakOptions {
  readonly scenario: Scenario;
  /** The scenario's file, recorded with each run. */
  readonly scenarioFile?: string;
  readonly docker: DockerClient;
  /**
   * How long to keep starting iterations, ms. No iteration starts past it; the one in
   * flight finishes (bounded by the scenario's own `timeoutMs`).
   */
  readonly durationMs: number;
  /** Stop after this many iterations even when time remains (a fixed-size soak). @default no limit */
  readonly maxIterations?: number;
  /** Where soak.json, soak.md and the runs (`runs/`) go. Created if missing. */
  readonly outputDir: string;
  /** Seed of the first iteration; iteration n runs with seed + n − 1 (mod 2³²). @default the scenario's seed, else 0 */
  readonly seed?: number;
  /** Growth bounds; missing fields take {@link DEFAULT_SOAK_BOUNDS}. */
  readonly bounds?: Partial<SoakBounds>;
  /** Iterations whose samples are not judged (warm-up). @default 2 */
  readonly warmup?: number;
  /** Judged samples needed to judge growth at all. @default 6 */
  readonly minSamples?: number;
  /** Start a reaper per run, as `keelhaul run` does. @default the scenario's `reaper.enabled` */
  readonly reaper?: boolean;
  /** Stops the soak: the run in flight is aborted (its resources removed), the reports are written. */
  readonly signal?: AbortSignal;
  /** Called after each iteration, with everything so far. */
  readonly onIteration?: (iteration: SoakIteration, report: SoakReport) => void;
  /** The daemon's socket, to find dockerd's pid. @default the client's endpoint when it is a socket, else /var/run/docker.sock */
  readonly daemonSocket?: string;
}

function countFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0; // no /proc (not Linux): fds are not sampled
  }
}

/** Labelled resources of a set of run ids (stopped containers included). */
async function resourcesOf(docker: DockerClient, runIds: Iterable<string>): Promise<number> {
  let total = 0;
  for (const id of runIds) {
    const r = await findRunResources(docker, id);
    total += r.containers.length + r.networks.length + r.volumes.length;
  }
  return total;
}

async function labelledResources(docker: DockerClient): Promise<number> {
  const labels = { [Label.run]: ANY_VALUE };
  const [c, n, v] = await Promise.all([docker.listContainers({ labels, all: true }), docker.listNetworks({ labels }), docker.listVolumes({ labels })]);
  return c.length + n.length + v.length;
}

const leakCount = (r: LeakReport): number => r.containers.length + r.networks.length + r.volumes.length;

/**
 * Soaks a scenario: runs it again and again (seed, seed + 1, …) for `durationMs`, and
 * between iterations samples this process's RSS and open fds, dockerd's RSS and the
 * labelled resources. Fails on any failed iteration, any resource an iteration left
 * behind, and growth past a bound (late-window median minus early-window median, after
 * the warm-up). soak.json and soak.md are rewritten atomically after each iteration, so a
 * killed soak still leaves its samples.
 *
 * @returns the final report: status `passed`, `failed` or `interrupted` (the signal)
 * @throws {ScenarioError}, {ImageNotFoundError}, {DaemonUnavailableError},
 *   {FaultSupportError} when the first iteration cannot start (nothing was created)
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { scenario, docker } = options;
  const bounds: SoakBounds = { ...DEFAULT_SOAK_BOUNDS, ...options.bounds };
  const warmup = options.warmup ?? 2;
  const minSamples = options.minSamples ?? 6;
  const outputDir = resolve(options.outputDir);
  const runsDir = join(outputDir, 'runs');
  await mkdir(runsDir, { recursive: true });
  const socket =
    options.daemonSocket ??
    (docker.endpoint.startsWith('/') ? docker.endpoint : docker.endpoint.startsWith('unix://') ? docker.endpoint.slice('unix://'.length) : DEFAULT_DOCKER_SOCKET);
  const dockerdPid = findDockerdPid(socket) ?? null;
  const baseSeed = options.seed ?? scenario.seed ?? 0;
  const runIds: string[] = [];

  const sample = async (): Promise<SoakSample> => {
    const memory = process.memoryUsage();
    let dockerdRssBytes: number | null = null;
    // The monitor's maxage (5 s at its default interval): pidusage's history, and the
    // /proc/<pid>/stat fd it keeps, expire on one schedule for the whole process.
    if (dockerdPid !== null)
      dockerdRssBytes = await pidusage(dockerdPid, { maxage: 5000 }).then(
        (s) => s.memory,
        () => null,
      );
    return {
      ts: new Date().toISOString(),
      controllerRssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      openFds: countFds(),
      dockerdRssBytes,
      soakResources: await resourcesOf(docker, runIds),
      labelledResources: await labelledResources(docker),
    };
  };

  const startedAtMs = Date.now();
  const startedAt = new Date(startedAtMs).toISOString();
  const baseline = await sample();
  const iterations: SoakIteration[] = [];

  const build = (phase: 'running' | 'interrupted' | 'finished'): SoakReport =>
    summarizeSoak({
      scenario: scenario.name,
      scenarioFile: options.scenarioFile ?? null,
      startedAt,
      durationMs: options.durationMs,
      elapsedMs: Date.now() - startedAtMs,
      phase,
      bounds,
      warmup,
      minSamples,
      dockerdPid,
      baseline,
      iterations,
    });

  const maxIterations = options.maxIterations ?? Number.POSITIVE_INFINITY;
  for (let index = 1; index <= maxIterations && Date.now() - startedAtMs < options.durationMs && !options.signal?.aborted; index++) {
    const seed = (baseSeed + index - 1) >>> 0;
    const started = Date.now();
    let runId: string | undefined;
    const result = await runScenario({
      scenario,
      docker,
      runsDir,
      seed,
      ...(options.scenarioFile ? { scenarioFile: options.scenarioFile } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.reaper !== undefined ? { reaper: options.reaper } : {}),
      onEvent: (event) => {
        if (runId === undefined) {
          runId = event.run;
          runIds.push(runId);
        }
      },
    });
    if (runId === undefined) runIds.push(result.report.runId);
    const leaked = await findRunResources(docker, result.report.runId);
    const report = result.report;
    const iteration: SoakIteration = {
      index,
      runId: report.runId,
      seed,
      status: options.signal?.aborted ? 'interrupted' : report.status === 'passed' ? 'passed' : 'failed',
      durationMs: Date.now() - started,
      failedChecks: report.checks.filter((c) => !c.ok).map((c) => c.name),
      ...(report.error ? { error: report.error } : {}),
      leaked,
      sample: await sample(),
    };
    iterations.push(iteration);
    const soFar = build('running');
    await writeSoakReports(outputDir, soFar);
    options.onIteration?.(iteration, soFar);
  }

  const final = build(options.signal?.aborted ? 'interrupted' : 'finished');
  await writeSoakReports(outputDir, final);
  return final;
}

/** What {@link summarizeSoak} judges: the soak's facts so far. */
export interface SoakFacts {
  readonly scenario: string;
  readonly scenarioFile: string | null;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly elapsedMs: number;
  /** `running`: a progress snapshot; `interrupted`: stopped by the signal; `finished`: judged. */
  readonly phase: 'running' | 'interrupted' | 'finished';
  readonly bounds: SoakBounds;
  readonly warmup: number;
  readonly minSamples: number;
  readonly dockerdPid: number | null;
  readonly baseline: SoakSample;
  readonly iterations: readonly SoakIteration[];
}

/**
 * The soak's verdict over its iterations: a failure line for each failed iteration, each
 * iteration that left a resource behind, resources of the soak's runs still on the daemon
 * at the last sample, and each metric whose growth (window medians, {@link judgeGrowth})
 * passed its bound, and a finished soak with no iteration at all. Status: the phase while running or interrupted, else `failed` when
 * there is any failure line, `passed` otherwise. A pure function, for tests.
 */
export function summarizeSoak(facts: SoakFacts): SoakReport {
  const { iterations, bounds, warmup, minSamples, dockerdPid } = facts;
  const failures: string[] = [];
  // A soak that ran nothing proved nothing (`--duration 5` is 5 ms): it must not pass.
  if (facts.phase === 'finished' && iterations.length === 0) {
    failures.push(`no iteration ran in the ${facts.durationMs} ms asked for: give --duration a unit (30m, 2m, 90s) or --iterations N`);
  }
  for (const it of iterations) {
    if (it.status === 'failed') failures.push(`iteration ${it.index} (run ${it.runId}, seed ${it.seed}) failed: ${it.error ?? `checks ${it.failedChecks.join(', ')}`}`);
    if (leakCount(it.leaked) > 0) {
      failures.push(
        `iteration ${it.index} (run ${it.runId}) left ${it.leaked.containers.length} container(s), ${it.leaked.networks.length} network(s), ${it.leaked.volumes.length} volume(s) labelled ${Label.run}=${it.runId}`,
      );
    }
  }
  const judge = (values: number[], bound: number): GrowthVerdict => judgeGrowth(values, { bound, warmup, minSamples });
  const rss = judge(
    iterations.map((i) => i.sample.controllerRssBytes),
    bounds.controllerRssBytes,
  );
  const fds = judge(
    iterations.map((i) => i.sample.openFds),
    bounds.openFds,
  );
  const dockerd =
    dockerdPid === null
      ? null
      : judge(
          iterations.flatMap((i) => (i.sample.dockerdRssBytes === null ? [] : [i.sample.dockerdRssBytes])),
          bounds.dockerdRssBytes,
        );
  const mib = (b: number): string => `${(b / MiB).toFixed(1)} MiB`;
  if (!rss.ok)
    failures.push(`controller RSS grew ${mib(rss.growth!)} (median ${mib(rss.earlyMedian!)} → ${mib(rss.lateMedian!)}), past the bound of ${mib(bounds.controllerRssBytes)}`);
  if (!fds.ok) failures.push(`open file descriptors grew by ${fds.growth} (median ${fds.earlyMedian} → ${fds.lateMedian}), past the bound of ${bounds.openFds}`);
  if (dockerd && !dockerd.ok)
    failures.push(`dockerd RSS grew ${mib(dockerd.growth!)} (median ${mib(dockerd.earlyMedian!)} → ${mib(dockerd.lateMedian!)}), past the bound of ${mib(bounds.dockerdRssBytes)}`);
  const last = iterations.at(-1);
  if (last && last.sample.soakResources > 0)
    failures.push(`${last.sample.soakResources} resource(s) labelled with this soak's run ids are on the daemon after iteration ${last.index}`);
  return {
    scenario: facts.scenario,
    scenarioFile: facts.scenarioFile,
    startedAt: facts.startedAt,
    endedAt: facts.phase === 'running' ? null : new Date().toISOString(),
    durationMs: facts.durationMs,
    elapsedMs: facts.elapsedMs,
    status: facts.phase !== 'finished' ? facts.phase : failures.length > 0 ? 'failed' : 'passed',
    failures,
    bounds,
    warmup,
    dockerdPid,
    growth: { controllerRssBytes: rss, openFds: fds, dockerdRssBytes: dockerd },
    baseline: facts.baseline,
    iterations,
  };
}
