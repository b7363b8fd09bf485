/**
 * Validation that tells the truth before anything runs (issue 14, item 5): each gap that
 * once validated and then misbehaved at run time now has its message, with its line.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError, type ScenarioIssue } from '../../src/scenario/index.js';

function issuesOf(text: string): ScenarioIssue[] {
  try {
    parseScenario(text, 'gap.yaml');
  } catch (error) {
    if (error instanceof ScenarioError) return [...error.issues];
    throw error;
  }
  throw new Error('expected the scenario to be refused');
}
const TASKS = 'tasks:\n  count: 2\n  steps:\n    - sleep: 10\n';

describe('scenario validation: what used to pass and then misbehave', () => {
  it('a duration past 2^31 - 1 ms is refused (a timer that long fires at once), as a number and with a unit', () => {
    const [byNumber] = issuesOf(`name: x\ntimeoutMs: 3000000000\n${TASKS}`);
    expect(byNumber).toMatchObject({ field: 'timeoutMs', line: 2 });
    expect(byNumber?.message).toMatch(/at most 2147483647 ms/);
    const [byUnit] = issuesOf(`name: x\ntimeoutMs: 600h\n${TASKS}`);
    expect(byUnit?.message).toMatch(/at most 2147483647 ms/);
    expect(() => parseScenario(`name: x\ntimeoutMs: 596h\n${TASKS}`)).not.toThrow();
  });

  it('an unknown signal name is refused, listing the known ones', () => {
    const [issue] = issuesOf(`name: x\n${TASKS}faults:\n  - kind: kill\n    trigger: { at: 1s }\n    params: { signal: SIGFOO }\n`);
    expect(issue).toMatchObject({ field: 'faults[0].params.signal', line: 9 });
    expect(issue?.message).toMatch(/^unknown signal "SIGFOO"; expected one of .*SIGKILL/);
  });

  it('a step error names the step and the expected kinds instead of "Invalid input"', () => {
    const issues = issuesOf('name: x\ntasks:\n  count: 1\n  steps:\n    - slep: 10\n    - write: { path: a, colour: red }\n    - { sleep: 1, exit: 2 }\n');
    expect(issues.map((i) => [i.field, i.line])).toEqual([
      ['tasks.steps[0]', 5],
      ['tasks.steps[1].write', 6],
      ['tasks.steps[2]', 7],
    ]);
    expect(issues[0]?.message).toMatch(/^unknown step "slep"; expected one of sleep \(a duration\), write/);
    expect(issues[1]?.message).toBe('write step: unknown field "colour" (write takes { path, content?, bytes? })');
    expect(issues[2]?.message).toMatch(/exactly one key, got sleep, exit/);
    expect(issues.some((i) => i.message.includes('Invalid input'))).toBe(false);
  });

  it('triggers that can never fire are reported: at past timeoutMs, an event no worker emits, nth beyond the tasks, an attempt beyond maxAttempts', () => {
    const issues = issuesOf(
      `name: x\ntimeoutMs: 10s\n${TASKS}faults:\n` +
        '  - kind: kill\n    trigger: { at: 20s }\n' +
        '  - kind: kill\n    trigger: { on: { event: task.strated } }\n' +
        '  - kind: kill\n    trigger: { on: { event: task.started, nth: 7 } }\n' +
        '  - kind: kill\n    trigger: { on: { event: task.started, attempt: 4 } }\n',
    );
    expect(issues.map((i) => i.field)).toEqual(['faults[0].trigger.at', 'faults[1].trigger.on.event', 'faults[2].trigger.on.nth', 'faults[3].trigger.on.attempt']);
    expect(issues[2]?.message).toBe('counts task.started number 7, but 2 task(s) × 3 attempt(s) emit at most 6: it would never fire');
    // The bound itself is reachable, and a user's own worker may emit event types of its own.
    expect(() => parseScenario(`name: x\n${TASKS}faults:\n  - kind: kill\n    trigger: { on: { event: task.started, nth: 6 } }\n`)).not.toThrow();
    expect(() => parseScenario(`name: x\nimage: team/worker:1\n${TASKS}faults:\n  - kind: kill\n    trigger: { on: { event: tool.called } }\n`)).not.toThrow();
  });

  it('one message per problem, sorted by line', () => {
    const issues = issuesOf('name: "bad name"\nconcurrency: 0\ntasks:\n  count: 1\n  steps:\n    - slep: 1\nfaults:\n  - kind: explode\n');
    const lines = issues.map((i) => i.line ?? Infinity);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    expect(new Set(issues.map((i) => `${i.field} ${i.message}`)).size).toBe(issues.length);
    expect(issues.map((i) => i.field)).toEqual(['name', 'concurrency', 'tasks.steps[0]', 'faults[0].kind']);
  });
});
