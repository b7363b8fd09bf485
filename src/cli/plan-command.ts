import { loadScenarioTopology } from '../compose/index.js';
import { planFaults, renderPlan } from '../chaos/index.js';
import { loadScenarioFile } from '../scenario/index.js';
import { withBackend } from './backend-option.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './render.js';
import { parseSeed } from './run-command.js';

/**
 * `keelhaul plan <scenario> [--seed N] [--json] [--backend B]`: the fault plan, without touching Docker.
 * With no seed, the scenario's own; with neither, seed 0 (and says so).
 */
export async function planCommand(options: { scenarioPath: string; seed?: string; json?: boolean; backend?: string }, io: CliIo): Promise<ExitCode> {
  const scenario = await withBackend(await loadScenarioFile(options.scenarioPath), options.backend, options.scenarioPath);
  const seed = options.seed !== undefined ? parseSeed(options.seed) : (scenario.seed ?? 0);
  if (options.seed === undefined && scenario.seed === undefined) io.err('keelhaul: the scenario names no seed and --seed was not given; planning with seed 0');
  const plan = planFaults(scenario, seed);
  io.out(options.json ? JSON.stringify(plan, null, 2) : renderPlan(plan).trimEnd());
  return ExitCode.ok;
}

/** `keelhaul validate <scenario>`: exit 0 and a summary when valid; the errors and exit 2 when not. */
export async function validateCommand(options: { scenarioPath: string; backend?: string }, io: CliIo): Promise<ExitCode> {
  const scenario = await withBackend(await loadScenarioFile(options.scenarioPath), options.backend, options.scenarioPath);
  // The topology is part of the scenario: its Compose file is checked too (no daemon needed).
  const topology = await loadScenarioTopology(scenario, options.scenarioPath);
  io.out(
    `${options.scenarioPath}: valid scenario ${scenario.name}: ${scenario.tasks.length} task(s), ${scenario.faults.length} fault(s) (${[...new Set(scenario.faults.map((f) => f.kind))].join(', ') || 'none'}), network ${scenario.network}${scenario.backend === 'local' ? ', backend local' : ''}${topology ? `, topology ${topology.topology.services.length} service(s) (${topology.topology.services.map((s) => s.name).join(', ')})` : ''}`,
  );
  return ExitCode.ok;
}
