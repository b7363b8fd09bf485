/**
 * The Docker part of keelhaul: the only folder that imports dockerode.
 * Public entry: the client factory and its plain types, label keys, typed errors.
 */
export * from './client.js';
export * from './errors.js';
export * from './labels.js';
export * from './events.js'; export * from './stats.js';
export * from './host.js';
