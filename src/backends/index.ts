/** Worker backends: the `WorkerBackend` interface and its docker implementation. */
export * from './types.js';
export * from './docker-backend.js';
export * from './event-lines.js';
