/** Worker backends: the `WorkerBackend` interface and its docker and local implementations. */
export * from './types.js';
export * from './docker-backend.js';
export * from './local-backend.js';
export * from './event-lines.js';
