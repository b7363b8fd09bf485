import { resolve } from 'node:path';
import { runScenario } from '../controller/index.js';
import { connectDocker } from '../docker/index.js';
import { loadScenarioFile } from '../scenario/index.js';
import { UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { renderEvent, type CliIo } from './render.js';

/** Flags of `keelhaul run`, parsed. */
export interface RunCommandOptions {
  readonly scenarioPath: string;
  /** Raw `--seed` text; validated here. */
  readonly seed?: string;
  readonly runsDir?: string;
  readonly verbose?: boolean;
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

/**
 * `keelhaul run <scenario>`: validates the scenario, checks the daemon and the image, runs
 * it, prints a line per attempt transition, fault and check, and returns 0 when every
 * check held, 1 when one failed, 130 when interrupted. Bad input throws before anything
 * is created (the caller maps it to exit 2).
 */
export async function runCommand(options: RunCommandOptions, io: CliIo): Promise<ExitCode> {
  const seed = options.seed !== undefined ? parseSeed(options.seed) : undefined;
  const scenario = await loadScenarioFile(options.scenarioPath);
  const docker = await connectDocker();
  let printedChecksHeader = false;
  const result = await runScenario({
    scenario,
    scenarioFile: resolve(options.scenarioPath),
    ...(seed !== undefined ? { seed } : {}),
    ...(options.runsDir ? { runsDir: options.runsDir } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    docker,
    onEvent: (event) => {
      if (event.type === 'check.result' && !printedChecksHeader) {
        printedChecksHeader = true;
        io.out('checks:');
      }
      const line = renderEvent(event, { verbose: options.verbose ?? false });
      if (line !== undefined) io.out(line);
    },
  });
  if (result.report.error) io.err(`keelhaul: run ${result.report.runId} failed: ${result.report.error}`);
  if (options.signal?.aborted) return ExitCode.interrupted;
  return result.report.status === 'passed' ? ExitCode.ok : ExitCode.failed;
}
