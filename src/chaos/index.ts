/** Chaos: faults as data, what each kind does, the injector that fires them, the fault plan, and the run's seeded generator. */
export { createSeededRandom, randomSeed, type SeededRandom } from './random.js';
export {
  applyFault,
  FAULT_ACTIONS,
  faultAction,
  FaultActionError,
  FaultSupportError,
  netemSupported,
  preflightFaults,
  ruleMark,
  runOnHost,
  type BackendApply,
  type FaultAction,
  type FaultClient,
  type FaultContext,
  type FaultSut,
  type HostExec,
  type PartitionCheck,
  type TargetSource,
} from './actions.js';
export { describeTrigger, faultId, Injector, pickTargets, type FaultRecord, type FaultTarget } from './injector.js';
export { planFaults, renderPlan, type FaultPlan, type PlannedFiring } from './plan.js';
