/** Parity: the same scenario on the docker and the local backend, compared by outcome digest. */
export * from './digest.js';
export * from './parity.js';

