import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { isCollection, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { hasReference, interpolate, InterpolationError } from './interpolate.js';
import { FAULT_KINDS, runsReferenceWorker, scenarioSchema, TASK_FIELDS, STEP_KINDS, stepKindSchema, type Scenario, type TaskSpec } from './schema.js';
import { sutIssues } from './sut-issues.js';
import { triggerIssues } from './trigger-reach.js';
import { securityIssues } from './security.js';
import { formatPath, locate, locateKey, valueAt, zodIssueMessage as issueMessage } from './yaml-location.js';

/** One problem in a scenario: the field's path (`faults[0].kind`) and, when known, its line. */
export interface ScenarioIssue {
  /** Dotted path with indexes, e.g. `tasks.count`, `faults[0].trigger`; `` for the document. */
  readonly field: string;
  readonly message: string;
  /** 1-based line and column in the file, when the parser located the field. */
  readonly line?: number;
  readonly column?: number;
  /** The file the line is in, when it is not the scenario file: a `tasks: { file }` JSONL file. */
  readonly file?: string;
}

/**
 * A scenario that cannot be run: unreadable, not YAML, or not valid. Nothing has been
 * started when this is thrown. `issues` lists every problem found, each naming its field.
 */
export class ScenarioError extends Error {
  override name = 'ScenarioError';
  /** The file (or `<inline>` for an object passed by the library API). */
  readonly file: string;
  readonly issues: readonly ScenarioIssue[];
  constructor(file: string, issues: readonly ScenarioIssue[], options: { cause?: unknown } = {}) {
    const lines = issues.map((i) => {
      const at = i.file ?? file;
      const where = i.line !== undefined ? `${at}:${i.line}${i.column !== undefined ? `:${i.column}` : ''}` : at;
      return `  ${where}: ${i.field ? `${i.field}: ` : ''}${i.message}`;
    });
    super(`Invalid scenario ${file}:\n${lines.join('\n')}`, options);
    this.file = file;
    this.issues = issues;
  }
}

/**
 * Expands `tasks: {count, steps}` into `t-01 … t-NN`, zero-padded to the count's width (at
 * least 2). `tasks: {file}` has no tasks until `loadScenarioFile` reads the file: none.
 */
function expandTasks(tasks: z.output<typeof scenarioSchema>['tasks']): TaskSpec[] {
  if (tasks === undefined) return [];
  if (Array.isArray(tasks)) return tasks;
  if (!('count' in tasks)) return [];
  const width = Math.max(2, String(tasks.count).length);
  return Array.from({ length: tasks.count }, (_, i) => ({
    id: `${tasks.idPrefix}${String(i + 1).padStart(width, '0')}`,
    ...(tasks.steps ? { steps: tasks.steps } : {}),
  }));
}

/** Top-level fields whose value is a mapping of keelhaul's own keys, where `x-*` keys are allowed too. */
export const EXTENSIBLE_FIELDS: readonly string[] = [
  'workspace',
  'retry',
  'resources',
  'daemon',
  'monitor',
  'reaper',
  'redact',
  'dangerouslyAllow',
  'expect',
  'budget',
  'topology',
];

/** A copy of `value` without its `x-*` keys when it is a mapping; anything else as it is. */
function withoutExtensions(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => !key.startsWith('x-')));
}

/**
 * The scenario without what keelhaul ignores: `$schema` (for editors; checked to be a string first) and `x-*`
 * extension keys (as Compose has them: a home for YAML anchors and the user's notes) at the
 * top level, in each task, each fault and its trigger, target and params, and in the
 * top-level mappings ({@link EXTENSIBLE_FIELDS}). Not in steps, and not in mappings whose
 * keys are data (`env`, labels, `expect.failedTasks`) or in a task's own field values,
 * which reach the worker unchanged.
 */
