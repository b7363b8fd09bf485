import { describe, expect, it } from 'vitest';
import type { AttemptFacts } from '../../src/checks/index.js';
import { expectChecks } from '../../src/controller/expect-checks.js';
import { parseScenario } from '../../src/scenario/index.js';

const attempt = (task: string, n: number, outcome: AttemptFacts['outcome'] = 'completed'): AttemptFacts => ({
  task,
  attempt: n,
  containerId: `${task}-${n}`,
  exitCode: 0,
  oomKilled: false,
  outcome,
  completedEvents: outcome === 'completed' ? 1 : 0,
  auditProblems: [],
  audited: true,
});

const base = { faults: [], timeline: [], backlog: { samples: 0, peakEvents: 0 } };

describe('expectChecks: what the scenario selects', () => {
  it('a plain scenario gets attempts-within-bound only, bounded by retry.maxAttempts', () => {
    const scenario = parseScenario('name: x\nretry: { maxAttempts: 2 }\ntasks: { count: 1, steps: [{ sleep: 1 }] }\n');
    const checks = expectChecks({ ...base, scenario, attempts: [attempt('t-01', 1)] });
    expect(checks.map((c) => c.name)).toEqual(['attempts-within-bound']);
    expect(checks[0]!.expected).toBe('every task used at most 2 attempt(s)');
  });

  it('expect fields and task writes/locks select the other checks; a completed attempt never listed fails compliance', () => {
    const scenario = parseScenario(`
name: x
tasks:
  - { id: a, steps: [{ sleep: 1 }], writes: [out.txt], locks: { writes: [db] } }
  - { id: b, steps: [{ sleep: 1 }], locks: { reads: [db] } }
expect: { maxAttempts: 1, recoveryTimeMs: 1s, resourceStability: { eventBacklog: 10 } }
`);
    const checks = expectChecks({
      ...base,
      scenario,
      attempts: [attempt('a', 1), attempt('b', 1)],
      backlog: { samples: 3, peakEvents: 11 },
      workspaceListings: new Map(),
      timeline: [
        { ts: '2026-01-01T00:00:00.000Z', run: 'r', type: 'attempt.running', task: 'a', attempt: 1, containerId: 'a-1', containerName: 'n' },
        { ts: '2026-01-01T00:00:00.500Z', run: 'r', type: 'attempt.running', task: 'b', attempt: 1, containerId: 'b-1', containerName: 'n' },
      ],
    });
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['attempts-within-bound', true],
      ['recovery-time', true],
      ['resource-stability', false],
      ['workspace-compliance', false],
      ['lock-exclusion', false],
    ]);
    expect(checks[3]!.evidence[0]).toBe('a attempt 1: no listing of its workspace (not listed)');
    expect(checks[4]!.evidence[0]).toContain('on lock(s) db');
  });

  it('expect.workspaceCompliance and expect.lockExclusion false turn those checks off', () => {
    const scenario = parseScenario(`
name: x
tasks: [{ id: a, steps: [{ sleep: 1 }], writes: [o], locks: { writes: [db] } }]
expect: { workspaceCompliance: false, lockExclusion: false }
`);
    expect(expectChecks({ ...base, scenario, attempts: [attempt('a', 1)], workspaceListings: new Map() }).map((c) => c.name)).toEqual(['attempts-within-bound']);
  });
});
