import { resolve } from 'node:path';
import { connectDocker } from '../docker/index.js';
import { renderParityTable, runParity, sutModes } from '../parity/index.js';
import { loadScenarioFile } from '../scenario/index.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './render.js';
import { parseSeed } from './run-command.js';
import { withBackend } from './backend-option.js';

/** Flags of `keelhaul parity`, parsed. */
export interface ParityCommandOptions {
  readonly scenarioPath: string;
  /** Raw `--seed` text. */
  readonly seed?: string;
  readonly runsDir?: string;
  /** Print the result as JSON instead of the table. */
  readonly json?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * `keelhaul parity <scenario>`: runs the scenario on both backends with one seed, prints
 * the comparison table and the differences, and returns 0 on parity, 1 when a value
 * differs (or a run failed to run at all), 130 when interrupted. A scenario the local
 * backend cannot apply throws before anything runs (exit 2).
 */
export async function parityCommand(options: ParityCommandOptions, io: CliIo): Promise<ExitCode> {
  const seed = options.seed !== undefined ? parseSeed(options.seed) : undefined;
  const scenario = await loadScenarioFile(options.scenarioPath);
  // Refused before connecting: nothing is started for a scenario one backend cannot run, or a
  // system under test without its two modes.
  if (scenario.sut) sutModes(scenario);
  else await withBackend(scenario, 'local', options.scenarioPath);
  const columns = scenario.sut ? sutModes(scenario) : (['docker', 'local'] as const);
  const docker = await connectDocker();
  let runError = false;
  const result = await runParity({
    scenario,
    scenarioFile: resolve(options.scenarioPath),
    docker,
    ...(seed !== undefined ? { seed } : {}),
    ...(options.runsDir ? { runsDir: options.runsDir } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onRun: (phase, backend, run) => {
      if (phase === 'start') {
        if (!options.json) io.out(`${backend}: running ${scenario.name}…`);
        return;
      }
      const report = run!.report;
      if (report.error) {
        runError = true;
        io.err(`keelhaul: the ${backend} run ${report.runId} failed: ${report.error}`);
      }
      if (!options.json) io.out(`${backend}: run ${report.runId} ${report.status} (${report.durationMs} ms), ${run!.runDir}`);
    },
  });
  if (options.json) {
    io.out(JSON.stringify(result, null, 2));
  } else {
    io.out(`\nparity of scenario ${result.scenario}, seed ${result.seed}:`);
    io.out(renderParityTable(result.rows, { columns }));
    const unavailable = result.docker.filesUnavailable ?? result.local.filesUnavailable;
    // A SUT's outputs are compared instead (sut.outputs): keelhaul's workspaces are not its.
    if (unavailable && !scenario.sut) io.out(`workspace files not compared: ${unavailable}`);
    if (result.ok) {
      io.out(`\nparity: the same outcome ${scenario.sut ? 'in both modes' : 'on both backends'}`);
    } else {
      io.out(`\nparity broken: ${result.differences.length} difference(s)`);
      io.out(renderParityTable(result.differences, { width: 80, columns }));
    }
    io.out(`written: ${result.files.join(', ')}`);
  }
  if (options.signal?.aborted) return ExitCode.interrupted;
  return result.ok && !runError ? ExitCode.ok : ExitCode.failed;
}