function stripIgnoredKeys(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (key.startsWith('x-') || key === '$schema') continue;
    out[key] = EXTENSIBLE_FIELDS.includes(key) ? withoutExtensions(value) : value;
  }
  if (Array.isArray(out['tasks'])) out['tasks'] = out['tasks'].map(withoutExtensions);
  else if ('tasks' in out) out['tasks'] = withoutExtensions(out['tasks']);
  if (Array.isArray(out['faults'])) {
    out['faults'] = out['faults'].map((fault: unknown) => {
      const f = withoutExtensions(fault);
      if (typeof f !== 'object' || f === null) return f;
      const copy = { ...(f as Record<string, unknown>) };
      for (const key of ['trigger', 'target', 'params']) if (key in copy) copy[key] = withoutExtensions(copy[key]);
      const trigger = copy['trigger'];
      if (typeof trigger === 'object' && trigger !== null && !Array.isArray(trigger)) {
        const t = { ...(trigger as Record<string, unknown>) };
        for (const key of ['on', 'when']) if (key in t) t[key] = withoutExtensions(t[key]);
        copy['trigger'] = t;
      }
      return copy;
    });
  }
  return out;
}

/**
 * Each `${VAR}` of the scenario's `env` that cannot be expanded from `from` (unset without a
 * default, or malformed), as an issue naming `env.NAME`. The values stay as written in the
 * scenario: the controller expands them when a run starts or resumes (`resolveScenarioEnv`).
 */
function envIssues(env: Readonly<Record<string, string>>, from: NodeJS.ProcessEnv, where: (path: readonly PropertyKey[]) => { line?: number; column?: number }): ScenarioIssue[] {
  const issues: ScenarioIssue[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!hasReference(value)) continue;
    try {
      interpolate(value, from);
    } catch (error) {
      if (!(error instanceof InterpolationError)) throw error;
      issues.push({ field: `env.${name}`, message: error.message, ...where(['env', name]) });
    }
  }
  return issues;
}

/**
 * Validates a scenario object (from YAML or the library API) and applies defaults.
 * `$schema` and `x-*` keys are dropped first; a task's own fields are kept as they are;
 * `env` values keep their `${VAR}` text (checked here against `process.env`, expanded by
 * the controller when a run starts: `resolveScenarioEnv`). Validating a validated scenario
 * (state.json on resume) gives it back unchanged.
 *
 * @param file named in every error (`<inline>` for objects built in code)
 * @param source the YAML document (and a tasks JSONL file) the input came from, for lines
 * @throws {ScenarioError} naming each bad field, with its line when `source` is given
 *   (and the JSONL file and line for a task read from one)
 */
