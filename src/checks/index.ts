/** Checks: invariants over a finished run, each a CheckResult that can fail. */
export { checkAttemptsWithinBound, checkRecoveryTime, type ContainerEventFact, type RecoveryFigure } from './attempt-bounds.js';
export { checkBudget, type BudgetLimits, type BudgetUsage } from './budget.js';
export { checkEventSchema, checkEventsFile } from './event-schema.js';
export {
  checkAllCompleted,
  checkContainerAudit,
  checkDisruptedTasksRecover,
  checkExactlyOnce,
  checkExpectedFailures,
  checkFaultsInjected,
  checkKilledAttemptsRecover,
  checkNetworkIsolation,
  checkNoLeaks,
  checkPartitionsVerified,
  checkStateMatchesDaemon,
  runChecks,
  UNHARDENED_MEANING,
  type AttemptFacts,
  type CheckResult,
  type FaultFacts,
  type RunFacts,
} from './invariants.js';
export { attemptIntervals, checkLockExclusion, type AttemptInterval, type TaskLocks } from './lock-exclusion.js';
export { checkResourceStability, type ResourceBounds, type ResourceFacts } from './resource-stability.js';
export {
  checkSutCleanup,
  checkSutContainersSeen,
  checkSutExactlyOnce,
  checkSutExit,
  checkSutHardening,
  checkSutLabels,
  checkSutLogs,
  checkSutRecovery,
  hardeningProblems,
  sutRecoveryFigures,
  type SutContainerFact,
  type SutExitFact,
  type SutHardening,
  type SutLedgerFact,
  type SutLeftovers,
  type SutLogFact,
  type SutRecoveryFigure,
} from './sut.js';
export { checkWorkspaceCompliance, type WorkspaceListing } from './workspace-compliance.js';
