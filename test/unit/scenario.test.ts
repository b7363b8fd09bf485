import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAULT_KINDS, loadScenarioFile, parseScenario, ScenarioError, validateScenario, type ScenarioIssue } from '../../src/scenario/index.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const smokePath = join(repoRoot, 'chaos/smoke.yaml');

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs `fn`, expects a ScenarioError, and returns it. */
function scenarioError(fn: () => unknown): ScenarioError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return error as ScenarioError;
  }
  throw new Error('expected a ScenarioError, but nothing was thrown');
}

async function scenarioErrorAsync(fn: () => Promise<unknown>): Promise<ScenarioError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return error as ScenarioError;
  }
  throw new Error('expected a ScenarioError, but nothing was thrown');
}

function issueFor(error: ScenarioError, field: string): ScenarioIssue {
  const issue = error.issues.find((i) => i.field === field);
  if (!issue) throw new Error(`no issue for field "${field}"; issues: ${JSON.stringify(error.issues)}`);
  return issue;
}

/** The 1-based line of the first line of `text` that contains `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((l) => l.includes(needle));
  if (index < 0) throw new Error(`"${needle}" is not in the text`);
  return index + 1;
}

const MINIMAL = ['name: mini', 'tasks:', '  count: 3', '  steps:', '    - sleep: 10', ''].join('\n');

describe('scenario: valid input', () => {
  it('scenario: a minimal scenario gets network none by default', () => {
    expect(parseScenario(MINIMAL).network).toBe('none');
  });

  it('scenario: a minimal scenario gets concurrency 2 by default', () => {
    expect(parseScenario(MINIMAL).concurrency).toBe(2);
  });

  it('scenario: a minimal scenario gets the default retry policy', () => {
    expect(parseScenario(MINIMAL).retry).toEqual({ maxAttempts: 3, backoffMs: 200, factor: 2, maxBackoffMs: 10_000 });
  });

  it('scenario: a minimal scenario gets 256 MiB of memory by default', () => {
    expect(parseScenario(MINIMAL).resources.memory).toBe(256 * 1024 * 1024);
  });

  it('scenario: a minimal scenario has no faults and every expectation on', () => {
    const s = parseScenario(MINIMAL);
    expect(s.faults).toEqual([]);
    expect(s.expect).toEqual({
      allCompleted: true,
      exactlyOnce: true,
      killedAttemptsRecover: true,
      disruptedTasksRecover: true,
      noLeaks: true,
      failedTasks: {},
      workspaceCompliance: true,
      lockExclusion: true,
      isolationProbe: true,
    });
  });

  it('scenario: tasks {count: 3, steps} expand to ids t-01..t-03 with the same steps', () => {
    const s = parseScenario(MINIMAL);
    expect(s.tasks.map((t) => t.id)).toEqual(['t-01', 't-02', 't-03']);
    for (const t of s.tasks) expect(t.steps).toEqual([{ sleep: 10 }]);
  });

  it('scenario: a count of 100 pads ids to three digits (t-001..t-100)', () => {
    const s = validateScenario({ name: 'wide', tasks: { count: 100, steps: [{ sleep: 1 }] } });
    expect(s.tasks[0]?.id).toBe('t-001');
    expect(s.tasks[99]?.id).toBe('t-100');
  });

  it('scenario: idPrefix replaces the t- prefix of expanded ids', () => {
    const s = validateScenario({ name: 'pre', tasks: { count: 2, idPrefix: 'job', steps: [{ sleep: 1 }] } });
    expect(s.tasks.map((t) => t.id)).toEqual(['job01', 'job02']);
  });

  it('scenario: a list of tasks is kept as written', () => {
    const s = validateScenario({
      name: 'list',
      tasks: [
        { id: 'alpha', steps: [{ sleep: 1 }] },
        { id: 'beta', steps: [{ exit: 3 }] },
      ],
    });
    expect(s.tasks.map((t) => t.id)).toEqual(['alpha', 'beta']);
  });

  it('scenario: memory "256m" is 268435456 bytes', () => {
    const s = parseScenario(`${MINIMAL}resources:\n  memory: "256m"\n`);
    expect(s.resources.memory).toBe(268435456);
  });

  it('scenario: memory "1g" is 1073741824 bytes and a number is taken as bytes', () => {
    expect(parseScenario(`${MINIMAL}resources:\n  memory: 1g\n`).resources.memory).toBe(1024 ** 3);
    expect(parseScenario(`${MINIMAL}resources:\n  memory: 1000\n`).resources.memory).toBe(1000);
  });

  it('scenario: a kill fault gets SIGKILL, a random worker target and nth 1 by default', () => {
    const s = parseScenario(`${MINIMAL}faults:\n  - kind: kill\n    trigger: { on: { event: task.started } }\n`);
    const fault = s.faults[0];
    expect(fault?.params).toEqual({ signal: 'SIGKILL', mode: 'api' });
    expect(fault?.target).toEqual({ labels: { role: 'worker' }, pick: 'random', count: 1 });
    expect(fault?.trigger).toEqual({ on: { event: 'task.started', nth: 1 } });
  });

  it('scenario: chaos/smoke.yaml loads with its tasks, fault and sizes', async () => {
    const s = await loadScenarioFile(smokePath);
    expect(s.name).toBe('smoke');
    expect(s.seed).toBe(1);
    expect(s.tasks.map((t) => t.id)).toEqual(['t-01', 't-02', 't-03', 't-04']);
    expect(s.resources.memory).toBe(268435456);
    expect(s.faults).toHaveLength(1);
    expect(s.faults[0]?.kind).toBe('kill');
    expect(s.faults[0]?.trigger).toEqual({ on: { event: 'task.started', nth: 2 } });
  });
});

describe('scenario: invalid input', () => {
  it('scenario: text that is not YAML is refused with an issue that has a line', () => {
    const error = scenarioError(() => parseScenario('name: [unclosed\n', 'bad.yaml'));
    expect(error.file).toBe('bad.yaml');
    expect(error.issues.length).toBeGreaterThan(0);
    expect(error.issues[0]?.message).toMatch(/not valid YAML/);
    expect(error.issues[0]?.line).toBeTypeOf('number');
  });

  it('scenario: a duplicate top-level key is refused as not valid YAML with its line', () => {
    const text = 'name: a\nname: b\ntasks:\n  count: 1\n  steps: [{sleep: 1}]\n';
    const error = scenarioError(() => parseScenario(text, 'dup.yaml'));
    expect(error.issues[0]?.message).toMatch(/not valid YAML/);
    expect(error.issues[0]?.line).toBe(2);
  });

  it('scenario: a document that is a list is refused as "got a list"', () => {
    const error = scenarioError(() => parseScenario('- a\n- b\n'));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.field).toBe('');
    expect(error.issues[0]?.message).toMatch(/expected a mapping.*got a list/);
  });

  it('scenario: a document that is a scalar is refused as not a mapping', () => {
    const error = scenarioError(() => parseScenario('hello\n'));
    expect(error.issues[0]?.message).toMatch(/expected a mapping.*got string/);
  });

  it('scenario: an empty document is refused as "an empty document"', () => {
    const error = scenarioError(() => parseScenario(''));
    expect(error.issues[0]?.message).toMatch(/expected a mapping.*an empty document/);
  });

  it('scenario: a missing tasks field is reported under field tasks', () => {
    const error = scenarioError(() => parseScenario('name: x\n'));
    expect(error.issues.map((i) => i.field)).toEqual(['tasks']);
  });

  it('scenario: a missing tasks field is reported as required', () => {
    const error = scenarioError(() => parseScenario('name: x\n'));
    expect(issueFor(error, 'tasks').message).toMatch(/required/i);
  });

  it('scenario: a value of the wrong type is not reported as missing', () => {
    const error = scenarioError(() => validateScenario({ name: 'x', concurrency: 'abc', tasks: { count: 1, steps: [{ sleep: 1 }] } }));
    const issue = issueFor(error, 'concurrency');
    expect(issue.message).not.toMatch(/required/);
    expect(issue.message).toMatch(/number/);
  });

  it('scenario: an unknown fault kind is refused naming faults[0].kind and its line', () => {
    const text = `${MINIMAL}faults:\n  - name: boom\n    kind: explode\n    trigger: { at: 5 }\n`;
    const error = scenarioError(() => parseScenario(text, 'kinds.yaml'));
    const issue = issueFor(error, 'faults[0].kind');
    expect(issue.line).toBe(lineOf(text, 'kind: explode'));
    expect(issue.message).toContain('"explode"');
    for (const kind of FAULT_KINDS) expect(issue.message).toContain(kind);
    expect(error.message).toContain(`kinds.yaml:${issue.line}`);
  });

  it('scenario: an unknown fault kind yields only the kind issue for that fault', () => {
    const text = `${MINIMAL}faults:\n  - kind: explode\n    trigger: { at: 5 }\n`;
    const error = scenarioError(() => parseScenario(text));
    expect(error.issues.filter((i) => i.field.startsWith('faults[0]'))).toHaveLength(1);
  });

  it('scenario: a fault without a kind is refused as required, listing the kinds', () => {
    const text = `${MINIMAL}faults:\n  - trigger: { at: 5 }\n`;
    const error = scenarioError(() => parseScenario(text));
    const issue = issueFor(error, 'faults[0].kind');
    expect(issue.message).toMatch(/required/);
    expect(issue.message).toContain('kill');
  });

  it('scenario: a negative count is refused under tasks.count with its line', () => {
    const text = 'name: x\ntasks:\n  count: -1\n  steps:\n    - sleep: 1\n';
    const error = scenarioError(() => parseScenario(text));
    const issue = issueFor(error, 'tasks.count');
    expect(issue.line).toBe(3);
  });

  it('scenario: an unknown top-level key is refused naming the key', () => {
    const text = `bogus: 1\n${MINIMAL}`;
    const error = scenarioError(() => parseScenario(text));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.message).toContain('"bogus"');
  });

  it('scenario: memory "lots" is refused under resources.memory with its line', () => {
    const text = `${MINIMAL}resources:\n  memory: "lots"\n`;
    const error = scenarioError(() => parseScenario(text));
    const issue = issueFor(error, 'resources.memory');
    expect(issue.line).toBe(lineOf(text, 'memory:'));
  });

  it('scenario: memory "lots" is refused with a message that shows a valid size', () => {
    const text = `${MINIMAL}resources:\n  memory: "lots"\n`;
    const error = scenarioError(() => parseScenario(text));
    expect(issueFor(error, 'resources.memory').message).toMatch(/256m|size/);
  });

  it('scenario: a negative memory number is refused', () => {
    const error = scenarioError(() => validateScenario({ name: 'x', tasks: { count: 1, steps: [{ sleep: 1 }] }, resources: { memory: -5 } }));
    expect(error.issues.map((i) => i.field)).toContain('resources.memory');
  });

  it('scenario: duplicate task ids are refused naming the second one', () => {
    const text = 'name: x\ntasks:\n  - id: a\n    steps: [{sleep: 1}]\n  - id: a\n    steps: [{sleep: 1}]\n';
    const error = scenarioError(() => parseScenario(text));
    const issue = issueFor(error, 'tasks[1].id');
    expect(issue.message).toContain('duplicate task id "a"');
    expect(issue.line).toBe(5);
  });

  it('scenario: a trigger naming a task the scenario does not have is refused', () => {
    const text = `${MINIMAL}faults:\n  - kind: kill\n    trigger: { on: { event: task.started, task: t-09 } }\n`;
    const error = scenarioError(() => parseScenario(text));
    const issue = issueFor(error, 'faults[0].trigger.on.task');
    expect(issue.message).toContain('"t-09"');
    expect(issue.line).toBe(lineOf(text, 't-09'));
  });

  it('scenario: a trigger naming an existing task is accepted', () => {
    const s = parseScenario(`${MINIMAL}faults:\n  - kind: kill\n    trigger: { on: { event: task.started, task: t-02 } }\n`);
    expect(s.faults[0]?.trigger).toMatchObject({ on: { task: 't-02' } });
  });

  it('scenario: a write path with .. is refused', () => {
    const text = 'name: x\ntasks:\n  count: 1\n  steps:\n    - write: { path: ../escape.txt }\n';
    const error = scenarioError(() => parseScenario(text));
    const issue = issueFor(error, 'tasks.steps[0].write.path');
    expect(issue.message).toMatch(/relative path/);
  });

  it('scenario: an absolute write path is refused', () => {
    const text = 'name: x\ntasks:\n  count: 1\n  steps:\n    - write: { path: /etc/passwd }\n';
    const error = scenarioError(() => parseScenario(text));
    expect(issueFor(error, 'tasks.steps[0].write.path').line).toBe(5);
  });

  it('scenario: a declared writes path with .. is refused', () => {
    const error = scenarioError(() => validateScenario({ name: 'x', tasks: [{ id: 'a', steps: [{ sleep: 1 }], writes: ['a/../../b'] }] }));
    expect(issueFor(error, 'tasks[0].writes[0]').message).toMatch(/no \.\./);
  });

  it('scenario: a missing file is a ScenarioError naming the path and "no such file"', async () => {
    const missing = join(tmpdir(), `keelhaul-no-such-scenario-${process.pid}.yaml`);
    const error = await scenarioErrorAsync(() => loadScenarioFile(missing));
    expect(error.file).toBe(missing);
    expect(error.message).toContain(missing);
    expect(error.issues[0]?.message).toMatch(/no such file/);
  });

  it('scenario: a directory given as the file is refused as a directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keelhaul-scenario-dir-'));
    tempDirs.push(dir);
    const error = await scenarioErrorAsync(() => loadScenarioFile(dir));
    expect(error.issues[0]?.message).toMatch(/is a directory/);
  });

  it('scenario: a file with an error names the file and line in the message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keelhaul-scenario-'));
    tempDirs.push(dir);
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'name: x\nconcurrency: 0\ntasks:\n  count: 1\n  steps: [{sleep: 1}]\n');
    const error = await scenarioErrorAsync(() => loadScenarioFile(path));
    expect(error.file).toBe(path);
    expect(error.message).toContain(`${path}:2`);
    expect(error.message).toContain('concurrency');
  });

  it('scenario: several problems are reported at once', () => {
    const text = ['name: "bad name!"', 'concurrency: 0', 'network: wifi', 'tasks:', '  count: 1', '  steps: [{sleep: 1}]', ''].join('\n');
    const error = scenarioError(() => parseScenario(text));
    expect(error.issues.map((i) => i.field).sort()).toEqual(['concurrency', 'name', 'network']);
    expect(issueFor(error, 'name').line).toBe(1);
    expect(issueFor(error, 'concurrency').line).toBe(2);
    expect(issueFor(error, 'network').line).toBe(3);
  });

  it('scenario: an inline object error names <inline> as the file', () => {
    const error = scenarioError(() => validateScenario({ name: 'x' }));
    expect(error.file).toBe('<inline>');
    expect(error.message).toContain('<inline>');
  });
});

describe('scenario: locks and the expect fields of issue #5', () => {
  it('a task may declare locks (reads and writes default to empty), and expect takes the new bounds', () => {
    const s = parseScenario(`
name: locks
tasks:
  - { id: a, steps: [{ sleep: 10 }], locks: { writes: [db] } }
  - { id: b, steps: [{ sleep: 10 }], locks: { reads: [db] } }
expect: { maxAttempts: 2, recoveryTimeMs: 5s, resourceStability: { rssGrowthBytes: 64m, eventBacklog: 100 } }
`);
    expect(s.tasks[0]!.locks).toEqual({ reads: [], writes: ['db'] });
    expect(s.tasks[1]!.locks).toEqual({ reads: ['db'], writes: [] });
    expect(s.expect.recoveryTimeMs).toBe(5000);
    expect(s.expect.resourceStability).toEqual({ rssGrowthBytes: 64 * 1024 * 1024, eventBacklog: 100 });
  });
  it('a bad lock name is an error naming the field', () => {
    expect(() => parseScenario('name: x\ntasks: [{ id: a, steps: [{ sleep: 1 }], locks: { writes: ["no spaces"] } }]\n')).toThrow(
      /tasks\[0\]\.locks\.writes\[0\]: expected a lock name/,
    );
  });
});
