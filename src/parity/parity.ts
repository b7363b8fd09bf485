import { join } from 'node:path';
import { randomSeed } from '../chaos/index.js';
import { assertLocalBackendCan, runScenario, type RunEvent, type RunResult } from '../controller/index.js';
import type { DockerClient } from '../docker/index.js';
import { writeFileAtomic } from '../atomic-file.js';
import type { Scenario } from '../scenario/index.js';
import { compareDigests, digestRun, parityDifferences, type OutcomeDigest, type ParityRow } from './digest.js';

/** Options of {@link runParity}. */
export interface ParityOptions {
  /** A validated scenario; its `backend` is ignored (both run). */
  readonly scenario: Scenario;
  /** The file it came from, for the reports. */
  readonly scenarioFile?: string;
  readonly docker: DockerClient;
  /** Overrides `scenario.seed`; with neither, one seed is drawn and used for both runs. */
  readonly seed?: number;
  /** @default `.keelhaul/runs` */
  readonly runsDir?: string;
  /** Every event of both runs, with the backend that produced it. */
  readonly onEvent?: (event: RunEvent, backend: 'docker' | 'local') => void;
  /** Called as each run starts and ends. */
  readonly onRun?: (phase: 'start' | 'end', backend: 'docker' | 'local', result?: RunResult) => void;
  /** Aborts the run in progress (and skips the other). */
  readonly signal?: AbortSignal;
}

/** What {@link runParity} found; also written as `parity.json` in both run directories. */
export interface ParityResult {
  readonly scenario: string;
  readonly seed: number;
  /** true when every compared value is the same on both backends. */
  readonly ok: boolean;
  readonly docker: OutcomeDigest;
  readonly local: OutcomeDigest;
  /** Every compared value (the comparison table). */
  readonly rows: readonly ParityRow[];
  /** The rows that differ, each naming its task and field. */
  readonly differences: readonly ParityRow[];
  /** `parity.json` and `parity.md` of each run directory. */
  readonly files: readonly string[];
}

/**
 * Runs a scenario on the docker backend and then on the local backend with the same seed
 * (so the same fault plan: the same triggers, targets drawn from the same generators),
 * each run capturing its workspace trees before cleanup, and compares their outcome
 * digests: the run's status, each task's final state and attempts, each attempt's outcome,
 * exit code and event types (heartbeats aside), and each workspace's files and SHA-256s.
 * Writes `parity.json` and `parity.md` into both run directories.
 *
 * @throws {FaultSupportError} before anything runs, naming the field the local backend cannot apply
 * @throws as `runScenario` (image missing, daemon unavailable) before the first run starts
 */
export async function runParity(options: ParityOptions): Promise<ParityResult> {
  const seed = options.seed ?? options.scenario.seed ?? randomSeed();
  const local: Scenario = { ...options.scenario, backend: 'local' };
  // Refused before the docker run, not after it.
  assertLocalBackendCan(local);
  const runOne = async (backend: 'docker' | 'local', scenario: Scenario): Promise<RunResult> => {
    options.signal?.throwIfAborted();
    options.onRun?.('start', backend);
    const result = await runScenario({
      scenario,
      docker: options.docker,
      seed,
      captureWorkspaces: true,
      reaper: false,
      ...(options.scenarioFile !== undefined ? { scenarioFile: options.scenarioFile } : {}),
      ...(options.runsDir !== undefined ? { runsDir: options.runsDir } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onEvent ? { onEvent: (e: RunEvent) => options.onEvent!(e, backend) } : {}),
    });
    options.onRun?.('end', backend, result);
    return result;
  };
  const dockerRun = await runOne('docker', { ...options.scenario, backend: 'docker' });
  const localRun = await runOne('local', local);
  const docker = await digestRun(dockerRun.runDir);
  const localDigest = await digestRun(localRun.runDir);
  const rows = compareDigests(docker, localDigest);
  const differences = parityDifferences(rows);
  const files = [dockerRun.runDir, localRun.runDir].flatMap((dir) => [join(dir, 'parity.json'), join(dir, 'parity.md')]);
  const result: ParityResult = { scenario: options.scenario.name, seed, ok: differences.length === 0, docker, local: localDigest, rows, differences, files };
  for (const dir of [dockerRun.runDir, localRun.runDir]) {
    await writeFileAtomic(join(dir, 'parity.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFileAtomic(join(dir, 'parity.md'), renderParityMarkdown(result));
  }
  return result;
}

/** The parity result as Markdown: a verdict, the two runs, the differences and the whole comparison. */
export function renderParityMarkdown(result: ParityResult): string {
  const esc = (s: string): string => s.replaceAll('|', '\\|');
  const table = (rows: readonly ParityRow[]): string[] => [
    '| task | field | docker | local | |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${esc(r.task ?? '(run)')} | ${esc(r.field)} | ${esc(r.docker)} | ${esc(r.local)} | ${r.same ? '=' : '≠'} |`),
  ];
  const lines = [
    `# Parity of scenario ${result.scenario}, seed ${result.seed}`,
    '',
    result.ok ? '**Parity holds**: every compared value is the same on both backends.' : `**Parity broken**: ${result.differences.length} value(s) differ.`,
    '',
    `- docker run: \`${result.docker.runId}\` (${result.docker.status})`,
    `- local run: \`${result.local.runId}\` (${result.local.status})`,
  ];
  const unavailable = result.docker.filesUnavailable ?? result.local.filesUnavailable;
  if (unavailable) lines.push(`- workspace files not compared: ${unavailable}`);
  if (!result.ok) lines.push('', '## Differences', '', ...table(result.differences));
  lines.push('', '## Comparison', '', ...table(result.rows), '');
  return lines.join('\n');
}
