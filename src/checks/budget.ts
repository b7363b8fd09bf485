import type { CheckResult } from './invariants.js';

/** The scenario's `budget:` limits; each is optional. */
export interface BudgetLimits {
  /** Tokens (in + out) of every attempt. */
  readonly tokens?: number | undefined;
  /** US dollars of every attempt. */
  readonly costUsd?: number | undefined;
  /** US dollars of attempts that did not complete. */
  readonly wastedCostUsd?: number | undefined;
}

/** What the budget check reads of the run's usage (the report's `usage`). */
export interface BudgetUsage {
  readonly total: { readonly tokens: number; readonly costUsd: number; readonly reports: number };
  readonly wasted: { readonly tokens: number; readonly costUsd: number };
  /** Per task, for the evidence: the tasks that spent most come first there. */
  readonly tasks: readonly { readonly task: string; readonly tokens: number; readonly costUsd: number; readonly wasted: { readonly costUsd: number } }[];
}

const usd = (n: number): string => `$${n.toFixed(6)}`;

/**
 * `budget`: the agent usage workers reported stays within the scenario's `budget` — total
 * tokens, total dollars, and dollars wasted on attempts that did not complete. A limit is
 * exceeded when the usage is strictly greater than it. With no budget (or an empty one)
 * the check passes and says that nothing was limited, with the figures observed.
 */
export function checkBudget(usage: BudgetUsage, budget: BudgetLimits | undefined): CheckResult {
  const observed = `${usage.total.tokens} tokens, ${usd(usage.total.costUsd)} (${usd(usage.wasted.costUsd)} wasted on attempts that did not complete) from ${usage.total.reports} usage report(s)`;
  const limits: { name: string; limit: number; used: number; show: (n: number) => string }[] = [];
  if (budget?.tokens !== undefined) limits.push({ name: 'tokens', limit: budget.tokens, used: usage.total.tokens, show: (n) => `${n} tokens` });
  if (budget?.costUsd !== undefined) limits.push({ name: 'costUsd', limit: budget.costUsd, used: usage.total.costUsd, show: usd });
  if (budget?.wastedCostUsd !== undefined) limits.push({ name: 'wastedCostUsd', limit: budget.wastedCostUsd, used: usage.wasted.costUsd, show: usd });
  if (limits.length === 0) {
    return { name: 'budget', ok: true, expected: 'no budget set (scenario `budget:` absent): usage is not limited', observed, evidence: [] };
  }
  const over = limits.filter((l) => l.used > l.limit);
  const expected = limits.map((l) => `${l.name} ≤ ${l.show(l.limit)}`).join(', ');
  if (over.length === 0) return { name: 'budget', ok: true, expected, observed, evidence: [] };
  const spenders = [...usage.tasks]
    .filter((t) => t.tokens > 0)
    .sort((a, b) => b.costUsd - a.costUsd)
    .slice(0, 5)
    .map((t) => `task ${t.task}: ${t.tokens} tokens, ${usd(t.costUsd)} (${usd(t.wasted.costUsd)} wasted)`);
  return {
    name: 'budget',
    ok: false,
    expected,
    observed: `${observed}; over budget: ${over.map((l) => `${l.name} ${l.show(l.used)} > ${l.show(l.limit)}`).join(', ')}`,
    evidence: spenders,
  };
}