export function validateScenario(input: unknown, file = '<inline>', source?: ScenarioSource): Scenario {
  const lineCounter = source?.lineCounter ?? new LineCounter();
  const tasksFile = source?.tasksFile;
  const where = (path: readonly PropertyKey[]): { line?: number; column?: number; file?: string } => {
    // A task read from a JSONL file is located by its line there.
    if (tasksFile && path[0] === 'tasks' && typeof path[1] === 'number') {
      const line = tasksFile.lines[path[1]];
      return line !== undefined ? { file: tasksFile.file, line } : { file: tasksFile.file };
    }
    // A task's field of its own (or a typo of a known one): the key's line, not its value's.
    const key = path[2];
    if (path[0] === 'tasks' && typeof path[1] === 'number' && path.length === 3 && typeof key === 'string' && !(TASK_FIELDS as readonly string[]).includes(key)) {
      return locateKey(source?.doc, lineCounter, path.slice(0, 2), key);
    }
    return locate(source?.doc, lineCounter, path);
  };

  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ScenarioError(file, [
      {
        field: '',
        message: `expected a mapping of scenario fields (name, tasks, faults, …), got ${Array.isArray(input) ? 'a list' : input === null ? 'an empty document' : typeof input}`,
        ...where([]),
      },
    ]);
  }

  // Unknown fault kinds get their own message: the schema's union error would not list the kinds.
  const issues: ScenarioIssue[] = [];
  const schemaRef = (input as { $schema?: unknown }).$schema;
  if (schemaRef !== undefined && typeof schemaRef !== 'string') {
    issues.push({
      field: '$schema',
      message: `expected a string (the URL or path of the scenario's JSON Schema, for editors), got ${JSON.stringify(schemaRef)}`,
      ...where(['$schema']),
    });
  }
  input = stripIgnoredKeys(input as Record<string, unknown>);
  const badFaultKinds = new Set<number>();
  const faults = (input as { faults?: unknown }).faults;
  if (Array.isArray(faults)) {
    faults.forEach((fault: unknown, i) => {
      const kind = (fault as { kind?: unknown } | null)?.kind;
      if (typeof fault === 'object' && fault !== null && !FAULT_KINDS.includes(kind as never)) {
        badFaultKinds.add(i);
        issues.push({
          field: `faults[${i}].kind`,
          message:
            kind === undefined
              ? `is required; expected one of: ${FAULT_KINDS.join(', ')}`
              : `unknown fault kind ${JSON.stringify(kind)}; expected one of: ${FAULT_KINDS.join(', ')}`,
          ...where(['faults', i, kind === undefined ? '' : 'kind'].filter((p) => p !== '')),
        });
      }
    });
  }

  // Steps get their own messages too: a union of seven one-key objects says only "Invalid input".
  const checkedSteps = new Set<string>();
  for (const { path, step } of stepsOf(input)) {
    checkedSteps.add(formatPath(path));
    issues.push(...stepIssues(step, path, where));
  }

  const parsed = scenarioSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = formatPath(issue.path);
      if (issue.path[0] === 'faults' && badFaultKinds.has(issue.path[1] as number)) continue;
      if (checkedSteps.has(formatPath(issue.path.slice(0, stepDepth(issue.path))))) continue;
      if (issue.code === 'invalid_union' && field === 'tasks' && valueAt(input, issue.path) !== undefined) {
        // `tasks` is a list or {count, steps}: report each problem of the branch that fits
        // best on its own path, leaving the steps to the messages above.
        const branches = issue.errors.filter((b) => b.length > 0);
        const best = branches.find((b) => !b.every((i) => i.code === 'invalid_type' && i.path.length === 0)) ?? branches[0] ?? [];
        for (const inner of best) {
          const path = [...issue.path, ...inner.path];
          if (checkedSteps.has(formatPath(path.slice(0, stepDepth(path))))) continue;
          // A task's own field holds any JSON: the union of JSON types has no better reason to give.
          const ownField = path.length === 3 && typeof path[2] === 'string' && !(TASK_FIELDS as readonly string[]).includes(path[2]) && inner.code === 'invalid_union';
          const message = ownField
            ? 'expected a JSON value: a string, a finite number, true/false, null, a list or a mapping'
            : issueMessage({ ...inner, path } as typeof inner, input);
          issues.push({ field: formatPath(path), message, ...where(path) });
        }
        continue;
      }
      issues.push({ field, message: issueMessage(issue, input), ...where(issue.path) });
    }
  }
  if (issues.length > 0 || !parsed.success) throw new ScenarioError(file, sortIssues(issues));

  const scenario: Scenario = { ...parsed.data, tasks: expandTasks(parsed.data.tasks) };
  if (parsed.data.tasks !== undefined && !Array.isArray(parsed.data.tasks) && 'file' in parsed.data.tasks) {
    issues.push({
      field: 'tasks.file',
      message: 'a tasks file is read by loadScenarioFile (relative to the scenario file); a scenario given as text or as an object lists its tasks',
      ...where(['tasks', 'file']),
    });
  }
  // keelhaul's own worker runs a task's steps: without them it could only fail it, attempt after attempt.
  if (runsReferenceWorker(scenario)) {
    const listed = Array.isArray(parsed.data.tasks);
    const by = scenario.backend === 'local' ? "the local backend runs keelhaul's reference worker" : `image ${scenario.image} is keelhaul's reference worker`;
    for (const [i, task] of scenario.tasks.entries()) {
      if (task.steps !== undefined) continue;
      issues.push({
        field: listed ? `tasks[${i}].steps` : 'tasks.steps',
        message: `task "${task.id}" has no steps, and ${by}, which runs a task's steps: give it steps, or use a worker image of your own`,
        ...where(listed ? ['tasks', i] : ['tasks']),
      });
      if (!listed) break;
    }
  }
  issues.push(...envIssues(scenario.env, process.env, where));
  // A `service` target without `labels` means the service's containers, not role=worker (the
  // default); with a `sut`, a target without `labels` means every container of the SUT's selector.
  scenario.faults.forEach((fault, i) => {
    const target = (faults as { target?: { labels?: unknown } }[] | undefined)?.[i]?.target;
    if ((fault.target.service !== undefined || scenario.sut !== undefined) && target?.labels === undefined) fault.target.labels = {};
  });
  if (parsed.data.tasks === undefined && scenario.sut === undefined) {
    issues.push({ field: 'tasks', message: 'is required: a scenario needs tasks, or a sut (a system under test, docs/sut.md) that runs the work', ...where([]) });
  }
  issues.push(...sutIssues(scenario).map((issue) => ({ field: formatPath(issue.path), message: issue.message, ...where(issue.path) })));

  const seen = new Set<string>();
  scenario.tasks.forEach((task, i) => {
    if (seen.has(task.id)) issues.push({ field: `tasks[${i}].id`, message: `duplicate task id "${task.id}"`, ...where(['tasks', i, 'id']) });
    seen.add(task.id);
  });
  scenario.faults.forEach((fault, i) => {
    // A SUT's tasks are its own (named by its task label), unknown until it runs.
    if (scenario.sut !== undefined) return;
    if ('on' in fault.trigger && fault.trigger.on.task !== undefined && !seen.has(fault.trigger.on.task)) {
      issues.push({
        field: `faults[${i}].trigger.on.task`,
        message: `names task "${fault.trigger.on.task}", which the scenario does not have (tasks: ${[...seen].slice(0, 5).join(', ')}${seen.size > 5 ? ', …' : ''})`,
        ...where(['faults', i, 'trigger', 'on', 'task']),
      });
    }
  });
  for (const task of Object.keys(scenario.expect.failedTasks)) {
    if (!seen.has(task))
      issues.push({ field: `expect.failedTasks.${task}`, message: `names task "${task}", which the scenario does not have`, ...where(['expect', 'failedTasks', task]) });
  }
  if (scenario.heartbeatTimeoutMs !== undefined && scenario.heartbeatTimeoutMs <= scenario.heartbeatMs) {
    issues.push({
      field: 'heartbeatTimeoutMs',
      message: `must be longer than heartbeatMs (${scenario.heartbeatMs} ms), got ${scenario.heartbeatTimeoutMs} ms: every attempt would be declared hung`,
      ...where(['heartbeatTimeoutMs']),
    });
  }
  scenario.faults.forEach((fault, i) => {
    if (fault.kind.startsWith('daemon-') && scenario.daemon.mode !== 'private') {
      issues.push({
        field: `faults[${i}].kind`,
        message: `${fault.kind} stops or kills a daemon, and keelhaul only does that to a daemon it started: set daemon: { mode: private }`,
        ...where(['faults', i, 'kind']),
      });
    }
    if (fault.kind === 'partition' && scenario.network === 'none' && fault.params.network === undefined) {
      issues.push({
        field: `faults[${i}].kind`,
        message: 'partition cuts a network, and with network: none the workers have none: use network: internal or bridge',
        ...where(['faults', i, 'kind']),
      });
    }
    if (fault.kind === 'fill-disk' && scenario.workspace.size === undefined) {
      issues.push({ field: `faults[${i}].kind`, message: 'fill-disk needs workspace.size (the size to fill to)', ...where(['faults', i, 'kind']) });
    }
    // A selector that can only match nothing is refused here rather than found out mid-run
    // (a SUT's containers carry its own labels, which keelhaul cannot know beforehand).
    if (scenario.sut !== undefined) return;
    const labels = fault.target.labels;
    const role = labels['role'] ?? labels['dev.keelhaul.role'];
    if (role !== undefined && !['worker', 'filler', 'probe', 'service'].includes(role)) {
      issues.push({
        field: `faults[${i}].target.labels.role`,
        message: `"${role}" matches no container: roles are worker, filler, probe, service`,
        ...where(['faults', i, 'target', 'labels', 'role']),
      });
    }
    const task = labels['task'] ?? labels['dev.keelhaul.task'];
    if (task !== undefined && !seen.has(task)) {
      issues.push({
        field: `faults[${i}].target.labels.task`,
        message: `"${task}" matches no container: the scenario has no such task`,
        ...where(['faults', i, 'target', 'labels', 'task']),
      });
    }
  });
  // Triggers that can never fire: past the run's bound, or counting more events than the tasks can produce.
  for (const issue of triggerIssues(scenario)) issues.push({ field: formatPath(issue.path), message: issue.message, ...where(issue.path) });
  // The Docker socket, host networking and privileged mode need the explicit opt-in.
  for (const issue of securityIssues(scenario)) issues.push({ field: formatPath(issue.path), message: issue.message, ...where(issue.path) });
  if (issues.length > 0) throw new ScenarioError(file, sortIssues(issues));
  return scenario;
}

