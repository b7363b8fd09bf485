/** The controller: run lifecycle, task queue, attempts, retry/backoff, events, cleanup. */
export { findRunResources, removeRunResources, type CleanupResult, type LeakReport } from './cleanup.js';
export { assertLocalBackendCan, BackendSupportError, createRunId, ResumeError, resumeRun, runScenario, type ResumeRunOptions, type RunScenarioOptions } from './controller.js';
export type { AttemptOutcome, RunEvent } from './events.js';
export { isControllerAlive } from './liveness.js';
export { runReaper } from './reaper.js';
export { MissingSecretError } from './redaction.js';
export { exportAttemptCompose, reproAttempt, ReproError, type AttemptEnding, type AttemptSelection, type ReproOptions, type ReproResult } from './repro.js';
export type { RunHooks, RunResult } from './run-options.js';
export { assertSafeName, runDirOf, UnsafePathError } from './run-paths.js';
export { daemonConnectOptions, readRunState, StateError, type RunState } from './state.js';
