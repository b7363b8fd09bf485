import type { ReportAttemptOutcome } from './attempt-outcome.js';

/*
 * Agent usage accounting. Workers report `usage: {tokensIn, tokensOut, costUsd}` for the
 * work done since their previous report (docs/worker-contract.md) on task.progress,
 * task.completed and task.failed; the sums here are per attempt, task and run. Usage of an
 * attempt that did not complete (killed, failed, hung, oom, lost) bought nothing the run
 * kept: it is also counted as wasted, by outcome.
 */

/** Summed agent usage. Tokens are integers; dollars are rounded to micro-dollars. */
export interface UsageTotals {
  readonly tokensIn: number;
  readonly tokensOut: number;
  /** tokensIn + tokensOut. */
  readonly tokens: number;
  /** US dollars. */
  readonly costUsd: number;
  /** Worker events that carried a `usage` object. */
  readonly reports: number;
}

/** One task's usage: everything its attempts reported, and the part of it wasted. */
export interface TaskUsage extends UsageTotals {
  readonly task: string;
  /** Usage of the task's attempts that did not complete. */
  readonly wasted: UsageTotals;
}

/** `usage` in report.json. */
export interface RunUsage {
  /** Everything every attempt reported. */
  readonly total: UsageTotals;
  /** Usage of attempts that did not complete (outcome other than `completed`). */
  readonly wasted: UsageTotals;
  /** `wasted`, split by the attempts' outcome; outcomes with no usage are left out. */
  readonly wastedByOutcome: Readonly<Partial<Record<Exclude<ReportAttemptOutcome, 'completed'>, UsageTotals>>>;
  /** Per task, in the scenario's order (tasks with no usage included, all zero). */
  readonly tasks: readonly TaskUsage[];
}

/** One usage report as a worker sent it. */
export interface UsageReport {
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly costUsd: number;
}

/** The totals of nothing. */
export const ZERO_USAGE: UsageTotals = { tokensIn: 0, tokensOut: 0, tokens: 0, costUsd: 0, reports: 0 };

/** Dollars rounded to micro-dollars, as the reference worker rounds them, so sums compare exactly enough. */
const usd = (n: number): number => Math.round(n * 1e6) / 1e6;

/** Adds two totals. */
export function addUsage(a: UsageTotals, b: UsageTotals): UsageTotals {
  return {
    tokensIn: a.tokensIn + b.tokensIn,
    tokensOut: a.tokensOut + b.tokensOut,
    tokens: a.tokens + b.tokens,
    costUsd: usd(a.costUsd + b.costUsd),
    reports: a.reports + b.reports,
  };
}

/**
 * Sums worker usage per attempt (`task#attempt`). The controller feeds it every worker
 * event it records — including, on resume, the events an earlier controller recorded — so
 * an attempt's usage is the same whichever controller saw it.
 */
export class UsageTally {
  readonly #byAttempt = new Map<string, UsageTotals>();

  /** Adds one report to an attempt. */
  add(task: string, attempt: number, usage: UsageReport): void {
    const key = `${task}#${attempt}`;
    const one: UsageTotals = {
      tokensIn: usage.tokensIn,
      tokensOut: usage.tokensOut,
      tokens: usage.tokensIn + usage.tokensOut,
      costUsd: usd(usage.costUsd),
      reports: 1,
    };
    this.#byAttempt.set(key, addUsage(this.#byAttempt.get(key) ?? ZERO_USAGE, one));
  }

  /** An attempt's totals; {@link ZERO_USAGE} when it reported none. */
  of(task: string, attempt: number): UsageTotals {
    return this.#byAttempt.get(`${task}#${attempt}`) ?? ZERO_USAGE;
  }

  /** The run's totals so far, whatever the attempts' outcomes. */
  total(): UsageTotals {
    let sum = ZERO_USAGE;
    for (const u of this.#byAttempt.values()) sum = addUsage(sum, u);
    return sum;
  }
}

/**
 * Sums per-attempt usage into the report's `usage`: per task, the run's total and what
 * attempts that did not complete wasted (split by outcome).
 *
 * @param taskIds the scenario's tasks, in order (a task absent from `attempts` gets zeros)
 * @param attempts each attempt's outcome and usage
 */
export function summarizeUsage(
  taskIds: readonly string[],
  attempts: readonly { readonly task: string; readonly outcome: ReportAttemptOutcome; readonly usage: UsageTotals }[],
): RunUsage {
  let total = ZERO_USAGE;
  let wasted = ZERO_USAGE;
  const wastedByOutcome: Partial<Record<Exclude<ReportAttemptOutcome, 'completed'>, UsageTotals>> = {};
  const perTask = new Map<string, { all: UsageTotals; wasted: UsageTotals }>(taskIds.map((t) => [t, { all: ZERO_USAGE, wasted: ZERO_USAGE }]));
  for (const a of attempts) {
    total = addUsage(total, a.usage);
    const t = perTask.get(a.task) ?? { all: ZERO_USAGE, wasted: ZERO_USAGE };
    t.all = addUsage(t.all, a.usage);
    if (a.outcome !== 'completed') {
      wasted = addUsage(wasted, a.usage);
      t.wasted = addUsage(t.wasted, a.usage);
      if (a.usage.reports > 0) wastedByOutcome[a.outcome] = addUsage(wastedByOutcome[a.outcome] ?? ZERO_USAGE, a.usage);
    }
    perTask.set(a.task, t);
  }
  return {
    total,
    wasted,
    wastedByOutcome,
    tasks: [...perTask].map(([task, u]) => ({ task, ...u.all, wasted: u.wasted })),
  };
}

/** `$0.012345` — dollars with enough digits for synthetic per-step figures. */
export function formatUsd(costUsd: number): string {
  return `$${costUsd < 1 ? costUsd.toFixed(6) : costUsd.toFixed(2)}`;
}