/**
 * One message per problem (the same field and message once), in file order: the scenario
 * file's by line, then column, then a tasks file's; unlocated last.
 */
function sortIssues(issues: readonly ScenarioIssue[]): ScenarioIssue[] {
  const seen = new Set<string>();
  const unique = issues.filter((i) => {
    const key = `${i.field}\0${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const rank = (i: ScenarioIssue): [number, number, number] => [i.file === undefined ? 0 : 1, i.line ?? Number.MAX_SAFE_INTEGER, i.column ?? 0];
  return unique
    .map((issue, index) => ({ issue, index }))
    .sort((a, b) => rank(a.issue)[0] - rank(b.issue)[0] || rank(a.issue)[1] - rank(b.issue)[1] || rank(a.issue)[2] - rank(b.issue)[2] || a.index - b.index)
    .map(({ issue }) => issue);
}

/** Every step of the input as written: `tasks[i].steps[j]` (a list of tasks) or `tasks.steps[j]` (count copies). */
function stepsOf(input: unknown): { path: (string | number)[]; step: unknown }[] {
  const tasks = (input as { tasks?: unknown }).tasks;
  const found: { path: (string | number)[]; step: unknown }[] = [];
  const collect = (steps: unknown, base: (string | number)[]): void => {
    if (Array.isArray(steps)) steps.forEach((step, j) => found.push({ path: [...base, 'steps', j], step }));
  };
  if (Array.isArray(tasks)) tasks.forEach((task, i) => collect((task as { steps?: unknown } | null)?.steps, ['tasks', i]));
  else if (typeof tasks === 'object' && tasks !== null) collect((tasks as { steps?: unknown }).steps, ['tasks']);
  return found;
}

/** How many leading elements of a zod issue path name a step (`tasks.steps.0` → 3, `tasks.0.steps.1` → 4), else 0. */
function stepDepth(path: readonly PropertyKey[]): number {
  const at = path.indexOf('steps');
  return path[0] === 'tasks' && at > 0 && typeof path[at + 1] === 'number' ? at + 2 : 0;
}

/**
 * A step's problems, each naming the step: an unknown kind lists the kinds and what each
 * takes; a known kind with a bad value gets that kind's own reason.
 */
function stepIssues(step: unknown, path: (string | number)[], where: (path: readonly PropertyKey[]) => { line?: number; column?: number }): ScenarioIssue[] {
  const expected = `expected one of ${Object.entries(STEP_KINDS)
    .map(([k, v]) => `${k} (${v})`)
    .join(', ')}`;
  const field = formatPath(path);
  if (typeof step !== 'object' || step === null || Array.isArray(step)) {
    return [{ field, message: `a step is a mapping with one key, got ${JSON.stringify(step) ?? String(step)}; ${expected}`, ...where(path) }];
  }
  const keys = Object.keys(step);
  const unknown = keys.filter((k) => !(k in STEP_KINDS));
  if (unknown.length > 0) {
    return unknown.map((k) => ({ field, message: `unknown step ${JSON.stringify(k)}; ${expected}`, ...where([...path, k]) }));
  }
  if (keys.length !== 1) {
    return [
      { field, message: keys.length === 0 ? `an empty step; ${expected}` : `a step has exactly one key, got ${keys.join(', ')} (write each as its own step)`, ...where(path) },
    ];
  }
  const kind = keys[0] as string;
  const parsed = stepKindSchema(kind)?.safeParse(step);
  if (!parsed || parsed.success) return [];
  return parsed.error.issues.map((issue) => {
    const at = [...path, ...issue.path];
    const reason = issueMessage(issue, step);
    return { field: formatPath(at), message: `${kind} step: ${reason}${issue.path.length <= 1 ? ` (${kind} takes ${STEP_KINDS[kind]})` : ''}`, ...where(at) };
  });
}

/**
 * Where a scenario came from, for the lines of its issues: the parsed YAML document and,
 * when its tasks came from a JSONL file, that file and the 1-based line of each task.
 */
export interface ScenarioSource {
  readonly doc: Document;
  readonly lineCounter: LineCounter;
  readonly tasksFile?: { readonly file: string; readonly lines: readonly number[] };
}

/**
 * YAML parsing options shared by the loader and {@link locateScenarioIssues}: merge keys
 * (`<<: *defaults`, YAML 1.1's, which the `yaml` package supports on request) are accepted.
 */
const YAML_OPTIONS = { merge: true } as const;

/**
 * Parses YAML text into a validated scenario.
 *
 * @throws {ScenarioError} on YAML syntax errors (with the parser's line) or invalid fields
 */
export function parseScenario(text: string, file = '<inline>'): Scenario {
  const { value, source } = parseScenarioYaml(text, file);
  return validateScenario(value, file, source);
}

/**
 * YAML text to a plain value and its document (for lines), not validated.
 *
 * @throws {ScenarioError} on YAML syntax errors, a collection used as a key, or an alias that cannot be resolved
 */
function parseScenarioYaml(text: string, file: string): { value: unknown; source: ScenarioSource } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { ...YAML_OPTIONS, lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      file,
      // The first syntax error only: the parser's later ones mostly follow from it (one
      // unquoted `{` inside a flow mapping gave 200 lines).
      doc.errors.slice(0, 1).map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more error(s) after it, most likely from this one)` : '';
        return { field: '', message: `not valid YAML: ${e.message.split('\n')[0]}${more}`, line: pos.line, column: pos.col };
      }),
    );
  }
  const at = (node: { range?: readonly number[] | null | undefined } | null | undefined): { line?: number; column?: number } => {
    if (!node?.range) return {};
    const pos = lineCounter.linePos(node.range[0] ?? 0);
    return { line: pos.line, column: pos.col };
  };
  // A mapping or list used as a key would be stringified by toJS (a field named
  // "{ a: 1 }"), with a process warning on stderr: refuse it with its line instead.
  const keyIssues: ScenarioIssue[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (isCollection(pair.key)) keyIssues.push({ field: '', message: 'a mapping key must be a plain value (a name such as `tasks`), not a mapping or a list', ...at(pair.key) });
    },
  });
  if (keyIssues.length > 0) throw new ScenarioError(file, keyIssues);
  let value: unknown;
  try {
    // toJS resolves aliases: it throws a ReferenceError for an alias whose anchor comes
    // later (or not at all), and for more than maxAliasCount (yaml's default, 100) alias
    // expansions — the "billion laughs" guard. Both are bad input, not crashes.
    value = doc.toJS();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Point at the unresolved alias the message names, else at the first alias.
    const aliases: { source: string; range?: readonly number[] | null }[] = [];
    visit(doc, { Alias: (_, alias) => void aliases.push(alias) });
    const culprit = aliases.find((a) => message.endsWith(`: ${a.source}`)) ?? aliases[0];
    throw new ScenarioError(file, [{ field: '', message: `not a usable YAML document: ${message}`, ...at(culprit) }], { cause: error });
  }
  return { value, source: { doc, lineCounter } };
}

