import { join, resolve } from 'node:path';
import { createRunId } from '../controller/index.js';
import { connectDocker } from '../docker/index.js';
import { byteSize, duration, loadScenarioFile } from '../scenario/index.js';
import { DEFAULT_SOAK_BOUNDS, runSoak, type SoakIteration, type SoakReport } from '../soak/index.js';
import { UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './render.js';
import { parseSeed } from './run-command.js';

/** Flags of `keelhaul soak`, as typed (validated here). */
export interface SoakCommandOptions {
  readonly scenarioPath: string;
  /** `--json`: a JSON line per iteration (`{ iteration }`), then the report (`{ soak }`, soak.json's shape) as the last line; nothing else on stdout. */
  readonly json?: boolean;
  /** `--duration`: a duration such as `30m`, `2m`, `90s`. */
  readonly duration: string;
  readonly seed?: string;
  /** `--output`: the soak's directory. @default `.keelhaul/soaks/<soak-id>` */
  readonly output?: string;
  /** `--max-rss-growth`: a size (`64m`). */
  readonly maxRssGrowth?: string;
  /** `--max-fd-growth`: an integer. */
  readonly maxFdGrowth?: string;
  /** `--max-dockerd-rss-growth`: a size. */
  readonly maxDockerdRssGrowth?: string;
  /** `--iterations`: an integer ≥ 1, a cap on the number of iterations. */
  readonly iterations?: string;
  /** `--warmup`: an integer ≥ 0. */
  readonly warmup?: string;
  /** `false` (`--no-reaper`) starts no reaper per run. */
  readonly reaper?: boolean;
  readonly signal?: AbortSignal;
}

const MiB = 1024 * 1024;

/** The help text's explanation of the defaults (kept beside the parser that applies them). */
export const SOAK_HELP = `
How it judges: between iterations it samples this process's RSS and open file descriptors
(/proc/self/fd), dockerd's RSS (pidusage of the daemon's pid) and, by label query, what each
run left. Growth is the median of the last third of the samples minus the median of the
first third, after the warm-up iterations — robust to GC noise, unlike first-vs-last.
Fewer than 6 samples after the warm-up: growth is not judged (a leak still fails).

Defaults, several times the noise a healthy soak of chaos/smoke.yaml shows (docs/reliability.md):
  --max-rss-growth          ${DEFAULT_SOAK_BOUNDS.controllerRssBytes / MiB}m   controller RSS moves 10-30 MiB with GC timing
  --max-fd-growth           ${DEFAULT_SOAK_BOUNDS.openFds}     a few sockets come and go; a leaked fd per run exceeds it
  --max-dockerd-rss-growth  ${DEFAULT_SOAK_BOUNDS.dockerdRssBytes / MiB}m  dockerd caches as containers churn; on a shared daemon others' work shows too
  --warmup                  2      module loading, JIT and the first image use settle in the first runs

It fails (exit 1) on any iteration that failed, any resource an iteration left behind, or
growth past a bound. No iteration starts after --duration (or after --iterations of them);
the one in flight finishes (it is bounded by the scenario's timeoutMs). SIGINT/SIGTERM abort the run in flight (its
resources are removed), write the reports and exit 130.

Writes <output>/soak.json and soak.md after every iteration, and the runs under <output>/runs.

Exit codes:
  0    every iteration passed, nothing leaked, growth within the bounds
  1    an iteration failed, a resource leaked, or growth went past a bound
  2    bad input (scenario, flags, image, daemon); nothing was started
  130  interrupted`;

function parseSize(flag: string, text: string): number {
  const parsed = byteSize.safeParse(/^\d+$/.test(text) ? Number(text) : text);
  if (!parsed.success) throw new UsageError(flag, `Expected \`${flag}\` to be a size such as 64m, 512k or 1g (bytes without a unit), got \`${text}\``);
  return parsed.data;
}

function parseCount(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new UsageError(flag, `Expected \`${flag}\` to be a whole number ≥ 0, got \`${text}\``);
  return value;
}

function parseDuration(text: string): number {
  const parsed = duration.safeParse(/^\d+$/.test(text) ? Number(text) : text);
  if (!parsed.success || parsed.data <= 0)
    throw new UsageError('--duration', `Expected \`--duration\` to be a duration such as 30m, 2m, 90s or 1h (ms without a unit), greater than 0, got \`${text}\``);
  return parsed.data;
}

const mib = (b: number | null): string => (b === null ? '–' : `${(b / MiB).toFixed(1)} MiB`);

function formatLeft(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** One progress line per iteration. */
export function renderSoakIteration(it: SoakIteration, report: SoakReport): string {
  const left = it.leaked.containers.length + it.leaked.networks.length + it.leaked.volumes.length;
  return (
    `soak #${it.index} seed ${it.seed} run ${it.runId}: ${it.status}${it.failedChecks.length ? ` (${it.failedChecks.join(', ')})` : ''} in ${(it.durationMs / 1000).toFixed(1)} s` +
    ` | controller rss ${mib(it.sample.controllerRssBytes)}, fds ${it.sample.openFds}, dockerd rss ${mib(it.sample.dockerdRssBytes)}` +
    ` | left by the run ${left}, soak resources ${it.sample.soakResources}` +
    ` | ${formatLeft(report.durationMs - report.elapsedMs)} left`
  );
}

/**
 * `keelhaul soak <scenario> --duration 30m`: loops the scenario, prints a line per
 * iteration, writes soak.json and soak.md, and returns 0 (passed), 1 (an iteration failed,
 * a leak, growth past a bound) or 130 (interrupted). Bad flags and scenarios throw before
 * anything is created (exit 2).
 */
export async function soakCommand(options: SoakCommandOptions, io: CliIo): Promise<ExitCode> {
  const durationMs = parseDuration(options.duration);
  const seed = options.seed !== undefined ? parseSeed(options.seed) : undefined;
  const bounds = {
    ...(options.maxRssGrowth !== undefined ? { controllerRssBytes: parseSize('--max-rss-growth', options.maxRssGrowth) } : {}),
    ...(options.maxFdGrowth !== undefined ? { openFds: parseCount('--max-fd-growth', options.maxFdGrowth) } : {}),
    ...(options.maxDockerdRssGrowth !== undefined ? { dockerdRssBytes: parseSize('--max-dockerd-rss-growth', options.maxDockerdRssGrowth) } : {}),
  };
  const warmup = options.warmup !== undefined ? parseCount('--warmup', options.warmup) : undefined;
  const maxIterations = options.iterations !== undefined ? parseCount('--iterations', options.iterations) : undefined;
  if (maxIterations === 0) throw new UsageError('--iterations', 'Expected `--iterations` to be a whole number ≥ 1, got `0`');
  const scenario = await loadScenarioFile(options.scenarioPath);
  const docker = await connectDocker();
  const outputDir = resolve(options.output ?? join('.keelhaul', 'soaks', createRunId()));
  const say = (line: string): void => (options.json ? io.err(line) : io.out(line));
  say(`soak of ${scenario.name} for ${formatLeft(durationMs)}: output ${outputDir}`);
  const report = await runSoak({
    scenario,
    scenarioFile: resolve(options.scenarioPath),
    docker,
    durationMs,
    outputDir,
    bounds,
    ...(seed !== undefined ? { seed } : {}),
    ...(warmup !== undefined ? { warmup } : {}),
    ...(maxIterations !== undefined ? { maxIterations } : {}),
    ...(options.reaper === false ? { reaper: false } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onIteration: (it, soFar) => (options.json ? io.out(JSON.stringify({ iteration: it })) : io.out(renderSoakIteration(it, soFar))),
  });
  if (options.json) {
    io.out(JSON.stringify({ soak: report }));
    if (report.status === 'interrupted') return ExitCode.interrupted;
    return report.status === 'passed' ? ExitCode.ok : ExitCode.failed;
  }
  const g = report.growth;
  const verdict = (name: string, v: typeof g.openFds | null, fmt: (n: number) => string): string =>
    v === null
      ? `${name} not sampled`
      : !v.judged
        ? `${name} not judged (${v.samples} sample(s))`
        : `${name} ${v.growth! >= 0 ? '+' : ''}${fmt(v.growth!)} (bound ${fmt(v.bound)})`;
  io.out(
    `growth: ${verdict('controller rss', g.controllerRssBytes, (n) => mib(n))}, ${verdict('fds', g.openFds, String)}, ${verdict('dockerd rss', g.dockerdRssBytes, (n) => mib(n))}`,
  );
  for (const failure of report.failures) io.out(`  FAIL ${failure}`);
  io.out(`soak ${report.status.toUpperCase()}: ${report.iterations.length} iteration(s) in ${(report.elapsedMs / 1000).toFixed(0)} s`);
  io.out(`report: ${join(outputDir, 'soak.json')}`);
  if (report.status === 'interrupted') return ExitCode.interrupted;
  return report.status === 'passed' ? ExitCode.ok : ExitCode.failed;
}
