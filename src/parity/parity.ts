import { join } from 'node:path';
import { randomSeed } from '../chaos/index.js';
import { assertLocalBackendCan, runScenario, type RunEvent, type RunResult } from '../controller/index.js';
import type { DockerClient } from '../docker/index.js';
import { writeFileAtomic } from '../atomic-file.js';
import type { Scenario } from '../scenario/index.js';
import { compareDigests, digestRun, parityDifferences, type OutcomeDigest, type ParityRow } from './digest.js';
import { compareSutDigests, digestSutRun, scenarioForMode, sutModes, type SutDigest } from './sut-parity.js';

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
  /** Every event of both runs, with the backend that produced it (for a system under test: its mode). */
  readonly onEvent?: (event: RunEvent, backend: string) => void;
  /** Called as each run starts and ends, with the backend (for a system under test: its mode). */
  readonly onRun?: (phase: 'start' | 'end', backend: string, result?: RunResult) => void;
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
  /**
   * A system under test's parity (scenario `sut.modes`): the two modes' names (the `docker`
   * column is the first, `local` the second) and what each run gave; the rows compare these.
   */
  readonly sut?: { readonly modes: readonly [string, string]; readonly digests: readonly [SutDigest, SutDigest] };
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
  if (options.scenario.sut) return runSutParity(options, seed);
  const local: Scenario = { ...options.scenario, backend: 'local' };
  // Refused before the docker run, not after it.
  assertLocalBackendCan(local);
  const runOne = runnerOf(options, seed);
  const dockerRun = await runOne('docker', { ...options.scenario, backend: 'docker' });
  const localRun = await runOne('local', local);
  const docker = await digestRun(dockerRun.runDir);
  const localDigest = await digestRun(localRun.runDir);
  const rows = compareDigests(docker, localDigest);
  return writeParity(options.scenario.name, seed, [dockerRun.runDir, localRun.runDir], docker, localDigest, rows);
}

/**
 * A system under test's parity: its two `sut.modes` (e.g. its local mode and its docker
 * mode) run one after the other with the same seed, compared on the SUT's last exit code,
 * its ledger and its declared outputs by SHA-256 ({@link compareSutDigests}).
 * @throws {SutParityError} before anything runs when the SUT has no two modes
 */
async function runSutParity(options: ParityOptions, seed: number): Promise<ParityResult> {
  const modes = sutModes(options.scenario);
  const runOne = runnerOf(options, seed);
  const first = await runOne(modes[0], scenarioForMode(options.scenario, modes[0]));
  const second = await runOne(modes[1], scenarioForMode(options.scenario, modes[1]));
  const sut = options.scenario.sut!;
  const digests: [SutDigest, SutDigest] = [await digestSutRun(modes[0], first.runDir, sut), await digestSutRun(modes[1], second.runDir, sut)];
  const rows = compareSutDigests(digests[0], digests[1]);
  return writeParity(options.scenario.name, seed, [first.runDir, second.runDir], await digestRun(first.runDir), await digestRun(second.runDir), rows, { modes, digests });
}

/** Writes `parity.json` and `parity.md` into both run directories and returns the result. */
async function writeParity(
  scenario: string,
  seed: number,
  runDirs: readonly [string, string],
  docker: OutcomeDigest,
  local: OutcomeDigest,
  rows: readonly ParityRow[],
  sut?: ParityResult['sut'],
): Promise<ParityResult> {
  const differences = parityDifferences(rows);
  const files = runDirs.flatMap((dir) => [join(dir, 'parity.json'), join(dir, 'parity.md')]);
  const result: ParityResult = { scenario, seed, ok: differences.length === 0, docker, local, rows, differences, files, ...(sut ? { sut } : {}) };
  for (const dir of runDirs) {
    await writeFileAtomic(join(dir, 'parity.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFileAtomic(join(dir, 'parity.md'), renderParityMarkdown(result));
  }
  return result;
}

/** One run of a parity pair, with workspaces captured and the caller's hooks told which side it is. */
function runnerOf(options: ParityOptions, seed: number): (side: string, scenario: Scenario) => Promise<RunResult> {
  return async (backend, scenario) => {
    options.signal?.throwIfAborted();
    options.onRun?.('start', backend);
    const result = await runScenario({
      scenario,
      docker: options.docker,
      seed,
      // A SUT's outputs are its own files; keelhaul's workspaces are its own tasks'.
      captureWorkspaces: scenario.sut === undefined,
      reaper: false,
      ...(options.scenarioFile !== undefined ? { scenarioFile: options.scenarioFile } : {}),
      ...(options.runsDir !== undefined ? { runsDir: options.runsDir } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onEvent ? { onEvent: (e: RunEvent) => options.onEvent!(e, backend) } : {}),
    });
    options.onRun?.('end', backend, result);
    return result;
  };
}

/** The parity result as Markdown: a verdict, the two runs, the differences and the whole comparison. */
export function renderParityMarkdown(result: ParityResult): string {
  const esc = (s: string): string => s.replaceAll('|', '\\|');
  const [left, right] = result.sut?.modes ?? ['docker', 'local'];
  const table = (rows: readonly ParityRow[]): string[] => [
    `| task | field | ${esc(left)} | ${esc(right)} | |`,
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${esc(r.task ?? '(run)')} | ${esc(r.field)} | ${esc(r.docker)} | ${esc(r.local)} | ${r.same ? '=' : '≠'} |`),
  ];
  const lines = [
    `# Parity of scenario ${result.scenario}, seed ${result.seed}`,
    '',
    result.ok
      ? `**Parity holds**: every compared value is the same ${result.sut ? 'in both modes' : 'on both backends'}.`
      : `**Parity broken**: ${result.differences.length} value(s) differ.`,
    '',
    `- ${left} run: \`${result.docker.runId}\` (${result.docker.status})`,
    `- ${right} run: \`${result.local.runId}\` (${result.local.status})`,
  ];
  const unavailable = result.docker.filesUnavailable ?? result.local.filesUnavailable;
  if (unavailable && !result.sut) lines.push(`- workspace files not compared: ${unavailable}`);
  if (!result.ok) lines.push('', '## Differences', '', ...table(result.differences));
  lines.push('', '## Comparison', '', ...table(result.rows), '');
  return lines.join('\n');
}
