/** The scenario part: schema, YAML loading, validation errors that name file, line and field. */
export * from './schema.js';
export * from './load.js';
export * from './json-schema.js';
export * from './security-schema.js';
export * from './security.js';
export * from './yaml-location.js';
