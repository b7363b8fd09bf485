import { resolve } from 'node:path';
import { resumeRun, runScenario, type RunEvent, type RunResult } from '../controller/index.js';
import { connectDocker } from '../docker/index.js';
import { loadScenarioFile } from '../scenario/index.js';
import { UsageError } from './errors.js';
import { withBackend } from './backend-option.js';
import { ExitCode } from './exit-codes.js';
import { renderEvent, type CliIo } from './render.js';

/** Flags of `keelhaul run`, parsed. */
export interface RunCommandOptions {
  readonly scenarioPath: string;
  /** Raw `--seed` text; validated here. */
  readonly seed?: string;
  readonly runsDir?: string;
  readonly verbose?: boolean;
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

/** Prints a run's events as they come; a "checks:" header before the first check. */
function printer(io: CliIo, verbose: boolean): (event: RunEvent) => void {
  let printedChecksHeader = false;
  return (event) => {
    if (event.type === 'check.result' && !printedChecksHeader) {
      printedChecksHeader = true;
      io.out('checks:');
    }
    const line = renderEvent(event, { verbose });
    if (line !== undefined) io.out(line);
  };
}

function exitCodeOf(result: RunResult, io: CliIo, signal: AbortSignal | undefined): ExitCode {
  if (result.report.error) io.err(`keelhaul: run ${result.report.runId} failed: ${result.report.error}`);
  if (signal?.aborted) return ExitCode.interrupted;
  return result.report.status === 'passed' ? ExitCode.ok : ExitCode.failed;
}

/**
 * `keelhaul run <scenario>`: validates the scenario, checks the daemon and the image, runs
 * it, prints a line per attempt transition, fault and check, and returns 0 when every
 * check held, 1 when one failed, 130 when interrupted. Bad input throws before anything
 * is created (the caller maps it to exit 2).
 */
export async function runCommand(options: RunCommandOptions, io: CliIo): Promise<ExitCode> {
  const seed = options.seed !== undefined ? parseSeed(options.seed) : undefined;
  const scenario = withBackend(await loadScenarioFile(options.scenarioPath), options.backend);
  const docker = await connectDocker();
  const result = await runScenario({
    scenario,
    scenarioFile: resolve(options.scenarioPath),
    ...(seed !== undefined ? { seed } : {}),
    ...(options.runsDir ? { runsDir: options.runsDir } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.reaper === false ? { reaper: false } : {}),
    docker,
    onEvent: printer(io, options.verbose ?? false),
  });
  return exitCodeOf(result, io, options.signal);
}

/** Flags of `keelhaul resume`. */
export interface ResumeCommandOptions {
  /** Run id or run directory. */
  readonly run: string;
  readonly runsDir?: string;
  readonly verbose?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * `keelhaul resume <run-id>`: takes over a run whose controller died, reconciles it with
 * the daemon and finishes it; exit codes as `run`.
 */
export async function resumeCommand(options: ResumeCommandOptions, io: CliIo): Promise<ExitCode> {
  const docker = await connectDocker();
  const result = await resumeRun({
    run: options.run,
    docker,
    ...(options.runsDir ? { runsDir: options.runsDir } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onEvent: printer(io, options.verbose ?? false),
  });
  return exitCodeOf(result, io, options.signal);
}
