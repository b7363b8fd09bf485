import { join, resolve } from 'node:path';
import { resumeRun, runScenario, type RunEvent, type RunResult } from '../controller/index.js';
import { connectDocker } from '../docker/index.js';
import { loadScenarioFile, unhardenedBy } from '../scenario/index.js';
import { UNHARDENED_MEANING } from '../checks/index.js';
import { RunCommandError, UsageError } from './errors.js';
import { withBackend } from './backend-option.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './render.js';
import { createRunOutput, parseLogLevel, type RunOutput } from './run-output.js';

/** Flags of `keelhaul run`, parsed. */
export interface RunCommandOptions {
  readonly scenarioPath: string;
  /** `--compose <file>`: the run's topology, instead of the scenario's `topology.file`. */
  readonly compose?: string;
  /** Raw `--seed` text; validated here. */
  readonly seed?: string;
  readonly runsDir?: string;
  readonly verbose?: boolean;
  /** `--json`: every run event as one JSON line on stdout, nothing else there. */
  readonly json?: boolean;
  /** Raw `--log-level` text (error, warn, info, verbose, debug); validated here. `--verbose` means `verbose`. */
  readonly logLevel?: string;
  /** `false` (`--no-reaper`) starts no reaper. */
  readonly reaper?: boolean;
  /** Raw `--backend` text (docker, local); overrides the scenario's `backend`. */
  readonly backend?: string;
  readonly signal?: AbortSignal;
}

/** Parses `--seed`: an unsigned 32-bit decimal integer. @throws {UsageError} */
export function parseSeed(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value > 0xffff_ffff) {
    throw new UsageError('--seed', `Expected \`--seed\` to be an integer from 0 to 4294967295, got \`${text}\``);
  }
  return value;
}

/** The printer of a run's events for the output flags (see run-output.ts). @throws {UsageError} for a bad `--log-level` */
function outputFor(io: CliIo, options: { verbose?: boolean | undefined; json?: boolean | undefined; logLevel?: string | undefined }): RunOutput {
  const logLevel = options.logLevel !== undefined ? parseLogLevel(options.logLevel) : options.verbose ? 'verbose' : 'info';
  return createRunOutput(io, { json: options.json ?? false, logLevel });
}

/**
 * Learns the run directory from the run's first event, so that an error escaping the run
 * afterwards carries it ({@link RunCommandError}: its stack goes into the run directory).
 */
function runDirTracker(runsDir: string | undefined, onEvent: (event: RunEvent) => void): { onEvent: (event: RunEvent) => void; rethrow: (error: unknown) => never } {
  let dir: string | undefined;
  return {
    onEvent: (event) => {
      dir ??= join(runsDir ?? join('.keelhaul', 'runs'), event.run);
      onEvent(event);
    },
    rethrow: (error) => {
      throw dir !== undefined ? new RunCommandError(dir, error) : error;
    },
  };
}

function exitCodeOfRun(result: RunResult, io: CliIo, signal: AbortSignal | undefined): ExitCode {
  if (result.report.error) io.err(`keelhaul: run ${result.report.runId} failed: ${result.report.error}`);
  if (result.report.unhardened) io.err(`keelhaul: WARNING: run ${result.report.runId} was UNHARDENED: ${result.report.unhardened.warning}`);
  if (signal?.aborted) return ExitCode.interrupted;
  return result.report.status === 'passed' ? ExitCode.ok : ExitCode.failed;
}

/**
 * `keelhaul run <scenario>`: validates the scenario, checks the daemon and the image, runs
 * it, prints a line per attempt transition, fault and check (on a TTY with a live status
 * line; `--json`: the events as JSON lines), and returns 0 when every
 * check held, 1 when one failed, 130 when interrupted. Bad input throws before anything
 * is created (the caller maps it to exit 2).
 */
export async function runCommand(options: RunCommandOptions, io: CliIo): Promise<ExitCode> {
  return (await runScenarioCommand(options, io)).code;
}

/**
 * {@link runCommand}, also handing back the run's result (for suites: the summary table
 * and the merged JUnit file). Throws as `runCommand` does.
 */
export async function runScenarioCommand(options: RunCommandOptions, io: CliIo): Promise<{ code: ExitCode; result: RunResult }> {
  const seed = options.seed !== undefined ? parseSeed(options.seed) : undefined;
  const output = outputFor(io, options);
  const loaded = await withBackend(await loadScenarioFile(options.scenarioPath), options.backend, options.scenarioPath);
  const scenario = options.compose !== undefined ? { ...loaded, topology: { ...loaded.topology, file: resolve(options.compose) } } : loaded;
  const unhardened = unhardenedBy(scenario);
  if (unhardened.length > 0) {
    io.err(
      `keelhaul: WARNING: UNHARDENED run: ${options.scenarioPath} sets dangerouslyAllow (${unhardened.join(', ')}); its workers ${unhardened.map((k) => UNHARDENED_MEANING[k] ?? k).join('; ')}`,
    );
  }
  const docker = await connectDocker();
  const runDir = runDirTracker(options.runsDir, output.onEvent);
  const result = await runScenario({
    scenario,
    scenarioFile: resolve(options.scenarioPath),
    ...(seed !== undefined ? { seed } : {}),
    ...(options.runsDir ? { runsDir: options.runsDir } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.reaper === false ? { reaper: false } : {}),
    docker,
    onEvent: runDir.onEvent,
    // Pull progress on a terminal only: a CI log gets the run's events, not layer counters.
    ...(process.stderr.isTTY && !options.json ? { onPullProgress: (image: string, line: string) => io.err(`pull ${image}: ${line}`) } : {}),
  })
    .catch(runDir.rethrow)
    .finally(output.close);
  return { code: exitCodeOfRun(result, io, options.signal), result };
}

/** Flags of `keelhaul resume`. */
export interface ResumeCommandOptions {
  /** Run id or run directory. */
  readonly run: string;
  readonly runsDir?: string;
  readonly verbose?: boolean;
  /** As `run --json`. */
  readonly json?: boolean;
  /** As `run --log-level`. */
  readonly logLevel?: string;
  readonly signal?: AbortSignal;
}

/**
 * `keelhaul resume <run-id>`: takes over a run whose controller died, reconciles it with
 * the daemon and finishes it; exit codes as `run`.
 */
export async function resumeCommand(options: ResumeCommandOptions, io: CliIo): Promise<ExitCode> {
  const output = outputFor(io, options);
  const docker = await connectDocker();
  const runDir = runDirTracker(options.runsDir, output.onEvent);
  const result = await resumeRun({
    run: options.run,
    docker,
    ...(options.runsDir ? { runsDir: options.runsDir } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onEvent: runDir.onEvent,
  })
    .catch(runDir.rethrow)
    .finally(output.close);
  return exitCodeOfRun(result, io, options.signal);
}
