/**
 * Issue #16 items 2 and 8: a task's own fields reach the worker unchanged, `steps` is
 * optional unless keelhaul's reference worker runs the task, tasks from a JSONL file,
 * `${VAR}` in env (checked at load, expanded at run time, redacted when secret-named),
 * `$schema`, `x-*` keys and YAML merge keys.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { attemptTaskOf, localBackendProblems, workerEnvironment } from '../../src/backends/index.js';
import { resumeRun } from '../../src/controller/index.js';
import { Redactor, redactorFor, restoreSecretEnv, secretsOfResolved } from '../../src/controller/redaction.js';
import type { DockerClient } from '../../src/docker/index.js';
import { runStateFixture } from '../setup/run-state.js';
import { loadScenarioFile, parseScenario, resolveScenarioEnv, ScenarioError, scenarioJsonSchema, validateScenario, type ScenarioIssue } from '../../src/scenario/index.js';
import { parse as parseYaml } from 'yaml';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keelhaul-task-fields-'));
  dirs.push(dir);
  return dir;
}

function refusal(fn: () => unknown): ScenarioError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return error as ScenarioError;
  }
  throw new Error('expected a ScenarioError');
}
async function refusalAsync(fn: () => Promise<unknown>): Promise<ScenarioError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return error as ScenarioError;
  }
  throw new Error('expected a ScenarioError');
}
function issue(error: ScenarioError, field: string): ScenarioIssue {
  const found = error.issues.find((i) => i.field === field);
  if (!found) throw new Error(`no issue for ${field}: ${JSON.stringify(error.issues)}`);
  return found;
}

const CUSTOM = 'image: acme/agent:1\n';

describe('task fields', () => {
  it('task fields: extra keys of any JSON type are kept on the task, as written', () => {
    const s = parseScenario(`name: x\n${CUSTOM}tasks:\n  - id: a\n    prompt: "fix the bug"\n    budget: { tokens: 5, tags: [x, 1, null, true] }\n    retries: 2.5\n`);
    expect(s.tasks[0]).toEqual({ id: 'a', prompt: 'fix the bug', budget: { tokens: 5, tags: ['x', 1, null, true] }, retries: 2.5 });
  });

  it('task fields: KEELHAUL_TASK carries them unchanged, with heartbeatMs, without locks', () => {
    const s = validateScenario({
      name: 'x',
      image: 'acme/agent:1',
      heartbeatMs: 250,
      tasks: [{ id: 'a', prompt: 'p', meta: { n: [1, 2] }, writes: ['out.txt'], locks: { writes: ['db'] } }],
    });
    const env = workerEnvironment({ runId: 'r', taskId: 'a', attempt: 1, seed: 1, task: attemptTaskOf(s.tasks[0]!, s.heartbeatMs) });
    expect(JSON.parse(env['KEELHAUL_TASK']!)).toEqual({ id: 'a', prompt: 'p', meta: { n: [1, 2] }, writes: ['out.txt'], heartbeatMs: 250 });
  });

  it('task fields: the reference worker gets its steps as before', () => {
    const s = validateScenario({ name: 'x', tasks: [{ id: 'a', steps: [{ sleep: 1 }] }] });
    expect(attemptTaskOf(s.tasks[0]!, 1000)).toEqual({ id: 'a', steps: [{ sleep: 1 }], heartbeatMs: 1000 });
  });

  it('task fields: a value that is not JSON (Infinity, a function) is refused, naming the field', () => {
    const error = refusal(() => validateScenario({ name: 'x', image: 'acme/agent:1', tasks: [{ id: 'a', weight: Number.POSITIVE_INFINITY }] }));
    expect(issue(error, 'tasks[0].weight').message).toMatch(/JSON value/);
  });

  it('task fields: a near miss of a known field is refused as a typo, with its line', () => {
    const text = `name: x\n${CUSTOM}tasks:\n  - id: a\n    step:\n      - sleep: 1\n`;
    const error = refusal(() => parseScenario(text));
    const found = issue(error, 'tasks[0].step');
    expect(found.message).toMatch(/did you mean "steps"/);
    expect(found.line).toBe(5);
    for (const typo of ['Steps', 'stpes', 'write', 'lock', 'ID']) {
      expect(() => validateScenario({ name: 'x', image: 'acme/agent:1', tasks: [{ id: 'a', [typo]: [] }] }), typo).toThrow(ScenarioError);
    }
    // A changed letter is a name of its own, not a typo: it goes to the worker.
    expect(validateScenario({ name: 'x', image: 'acme/agent:1', tasks: [{ id: 'a', writer: 'me', looks: 1 }] }).tasks[0]).toEqual({ id: 'a', writer: 'me', looks: 1 });
  });

  it('task fields: known fields stay strict (a bad writes path, an unknown key in locks)', () => {
    const error = refusal(() => validateScenario({ name: 'x', image: 'acme/agent:1', tasks: [{ id: 'a', writes: ['../x'], locks: { write: ['db'] } }] }));
    expect(error.issues.map((i) => i.field)).toEqual(expect.arrayContaining(['tasks[0].writes[0]', 'tasks[0].locks']));
  });

  it("task fields: heartbeatMs is keelhaul's own and refused on a task", () => {
    const error = refusal(() => validateScenario({ name: 'x', image: 'acme/agent:1', tasks: [{ id: 'a', heartbeatMs: 5 }] }));
    expect(issue(error, 'tasks[0].heartbeatMs').message).toMatch(/set by keelhaul/);
  });
});

describe('steps: optional for a worker of your own', () => {
  it('steps: a task without steps is valid for an image of your own (list and count forms)', () => {
    expect(validateScenario({ name: 'x', image: 'acme/agent:1', tasks: [{ id: 'a', prompt: 'p' }] }).tasks[0]).toEqual({ id: 'a', prompt: 'p' });
    const s = validateScenario({ name: 'x', image: 'acme/agent:1', tasks: { count: 2 } });
    expect(s.tasks).toEqual([{ id: 't-01' }, { id: 't-02' }]);
  });

  it('steps: refused with the reference worker image, naming the task, field and line', () => {
    const text = 'name: x\nimage: keelhaul/worker:{version}\ntasks:\n  - id: a\n    steps: [{sleep: 1}]\n  - id: b\n    prompt: hi\n';
    const error = refusal(() => parseScenario(text, 'x.yaml'));
    const found = issue(error, 'tasks[1].steps');
    expect(found.message).toMatch(/task "b" has no steps/);
    expect(found.message).toMatch(/reference worker/);
    expect(found.line).toBe(6);
    expect(error.message).toContain('x.yaml:6');
  });

  it('steps: refused by default (the default image is the reference worker) and on the local backend', () => {
    expect(
      issue(
        refusal(() => validateScenario({ name: 'x', tasks: [{ id: 'a' }] })),
        'tasks[0].steps',
      ).message,
    ).toMatch(/no steps/);
    expect(
      issue(
        refusal(() => validateScenario({ name: 'x', image: 'acme/agent:1', backend: 'local', tasks: { count: 1 } })),
        'tasks.steps',
      ).message,
    ).toMatch(/local backend/);
  });

  it('steps: --backend local over a custom-image scenario is refused by the local backend', () => {
    const s = validateScenario({ name: 'x', image: 'acme/agent:1', tasks: [{ id: 'a', steps: [{ sleep: 1 }] }, { id: 'b' }] });
    const problems = localBackendProblems(s, true);
    expect(problems).toContainEqual({ field: 'tasks[1].steps', message: expect.stringMatching(/task "b" has no steps/) as unknown as string });
  });
});

describe('tasks from a JSONL file', () => {
  it('tasks.file: one task a line, relative to the scenario file, blank lines skipped', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'tasks.jsonl'), '{"id":"a","prompt":"one"}\n\n{"id":"b","prompt":{"text":"two"},"x-note":"dropped"}\n');
    writeFileSync(join(dir, 's.yaml'), `name: x\n${CUSTOM}tasks: { file: tasks.jsonl }\n`);
    const s = await loadScenarioFile(join(dir, 's.yaml'));
    expect(s.tasks).toEqual([
      { id: 'a', prompt: 'one' },
      { id: 'b', prompt: { text: 'two' } },
    ]);
  });

  it('tasks.file: a line that is not JSON, and a bad task, are named by the JSONL file and line', async () => {
    const dir = tempDir();
    const jsonl = join(dir, 'tasks.jsonl');
    writeFileSync(jsonl, '{"id":"a"}\n{"id":"b",\n\n{"id":"bad id!"}\n');
    writeFileSync(join(dir, 's.yaml'), `name: x\n${CUSTOM}tasks: { file: tasks.jsonl }\n`);
    const notJson = await refusalAsync(() => loadScenarioFile(join(dir, 's.yaml')));
    expect(issue(notJson, 'tasks[1]')).toMatchObject({ file: jsonl, line: 2 });
    expect(notJson.message).toContain(`${jsonl}:2: tasks[1]: not JSON`);

    writeFileSync(jsonl, '{"id":"a"}\n\n{"id":"bad id!"}\n{"id":"c","stesp":[]}\n');
    const invalid = await refusalAsync(() => loadScenarioFile(join(dir, 's.yaml')));
    expect(issue(invalid, 'tasks[1].id')).toMatchObject({ file: jsonl, line: 3 });
    expect(issue(invalid, 'tasks[2].stesp')).toMatchObject({ file: jsonl, line: 4 });
  });

  it('tasks.file: a missing or empty file is refused at the scenario line of tasks.file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 's.yaml'), `name: x\n${CUSTOM}tasks:\n  file: none.jsonl\n`);
    const missing = await refusalAsync(() => loadScenarioFile(join(dir, 's.yaml')));
    expect(issue(missing, 'tasks.file')).toMatchObject({ line: 4 });
    expect(issue(missing, 'tasks.file').message).toMatch(/no such file/);
    writeFileSync(join(dir, 'none.jsonl'), '\n');
    expect(issue(await refusalAsync(() => loadScenarioFile(join(dir, 's.yaml'))), 'tasks.file').message).toMatch(/holds no task/);
  });

  it('tasks.file: the reference worker needs steps on every JSONL task too', async () => {
    const dir = tempDir();
    const jsonl = join(dir, 't.jsonl');
    writeFileSync(jsonl, '{"id":"a","steps":[{"sleep":1}]}\n{"id":"b"}\n');
    writeFileSync(join(dir, 's.yaml'), 'name: x\ntasks: { file: t.jsonl }\n');
    expect(issue(await refusalAsync(() => loadScenarioFile(join(dir, 's.yaml'))), 'tasks[1].steps')).toMatchObject({ file: jsonl, line: 2 });
  });

  it('tasks.file: given as text or an object (no file to be relative to), it is refused by name', () => {
    expect(
      issue(
        refusal(() => parseScenario(`name: x\n${CUSTOM}tasks: { file: t.jsonl }\n`)),
        'tasks.file',
      ).message,
    ).toMatch(/loadScenarioFile/);
  });
});

describe('YAML niceties', () => {
  it('$schema and x-* keys are accepted at the top, in tasks, faults and top-level mappings, and dropped', () => {
    const text = [
      '$schema: ../docs/scenario.schema.json',
      'x-defaults: &steps [{ sleep: 1 }]',
      'name: x',
      'retry: { maxAttempts: 2, x-why: flaky }',
      'tasks:',
      '  - { id: a, steps: *steps, x-owner: me }',
      'faults:',
      '  - kind: kill',
      '    x-note: first',
      '    trigger: { at: 10, x-t: 1 }',
      '    target: { pick: first, x-t: 1 }',
      '',
    ].join('\n');
    const s = parseScenario(text);
    expect(s.tasks).toEqual([{ id: 'a', steps: [{ sleep: 1 }] }]);
    expect(s.retry.maxAttempts).toBe(2);
    expect(s.faults[0]?.trigger).toEqual({ at: 10 });
    expect(Object.keys(s).some((k) => k.startsWith('x-') || k === '$schema')).toBe(false);
  });

  it('$schema that is not a string is refused by name', () => {
    expect(
      issue(
        refusal(() => parseScenario('$schema: 3\nname: x\ntasks: { count: 1, steps: [{ sleep: 1 }] }\n')),
        '$schema',
      ),
    ).toMatchObject({ line: 1 });
  });

  it('x-* keys stay data where keys are data (env names, labels) and in steps', () => {
    expect(() => validateScenario({ name: 'x', tasks: [{ id: 'a', steps: [{ sleep: 1, 'x-a': 1 }] }] })).toThrow(ScenarioError);
    const s = validateScenario({ name: 'x', tasks: [{ id: 'a', steps: [{ sleep: 1 }] }], faults: [{ kind: 'kill', trigger: { at: 5 }, target: { labels: { 'x-team': 'a' } } }] });
    expect(s.faults[0]?.target.labels).toEqual({ 'x-team': 'a' });
  });

  it('YAML merge keys (<<: *anchor) merge a mapping, the local keys winning', () => {
    const text = [
      'x-task: &base',
      '  steps: [{ sleep: 1 }]',
      '  writes: [a.txt]',
      'name: x',
      'tasks:',
      '  - <<: *base',
      '    id: a',
      '  - <<: *base',
      '    id: b',
      '    writes: [b.txt]',
      '',
    ].join('\n');
    const s = parseScenario(text);
    expect(s.tasks).toEqual([
      { id: 'a', steps: [{ sleep: 1 }], writes: ['a.txt'] },
      { id: 'b', steps: [{ sleep: 1 }], writes: ['b.txt'] },
    ]);
  });

  it('the JSON Schema accepts $schema, x-* keys and task fields of your own', () => {
    const ajv = new Ajv2020({ strict: false });
    const validate = ajv.compile(scenarioJsonSchema());
    const doc = parseYaml(
      '$schema: ./s.json\nx-a: 1\nname: x\nimage: acme/a:1\ntasks:\n  - { id: a, prompt: hi, x-b: 2 }\nfaults:\n  - { kind: kill, trigger: { at: 5 }, x-c: 3 }\n',
    ) as unknown;
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ name: 'x', tasks: [{ id: 'a' }], wat: 1 })).toBe(false);
  });
});

describe('${VAR} in env', () => {
  it('env: an unset variable without a default is refused at load, naming env.NAME and its line', () => {
    delete process.env['KH_TEST_UNSET_TOKEN'];
    const text = `name: x\n${CUSTOM}env:\n  A: plain\n  API_TOKEN: "\${KH_TEST_UNSET_TOKEN}"\ntasks: [{ id: a }]\n`;
    const found = issue(
      refusal(() => parseScenario(text, 's.yaml')),
      'env.API_TOKEN',
    );
    expect(found.line).toBe(5);
    expect(found.message).toMatch(/KH_TEST_UNSET_TOKEN} is not set/);
  });

  it('env: the scenario keeps the reference as written; a default or a set variable passes validation', () => {
    process.env['KH_TEST_SET'] = 'v1';
    const s = validateScenario({ name: 'x', image: 'acme/a:1', env: { A: '${KH_TEST_SET}', B: '${KH_TEST_NOPE:-dflt}' }, tasks: [{ id: 'a' }] });
    expect(s.env).toEqual({ A: '${KH_TEST_SET}', B: '${KH_TEST_NOPE:-dflt}' });
    delete process.env['KH_TEST_SET'];
  });

  it('resolveScenarioEnv: expands each value, records the variables read, and refuses an unset one as a ScenarioError', () => {
    const resolved = resolveScenarioEnv({ AUTH: 'Bearer ${TOK}', PLAIN: 'a', LIT: 'x$$y', D: '${NONE:-d}' }, 's.yaml', { TOK: 't0ken' });
    expect(resolved.values).toEqual({ AUTH: 'Bearer t0ken', PLAIN: 'a', LIT: 'x$y', D: 'd' });
    expect(resolved.variables).toEqual({ AUTH: [{ name: 'TOK', value: 't0ken' }] });
    const error = refusal(() => resolveScenarioEnv({ API_TOKEN: '${NOPE}' }, 'state.json', {}));
    expect(error.issues[0]).toMatchObject({ field: 'env.API_TOKEN' });
    expect(error.file).toBe('state.json');
  });

  it('redaction: a value read from a secret-named variable is redacted under a plain env name, and the variable alone too', () => {
    const resolved = resolveScenarioEnv({ AUTH: 'Bearer ${CI_API_TOKEN}', MODEL: '${MODEL_NAME}' }, 's', { CI_API_TOKEN: 'tok-123456', MODEL_NAME: 'big-model' });
    const redactor = redactorFor({ env: { AUTH: 'Bearer ${CI_API_TOKEN}', MODEL: '${MODEL_NAME}' }, redact: { names: ['*_TOKEN'], minLength: 4 } }, resolved);
    expect(redactor.text('h=Bearer tok-123456 t=tok-123456 m=big-model')).toBe('h=[REDACTED:AUTH] t=[REDACTED:CI_API_TOKEN] m=big-model');
  });

  it('redaction: a secret-named env read from a plain variable is redacted; the reference itself is not a secret', () => {
    const resolved = resolveScenarioEnv({ API_TOKEN: '${FROM_CI}' }, 's', { FROM_CI: 'abcdef' });
    const secrets = secretsOfResolved(resolved, ['*_TOKEN'], 4);
    expect(secrets).toEqual([{ name: 'API_TOKEN', value: 'abcdef' }]);
    const redactor = new Redactor(secrets);
    expect(redactor.value({ env: { API_TOKEN: '${FROM_CI}' }, log: 'abcdef' })).toEqual({ env: { API_TOKEN: '${FROM_CI}' }, log: '[REDACTED:API_TOKEN]' });
  });

  it('redaction: a secret written with $$ is hidden in its written form as well', () => {
    const resolved = resolveScenarioEnv({ DB_PASSWORD: 'pa$$word' }, 's', {});
    expect(new Redactor(secretsOfResolved(resolved, ['*PASSWORD*'])).text('pa$word pa$$word')).toBe('[REDACTED:DB_PASSWORD] [REDACTED:DB_PASSWORD]');
  });

  it('resume: a redacted default is restored from the scenario file; a marker alone from the environment, $ kept literal', async () => {
    const env = await restoreSecretEnv({ API_TOKEN: '${X:-[REDACTED:API_TOKEN]}' }, () => Promise.resolve({ API_TOKEN: '${X:-s3cret}' }));
    expect(env['API_TOKEN']).toBe('${X:-s3cret}');
    // Only a value that is the marker alone may come from the environment: a default cannot.
    await expect(restoreSecretEnv({ API_TOKEN: '${X:-[REDACTED:API_TOKEN]}' }, () => Promise.resolve(undefined))).rejects.toThrow(/API_TOKEN/);
    process.env['DB_PASSWORD'] = 'a$b';
    try {
      const again = await restoreSecretEnv({ DB_PASSWORD: '[REDACTED:DB_PASSWORD]' }, () => Promise.resolve(undefined));
      expect(resolveScenarioEnv(again, 's', {}).values['DB_PASSWORD']).toBe('a$b');
    } finally {
      delete process.env['DB_PASSWORD'];
    }
  });

  it('resume: state.json keeps ${VAR}, and resume reads it again from its own environment (refused by name when unset)', async () => {
    process.env['KH_RESUME_TOKEN'] = 'first-value';
    const scenario = validateScenario({ name: 's', env: { API_TOKEN: '${KH_RESUME_TOKEN}' }, tasks: { count: 1, steps: [{ sleep: 1 }] } });
    delete process.env['KH_RESUME_TOKEN'];
    const dir = tempDir();
    writeFileSync(join(dir, 'state.json'), JSON.stringify(runStateFixture({ scenario, daemonHost: 'unix:///fake.sock' })));
    const reached = new Error('reached the daemon');
    const docker = new Proxy({ endpoint: '/fake.sock' } as DockerClient, {
      get: (target, key) => (key in target ? target[key as keyof DockerClient] : () => Promise.reject(reached)),
    });
    const error = await resumeRun({ run: dir, docker }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScenarioError);
    expect((error as ScenarioError).file).toBe(join(dir, 'state.json'));
    expect((error as ScenarioError).issues[0]).toMatchObject({ field: 'env.API_TOKEN', message: expect.stringMatching(/KH_RESUME_TOKEN} is not set/) as unknown as string });
    process.env['KH_RESUME_TOKEN'] = 'second-value';
    try {
      await expect(resumeRun({ run: dir, docker })).rejects.toBe(reached);
    } finally {
      delete process.env['KH_RESUME_TOKEN'];
    }
  });
});
