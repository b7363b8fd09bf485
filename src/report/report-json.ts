import { writeFileAtomic } from '../atomic-file.js';
import type { CheckResult } from '../checks/index.js';
import type { MonitorSummary } from '../monitor/index.js';
import type { ReportAttemptOutcome } from './attempt-outcome.js';
import type { RunUsage, UsageTotals } from './usage.js';

/**
 * Bumped when a field of {@link RunReport} changes meaning, disappears or becomes required.
 * 2: agent usage (`usage`, and `usage` on each attempt).
 */
export const REPORT_SCHEMA_VERSION = 2;

/** One attempt in the report. Times are ISO 8601; `exitCode` is null when never observed. */
export interface ReportAttempt {
  readonly task: string;
  readonly attempt: number;
  readonly containerId: string;
  readonly containerName: string;
  readonly exitCode: number | null;
  readonly oomKilled: boolean;
  readonly outcome: ReportAttemptOutcome;
  readonly reason?: string;
  readonly startedAt: string;
  readonly endedAt: string | null;
  /** Fault ids that targeted this attempt. */
  readonly faults: readonly string[];
  /** Agent usage the attempt's worker reported (all zero when it reported none). */
  readonly usage: UsageTotals;
}

/** One fault in the report. */
export interface ReportFault {
  readonly faultId: string;
  readonly kind: string;
  readonly trigger: string;
  readonly status: 'injected' | 'no-target' | 'failed' | 'not-fired' | 'skipped';
  readonly firedAt: string | null;
  /** ms since the run started. */
  readonly offsetMs: number | null;
  readonly params: Readonly<Record<string, unknown>>;
  readonly targets: readonly { readonly containerId: string; readonly task?: string | undefined; readonly attempt?: number | undefined }[];
  readonly error?: string;
}

/** `report.json`: what a run did and whether its invariants held. */
export interface RunReport {
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly keelhaulVersion: string;
  readonly runId: string;
  readonly seed: number;
  readonly scenario: string;
  readonly scenarioFile: string | null;
  readonly status: 'passed' | 'failed';
  /** Why the run failed when no check explains it (aborted, timed out, daemon lost). */
  readonly error?: string;
  /** Present only when the scenario used `dangerouslyAllow`: the workers were not hardened (docs/security.md). */
  readonly unhardened?: { readonly dangerouslyAllow: readonly ('dockerSocket' | 'hostNetwork' | 'privileged')[]; readonly warning: string };
  /** Secret env values replaced by `[REDACTED:NAME]` in every file of the run; absent when none. */
  readonly redactedSecrets?: number;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationMs: number;
  readonly backend: 'docker' | 'local';
  readonly image: string;
  readonly network: string;
  readonly daemon: { readonly endpoint: string; readonly version: string; readonly apiVersion: string } | null;
  /** How many controllers drove the run: 1, plus one per resume. */
  readonly controllers: number;
  readonly tasks: readonly { readonly task: string; readonly outcome: 'completed' | 'failed' | 'not-run'; readonly attempts: number }[];
  readonly attempts: readonly ReportAttempt[];
  readonly faults: readonly ReportFault[];
  readonly cleanup: { readonly containers: number; readonly networks: number; readonly volumes: number; readonly errors: readonly string[] } | null;
  /** Resource figures from the monitor (samples in `samplesFile`, one JSON object per line). */
  readonly resources: (MonitorSummary & { readonly samplesFile: string }) | null;
  readonly checks: readonly CheckResult[];
  /** Agent usage per task and run, and what attempts that did not complete wasted. */
  readonly usage: RunUsage;
  /**
   * A system under test's run (scenario `sut`, docs/sut.md): its runs, its containers' timeline
   * (the daemon's events; they are also this report's `attempts`, per task in creation order),
   * and per disrupted task how long until a container of it ran again.
   */
  readonly sut?: ReportSut;
}

/** The `sut` section of {@link RunReport}. Times are ISO 8601. */
export interface ReportSut {
  readonly command: readonly string[];
  /** `KEELHAUL_STATE_DIR`: where its ledger and logs are looked for. */
  readonly stateDir: string;
  /** Its stdout and stderr, whole, in the run directory. */
  readonly output: { readonly stdout: string; readonly stderr: string };
  readonly exits: readonly {
    readonly phase: 'run' | 'resume';
    readonly exitCode: number | null;
    readonly signal: string | null;
    readonly startedAt: string;
    readonly endedAt: string;
    readonly killedBy?: 'sut-kill' | 'timeout' | 'abort';
    /** Its last stderr lines, for a run that did not exit 0. */
    readonly stderrTail?: readonly string[];
  }[];
  readonly containers: readonly {
    readonly containerId: string;
    readonly name: string;
    readonly task?: string;
    readonly createdAt: string | null;
    readonly startedAt: readonly string[];
    readonly diedAt: readonly { readonly time: string; readonly exitCode: number | null }[];
    readonly destroyedAt: string | null;
    readonly oomKilled: boolean;
    readonly faults: readonly string[];
  }[];
  /** fault → the next container of the task started (ms, null: none), and whether a later one exited 0. */
  readonly recovery: readonly { readonly faultId: string; readonly task: string; readonly containerId: string; readonly recoveryMs: number | null; readonly recovered: boolean }[];
}

/** Writes `report.json` atomically (see {@link writeFileAtomic}), so a reader never sees half a report. */
export async function writeReportJson(path: string, report: RunReport): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(report, null, 2)}\n`);
}
