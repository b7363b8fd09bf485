/** Chaos: faults as data, the injector that fires them, and the run's seeded generator. */
export * from './random.js';
export * from './injector.js';
