/**
 * Compose in and out: a documented subset of the Compose spec loaded as a run's topology
 * (yaml + zod, errors naming file:line:field), launched with keelhaul's labels through the
 * Docker client, and one attempt exported as a Compose file (docs/compose.md, docs/repro.md).
 */
export * from './schema.js';
export * from './load.js';
export * from './launch.js';
export * from './scenario-topology.js';
export * from './export.js';
