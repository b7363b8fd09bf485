/** Checks: invariants over a finished run, each a CheckResult that can fail. */
export * from './invariants.js';
export * from './event-schema.js';
export * from './budget.js';
export * from './attempt-bounds.js';
export * from './resource-stability.js';
export * from './workspace-compliance.js';
export * from './lock-exclusion.js';
