import { loadScenarioTopology } from '../compose/index.js';
import { planFaults, renderPlan } from '../chaos/index.js';
import { loadScenarioFile } from '../scenario/index.js';
import { withBackend } from './backend-option.js';
import { hostRequirements, renderHostRequirements } from './host-requirements.js';
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

/**
 * `keelhaul validate <scenario> [--backend B] [--json]`: exit 0 and a summary when valid (the
 * errors and exit 2 when not), then what the scenario needs from this host and whether it
 * has it. `--json`: `{ file, valid: true, scenario, tasks, faults, network, backend,
 * topology, host }` on stdout; invalid scenarios still exit 2 with the errors on stderr.
 */
export async function validateCommand(options: { scenarioPath: string; backend?: string; json?: boolean }, io: CliIo): Promise<ExitCode> {
  const scenario = await withBackend(await loadScenarioFile(options.scenarioPath), options.backend, options.scenarioPath);
  // The topology is part of the scenario: its Compose file is checked too (no daemon needed).
  const topology = await loadScenarioTopology(scenario, options.scenarioPath);
  const host = await hostRequirements(scenario);
  if (options.json) {
    io.out(
      JSON.stringify({
        file: options.scenarioPath,
        valid: true,
        scenario: scenario.name,
        tasks: scenario.tasks.length,
        faults: scenario.faults.map((f, i) => ({ index: i, kind: f.kind, ...(f.name ? { name: f.name } : {}) })),
        network: scenario.network,
        backend: scenario.backend,
        daemon: scenario.daemon.mode,
        topology: topology ? topology.topology.services.map((s) => s.name) : null,
        host,
      }),
    );
    return ExitCode.ok;
  }
  io.out(
    `${options.scenarioPath}: valid scenario ${scenario.name}: ${scenario.sut ? `a system under test (${scenario.sut.command.join(' ')})` : `${scenario.tasks.length} task(s)`}, ${scenario.faults.length} fault(s) (${[...new Set(scenario.faults.map((f) => f.kind))].join(', ') || 'none'}), network ${scenario.network}${scenario.backend === 'local' ? ', backend local' : ''}${topology ? `, topology ${topology.topology.services.length} service(s) (${topology.topology.services.map((s) => s.name).join(', ')})` : ''}`,
  );
  for (const line of renderHostRequirements(host)) io.out(`  ${line}`);
  return ExitCode.ok;
}
