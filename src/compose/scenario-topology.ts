import { ScenarioError, type Scenario, type ScenarioIssue } from '../scenario/index.js';
import { loadComposeFile, type ComposeTopology } from './load.js';

/** A scenario's topology, loaded and checked against the scenario. */
export interface ScenarioTopology {
  readonly topology: ComposeTopology;
  /** The Compose network the worker attempts join instead of a per-run one, if any. */
  readonly workerNetwork?: string;
}

/**
 * Loads the scenario's `topology` (when it has one) with its `dangerouslyAllow`, and checks
 * what ties the two together: `workerNetwork` names an internal network of the file and the
 * scenario's `network` is `internal`; every fault's `target.service` names a service.
 * Runs before anything is created.
 *
 * @throws {ComposeError} for the Compose file itself (file:line:field)
 * @throws {ScenarioError} for the scenario fields that do not fit the file
 */
export async function loadScenarioTopology(scenario: Scenario, scenarioFile = '<inline>'): Promise<ScenarioTopology | undefined> {
  const issues: ScenarioIssue[] = [];
  if (!scenario.topology) {
    scenario.faults.forEach((f, i) => {
      if (f.target.service !== undefined) issues.push({ field: `faults[${i}].target.service`, message: `names service "${f.target.service}", but the scenario has no topology` });
    });
    if (issues.length) throw new ScenarioError(scenarioFile, issues);
    return undefined;
  }
  const topology = await loadComposeFile(scenario.topology.file, scenario.dangerouslyAllow ?? {});
  const names = topology.services.map((s) => s.name);
  scenario.faults.forEach((f, i) => {
    if (f.target.service !== undefined && !names.includes(f.target.service)) {
      issues.push({ field: `faults[${i}].target.service`, message: `names service "${f.target.service}", which ${topology.file} does not define (services: ${names.join(', ')})` });
    }
  });
  let workerNetwork = scenario.topology.workerNetwork;
  const declared = topology.networks.filter((n) => n.name !== 'default' || topology.networks.length === 1);
  if (workerNetwork === undefined && scenario.network === 'internal' && declared.length === 1) workerNetwork = declared[0]?.name;
  if (workerNetwork !== undefined) {
    const network = topology.networks.find((n) => n.name === workerNetwork);
    if (scenario.network !== 'internal') {
      issues.push({ field: 'topology.workerNetwork', message: `workers join a topology network only with network: internal (the scenario says ${scenario.network})` });
    } else if (!network) {
      issues.push({
        field: 'topology.workerNetwork',
        message: `names network "${workerNetwork}", which ${topology.file} does not declare (networks: ${topology.networks.map((n) => n.name).join(', ') || 'none'})`,
      });
    } else if (!network.internal) {
      issues.push({
        field: 'topology.workerNetwork',
        message: `network "${workerNetwork}" of ${topology.file} is not internal: with network: internal the workers need one (set internal: true on it)`,
      });
    }
  }
  if (issues.length) throw new ScenarioError(scenarioFile, issues);
  return { topology, ...(workerNetwork !== undefined ? { workerNetwork } : {}) };
}
