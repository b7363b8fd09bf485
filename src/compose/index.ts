/**
 * Compose in and out: a documented subset of the Compose spec loaded as a run's topology
 * (yaml + zod, errors naming file:line:field), launched with keelhaul's labels through the
 * Docker client, and one attempt exported as a Compose file (docs/compose.md, docs/repro.md).
 */
export { attemptToCompose } from './export.js';
export { launchTopology, topologyImage } from './launch.js';
export { ComposeError, loadComposeFile, type ComposeIssue, type ComposeTopology } from './load.js';
export { loadScenarioTopology, type ScenarioTopology } from './scenario-topology.js';