/** Why a file could not be read, as a reader wants it. */
function unreadable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String(error);
}

/**
 * The tasks of a JSONL file: one task object a line (blank lines skipped), each with its
 * 1-based line for the issues that name it. The tasks themselves are validated with the
 * scenario, as a list written in it would be.
 *
 * @throws {ScenarioError} naming the JSONL file and line when it cannot be read, a line is
 *   not JSON or not an object, or it holds no task
 */
async function readTasksFile(path: string, scenarioFile: string, at: { line?: number; column?: number }): Promise<{ tasks: unknown[]; lines: number[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ScenarioError(scenarioFile, [{ field: 'tasks.file', message: `cannot read the tasks file ${path}: ${unreadable(error)}`, ...at }], { cause: error });
  }
  const tasks: unknown[] = [];
  const lines: number[] = [];
  const issues: ScenarioIssue[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const field = `tasks[${tasks.length}]`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      issues.push({ field, message: `not JSON: ${(error as Error).message}`, file: path, line: index + 1 });
      tasks.push(undefined);
      lines.push(index + 1);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      issues.push({
        field,
        message: `expected a task object ({"id": …}) on each line, got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`,
        file: path,
        line: index + 1,
      });
    }
    tasks.push(value);
    lines.push(index + 1);
  });
  if (tasks.length === 0) issues.push({ field: 'tasks.file', message: `the tasks file ${path} holds no task (one JSON object a line)`, ...at });
  if (issues.length > 0) throw new ScenarioError(scenarioFile, issues);
  return { tasks, lines };
}

