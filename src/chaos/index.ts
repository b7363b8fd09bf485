/** Chaos: faults as data, what each kind does, the injector that fires them, the fault plan, and the run's seeded generator. */
export * from './random.js';
export * from './actions.js';
export * from './injector.js';
export * from './plan.js';
