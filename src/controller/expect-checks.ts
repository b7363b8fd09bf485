/**
 * The checks of src/checks/ that the scenario's newer `expect` fields select, fed from what
 * the controller recorded: attempts-within-bound (always), recovery-time
 * (`expect.recoveryTimeMs`), resource-stability (`expect.resourceStability`),
 * workspace-compliance (`expect.workspaceCompliance` and a task with `writes`) and
 * lock-exclusion (`expect.lockExclusion` and a task with `locks`).
 */
import {
  attemptIntervals,
  checkAttemptsWithinBound,
  checkLockExclusion,
  checkRecoveryTime,
  checkResourceStability,
  checkWorkspaceCompliance,
  type AttemptFacts,
  type CheckResult,
  type FaultFacts,
} from '../checks/index.js';
import type { Scenario } from '../scenario/index.js';
import type { RunEvent } from '../events/index.js';

/** What {@link expectChecks} judges. */
export interface ExpectCheckInputs {
  readonly scenario: Scenario;
  readonly attempts: readonly AttemptFacts[];
  readonly faults: readonly FaultFacts[];
  /** Every event of the run, earlier controllers' included, in order. */
  readonly timeline: readonly RunEvent[];
  /** The monitor's controller RSS figures, bytes; undefined without a monitor summary. */
  readonly controllerRss?: { readonly firstBytes: number; readonly lastBytes: number; readonly growthBytes: number } | undefined;
  /** `backlog` samples taken and the most events waiting in any of them. */
  readonly backlog: { readonly samples: number; readonly peakEvents: number };
  /** Listings of completed attempts' workspaces keyed `task#attempt`; undefined when none were taken. */
  readonly workspaceListings?: ReadonlyMap<string, { entries: string[] } | { error: string }> | undefined;
}

/** Runs the checks the scenario selects, in a stable order. */
export function expectChecks(input: ExpectCheckInputs): CheckResult[] {
  const { scenario, attempts, faults, timeline } = input;
  const out: CheckResult[] = [checkAttemptsWithinBound(attempts, scenario.expect.maxAttempts ?? scenario.retry.maxAttempts)];
  if (scenario.expect.recoveryTimeMs !== undefined) {
    const dockerEvents = timeline.flatMap((e) =>
      e.type === 'docker.event' ? [{ action: e.action, containerId: e.containerId, time: e.time, timeNano: e.timeNano, role: e.role }] : [],
    );
    out.push(checkRecoveryTime(faults, attempts, dockerEvents, scenario.expect.recoveryTimeMs));
  }
  if (scenario.expect.resourceStability) {
    out.push(
      checkResourceStability(
        { controllerRss: input.controllerRss, peakEventBacklog: input.backlog.samples > 0 ? input.backlog.peakEvents : undefined, backlogSamples: input.backlog.samples },
        scenario.expect.resourceStability,
      ),
    );
  }
  if (input.workspaceListings && scenario.expect.workspaceCompliance) {
    const specs = new Map(scenario.tasks.map((t) => [t.id, t]));
    const listings = attempts
      .filter((a) => a.outcome === 'completed')
      .map((a) => {
        const listing = input.workspaceListings!.get(`${a.task}#${a.attempt}`);
        const declared = specs.get(a.task)?.writes;
        return {
          task: a.task,
          attempt: a.attempt,
          declared,
          ...(listing && 'entries' in listing ? { entries: listing.entries } : {}),
          ...(listing && 'error' in listing ? { error: listing.error } : !listing && declared ? { error: 'not listed' } : {}),
        };
      });
    // fill-disk's filler writes this file into the workspace: the fault's doing, not the task's.
    out.push(checkWorkspaceCompliance(listings, scenario.faults.some((f) => f.kind === 'fill-disk') ? ['.keelhaul-fill'] : []));
  }
  if (scenario.expect.lockExclusion && scenario.tasks.some((t) => t.locks)) {
    out.push(
      checkLockExclusion(
        scenario.tasks.flatMap((t) => (t.locks ? [{ task: t.id, reads: t.locks.reads, writes: t.locks.writes }] : [])),
        attemptIntervals(timeline),
      ),
    );
  }
  return out;
}
