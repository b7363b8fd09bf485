/** Worker backends: the `WorkerBackend` interface and its docker and local implementations. */
export { DockerBackend, workerEnvironment, WORKSPACE_PATH } from './docker-backend.js';
export { LOCAL_FAULT_KINDS, LocalBackend, localBackendProblems, localFaultClient, type BackendProblem } from './local-backend.js';
export { attemptTaskOf } from './types.js';
export type { AttemptHandle, AttemptObserver, AttemptTask, BackendCapabilities, BackendCleanup, FaultTargets, WorkerBackend } from './types.js';