/**
 * Reads and validates a scenario file; `tasks: { file }` is read here (relative to the
 * scenario file) and stands in the tasks list's place, so the scenario holds the tasks
 * themselves and a resumed run does not need the JSONL file again.
 *
 * @throws {ScenarioError} when the file (or its tasks file) cannot be read (ENOENT, EISDIR,
 *   EACCES), is not YAML (a JSONL line not JSON), or is not a valid scenario
 */
export async function loadScenarioFile(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = unreadable(error);
    throw new ScenarioError(path, [{ field: '', message: `cannot read the scenario: ${reason === 'is a directory' ? 'is a directory, not a scenario file' : reason}` }], {
      cause: error,
    });
  }
  const parsed = parseScenarioYaml(text, path);
  let { value, source } = parsed;
  // `tasks: { file: tasks.jsonl }`: the file's tasks stand in the list's place, each located by its line there.
  const tasks = (value as { tasks?: unknown } | null)?.tasks;
  if (
    typeof tasks === 'object' &&
    tasks !== null &&
    !Array.isArray(tasks) &&
    typeof (tasks as { file?: unknown }).file === 'string' &&
    Object.keys(tasks).every((k) => k === 'file' || k.startsWith('x-'))
  ) {
    const tasksPath = resolvePath(dirname(path), (tasks as { file: string }).file);
    const read = await readTasksFile(tasksPath, path, locate(source.doc, source.lineCounter, ['tasks', 'file']));
    value = { ...(value as Record<string, unknown>), tasks: read.tasks };
    source = { ...source, tasksFile: { file: tasksPath, lines: read.lines } };
  }
  const scenario = validateScenario(value, path, source);
  // A topology file is relative to the scenario file; stored absolute so that resume and repro find it.
  if (scenario.topology && !isAbsolute(scenario.topology.file)) {
    return { ...scenario, topology: { ...scenario.topology, file: resolvePath(dirname(path), scenario.topology.file) } };
  }
  return scenario;
}

/** `faults[1].params.signal` → `['faults', 1, 'params', 'signal']` (the inverse of the issues' `field`). */
function parseField(field: string): (string | number)[] {
  return [...field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : (m[1] as string)));
}

/**
 * Problems found in a loaded scenario by something other than the loader (a backend that
 * cannot apply a field), located in its file: each gets the line and column of its field,
 * as the loader's own issues have. A file that cannot be read or parsed gives them unlocated.
 */
export async function locateScenarioIssues(file: string, problems: readonly { field: string; message: string }[]): Promise<ScenarioIssue[]> {
  let source: { doc: Document; lineCounter: LineCounter } | undefined;
  try {
    const lineCounter = new LineCounter();
    source = { doc: parseDocument(await readFile(file, 'utf8'), { ...YAML_OPTIONS, lineCounter, logLevel: 'silent' }), lineCounter };
  } catch {
    source = undefined;
  }
  return problems.map((p) => ({ field: p.field, message: p.message, ...(source ? locate(source.doc, source.lineCounter, parseField(p.field)) : {}) }));
}
