/** The controller: run lifecycle, task queue, attempts, retry/backoff, events, cleanup. */
export * from './controller.js';
export * from './events.js';
export * from './retry.js';
export * from './cleanup.js';
export * from './state.js';
export * from './ledger.js';
export * from './liveness.js';
export * from './reaper.js';
export * from './run-paths.js';
export * from './redaction.js';
export * from './repro.js';
export * from './run-options.js';
