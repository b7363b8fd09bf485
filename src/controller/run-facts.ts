/**
 * Facts → report: the recorded run turned into what the checks judge (`RunFacts` pieces)
 * and into `report.json`. Pure functions over plain data; the run gathers the data and
 * writes the files.
 */
import { describeTrigger, faultId, type FaultRecord } from '../chaos/index.js';
import { UNHARDENED_MEANING, type AttemptFacts, type CheckResult, type FaultFacts } from '../checks/index.js';
import type { MonitorSummary } from '../monitor/index.js';
import { REPORT_SCHEMA_VERSION, type ReportAttempt, type ReportFault, type RunReport } from '../report/index.js';
import type { RunUsage, UsageTotals } from '../report/usage.js';
import type { FaultSpec } from '../scenario/index.js';
import type { IsolationProbe } from './isolation-probe.js';
import type { AttemptRecord, TaskRecord } from './state.js';

/** One attempt of the run with its task's id: a row of the report's attempts. */
export type AttemptRow = AttemptRecord & { readonly task: string };

/** Every attempt of the scenario's tasks, task by task in scenario order, attempts in record order. */
export function attemptRows(taskIds: readonly string[], tasks: Readonly<Record<string, TaskRecord>>): AttemptRow[] {
  return taskIds.flatMap((id) => tasks[id]!.attempts.map((a) => ({ task: id, ...a })));
}

/**
 * The faults as the checks see them: one `not-fired` entry for a fault that never fired
 * (or is still armed), else one entry per firing (`<id>#<n>` for a repeated fault).
 *
 * @param unfired ids of faults the injector still holds armed
 */
export function faultFactsOf(specs: readonly FaultSpec[], records: readonly FaultRecord[], unfired: ReadonlySet<string>): FaultFacts[] {
  const out: FaultFacts[] = [];
  specs.forEach((spec, i) => {
    const id = faultId(spec, i);
    const signal = spec.kind === 'kill' ? spec.params.signal : undefined;
    const firings = records.filter((r) => r.faultId === id || r.faultId.startsWith(`${id}#`));
    if (firings.length === 0 || unfired.has(id)) {
      out.push({ faultId: id, kind: spec.kind, status: 'not-fired', targets: [], ...(signal ? { signal } : {}) });
      return;
    }
    for (const record of firings) {
      out.push({
        faultId: record.faultId,
        kind: spec.kind,
        status: record.status,
        firedAt: record.firedAt,
        targets: record.targets,
        ...(signal ? { signal } : {}),
        ...(record.error ? { error: record.error } : {}),
      });
    }
  });
  return out;
}

/** The attempts as the checks see them; an attempt never judged counts as `lost`. */
export function attemptFactsOf(rows: readonly AttemptRow[], probeOf: (task: string, attempt: number) => IsolationProbe | undefined): AttemptFacts[] {
  return rows.map((a) => {
    const probe = probeOf(a.task, a.attempt);
    return {
      task: a.task,
      attempt: a.attempt,
      containerId: a.containerId,
      exitCode: a.exitCode,
      oomKilled: a.oomKilled,
      outcome: a.outcome ?? 'lost',
      reason: a.reason ?? undefined,
      completedAt: a.completedAt ?? undefined,
      completedEvents: a.completedEvents,
      ...(a.interfaces ? { interfaces: a.interfaces } : {}),
      ...(probe ? { probe } : {}),
      auditProblems: a.auditProblems,
      audited: a.audited,
    };
  });
}

/** Checks that judge what only a container has (labels, HostConfig, a daemon's account). */
const CONTAINER_CHECKS = ['containers-labelled-and-hardened', 'state-matches-daemon'] as const;

/**
 * For a backend whose attempts are not containers: the container-only checks pass as
 * `not applicable on the <kind> backend`, and state-matches-daemon is added that way when
 * absent. Returns a new list; the order of the others is kept.
 */
export function withContainerChecksNotApplicable(checks: readonly CheckResult[], backendKind: string): CheckResult[] {
  const observed = `not applicable on the ${backendKind} backend`;
  const out = checks.map((check) => ((CONTAINER_CHECKS as readonly string[]).includes(check.name) ? { ...check, ok: true, observed, evidence: [] } : check));
  if (!out.some((c) => c.name === 'state-matches-daemon')) {
    out.push({
      name: 'state-matches-daemon',
      ok: true,
      expected: 'the attempt containers in state.json are exactly the worker containers a label query finds before cleanup',
      observed,
      evidence: [],
    });
  }
  return out;
}

/** A run passes when nothing ended it early (`runError`) and every check is ok. */
export function runStatus(runError: string | undefined, checks: readonly CheckResult[]): 'passed' | 'failed' {
  return runError === undefined && checks.every((c) => c.ok) ? 'passed' : 'failed';
}

/** Everything {@link assembleReport} puts into `report.json`. */
export interface ReportInputs {
  readonly keelhaulVersion: string;
  readonly runId: string;
  readonly seed: number;
  readonly scenario: {
    readonly name: string;
    readonly backend: 'docker' | 'local';
    readonly network: string;
    readonly taskIds: readonly string[];
    readonly faults: readonly FaultSpec[];
  };
  readonly scenarioFile: string | null;
  readonly runError: string | undefined;
  /** The `dangerouslyAllow` keys the scenario used. */
  readonly unhardened: readonly ('dockerSocket' | 'hostNetwork' | 'privileged')[];
  /** Secret values the redactor replaced so far. */
  readonly redactedSecrets: number;
  /** ms since the epoch. */
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  readonly image: string;
  readonly daemon: RunReport['daemon'];
  readonly controllers: number;
  /** Each task's outcome as its run loop ended; absent: it never ran (`not-run`). */
  readonly taskOutcomes: ReadonlyMap<string, { readonly outcome: 'completed' | 'failed' }>;
  /** Attempts per task, as state.json has them. */
  readonly attemptCount: (task: string) => number;
  readonly attempts: readonly AttemptRow[];
  /** Fault ids that acted on a container id. */
  readonly faultsTargeting: (containerId: string) => readonly string[];
  readonly usageOf: (task: string, attempt: number) => UsageTotals;
  readonly faultFacts: readonly FaultFacts[];
  readonly records: readonly FaultRecord[];
  readonly cleanup: RunReport['cleanup'];
  readonly resources: MonitorSummary | null;
  readonly checks: readonly CheckResult[];
  readonly usage: RunUsage;
}

/** `report.json`'s content (before redaction), from what the run recorded. Pure. */
export function assembleReport(input: ReportInputs): RunReport {
  const { scenario } = input;
  const unhardened = input.unhardened;
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    keelhaulVersion: input.keelhaulVersion,
    runId: input.runId,
    seed: input.seed,
    scenario: scenario.name,
    scenarioFile: input.scenarioFile,
    status: runStatus(input.runError, input.checks),
    ...(input.runError !== undefined ? { error: input.runError } : {}),
    ...(unhardened.length > 0
      ? {
          unhardened: {
            dangerouslyAllow: unhardened,
            warning: `the workers were NOT hardened: dangerouslyAllow let them ${unhardened.map((k) => UNHARDENED_MEANING[k] ?? k).join('; ')}`,
          },
        }
      : {}),
    ...(input.redactedSecrets > 0 ? { redactedSecrets: input.redactedSecrets } : {}),
    startedAt: new Date(input.startedAtMs).toISOString(),
    endedAt: new Date(input.endedAtMs).toISOString(),
    durationMs: input.endedAtMs - input.startedAtMs,
    backend: scenario.backend,
    image: input.image,
    network: scenario.network,
    daemon: input.daemon,
    controllers: input.controllers,
    tasks: scenario.taskIds.map((task) => ({ task, outcome: input.taskOutcomes.get(task)?.outcome ?? 'not-run', attempts: input.attemptCount(task) })),
    attempts: input.attempts.map((a): ReportAttempt => ({
      task: a.task,
      attempt: a.attempt,
      containerId: a.containerId,
      containerName: a.containerName,
      exitCode: a.exitCode,
      oomKilled: a.oomKilled,
      outcome: a.outcome ?? 'lost',
      ...(a.reason ? { reason: a.reason } : {}),
      startedAt: a.startedAt,
      endedAt: a.endedAt,
      faults: [...input.faultsTargeting(a.containerId)],
      usage: input.usageOf(a.task, a.attempt),
    })),
    faults: input.faultFacts.map((f): ReportFault => {
      const record = input.records.find((r) => r.faultId === f.faultId);
      const spec = scenario.faults.find((s, i) => faultId(s, i) === f.faultId.split('#')[0]);
      return {
        faultId: f.faultId,
        kind: f.kind,
        trigger: record?.trigger ?? (spec ? describeTrigger(spec.trigger) : ''),
        status: f.status,
        firedAt: record?.firedAt ?? null,
        offsetMs: record?.offsetMs ?? null,
        params: { ...(spec?.params ?? {}) },
        targets: f.targets,
        ...(f.error ? { error: f.error } : {}),
      };
    }),
    cleanup: input.cleanup,
    resources: input.resources ? { samplesFile: 'samples.jsonl', ...input.resources } : null,
    checks: input.checks,
    usage: input.usage,
  };
}
