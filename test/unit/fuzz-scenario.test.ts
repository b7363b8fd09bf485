/**
 * Property tests (fast-check) over the scenario loader: whatever YAML text or object comes
 * in, the loader returns a scenario or throws its own ScenarioError naming the file and,
 * for each issue, the field and (from YAML) the line — never a TypeError, a RangeError or
 * a yaml/zod exception. Fixed seed, so a failure reproduces; the counterexample is printed.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseScenario, ScenarioError, validateScenario } from '../../src/scenario/index.js';

const SEED = 20261122;
/** Each property takes about a second alone; on a CPU shared with other suites, far longer. Not a performance bound. */
const FUZZ_TIMEOUT_MS = 120_000;
const smokeText = readFileSync(fileURLToPath(new URL('../../chaos/smoke.yaml', import.meta.url)), 'utf8');
const smoke = parseYaml(smokeText) as Record<string, unknown>;
const FILE = 'fuzz/scenario.yaml';

/** Calls `fn`; returns nothing when it succeeds, and asserts the loader's error contract when it throws. */
function expectLoaderContract(fn: () => unknown, fromYaml: boolean): void {
  let thrown: unknown;
  try {
    fn();
    return;
  } catch (error) {
    thrown = error;
  }
  if (!(thrown instanceof ScenarioError)) {
    throw new Error(`the loader threw ${thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)}, not a ScenarioError`, { cause: thrown });
  }
  expect(thrown.file).toBe(fromYaml ? FILE : '<inline>');
  expect(thrown.message).toContain(thrown.file);
  expect(thrown.issues.length).toBeGreaterThan(0);
  for (const issue of thrown.issues) {
    expect(typeof issue.field).toBe('string');
    expect(issue.message.length).toBeGreaterThan(0);
    if (issue.line !== undefined) expect(issue.line).toBeGreaterThanOrEqual(1);
    // Every problem below the document's root names its field; YAML text that parsed names its line too.
    if (fromYaml && issue.field !== '') expect(issue.line, `${issue.field}: ${issue.message}`).toBeDefined();
  }
}

/** YAML-shaped text: the tokens that reach the parser's odd corners (anchors, aliases, tags, merges, flow, block scalars). */
const yamlish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'name: x',
        'name:',
        'tasks:',
        '  count: 2',
        '  steps:',
        '    - sleep: 1',
        '- ',
        '  ',
        '\n',
        '\n',
        ': ',
        '{',
        '}',
        '[',
        ']',
        ',',
        '"',
        "'",
        '&a ',
        '*a',
        '*b',
        '<<: *a',
        '!!str ',
        '!!int ',
        '!!binary ',
        '!custom ',
        '|',
        '>-',
        '# c',
        '---\n',
        '...\n',
        '%YAML 1.2\n',
        '? ',
        'faults:',
        '  - kind: kill',
        '    trigger: { at: 1s }',
        'seed: -1',
        'seed: 1e400',
        'concurrency: .nan',
        '__proto__: {}',
        'constructor: 1',
        '\t',
        '\r\n',
        '\u0000',
        '\uFEFF',
        'null',
        '~',
        'true',
        '0x1F',
        '0o17',
        '1_000',
        '2026-11-22',
      ),
      fc.string({ maxLength: 8 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

/** A path into the smoke scenario and a value to put there. */
const mutation = fc.record({
  path: fc.array(
    fc.oneof(
      fc.constantFrom('name', 'tasks', 'count', 'steps', 'faults', 'kind', 'trigger', 'on', 'target', 'params', 'retry', 'resources', 'expect', 'reaper', 'daemon', 'workspace'),
      fc.nat({ max: 3 }),
    ),
    { minLength: 1, maxLength: 4 },
  ),
  value: fc.anything({
    withBigInt: true,
    withNullPrototype: true,
    withBoxedValues: true,
    withSparseArray: true,
    withTypedArray: true,
    withDate: true,
    withMap: true,
    withSet: true,
    maxDepth: 3,
  }),
});

function mutate(base: Record<string, unknown>, path: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string | number, unknown>;
  }
  node[path[path.length - 1]!] = value;
  return copy;
}

describe('scenario loader fuzzing (fast-check)', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('fuzz: arbitrary text never throws anything but a ScenarioError naming file and line', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => expectLoaderContract(() => parseScenario(text, FILE), true)),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('fuzz: YAML-shaped text (anchors, aliases, tags, merges) never throws anything but a ScenarioError', () => {
    fc.assert(
      fc.property(yamlish, (text) => expectLoaderContract(() => parseScenario(text, FILE), true)),
      { seed: SEED, numRuns: 600 },
    );
  });

  it('fuzz: the smoke scenario with one field replaced by anything, as YAML, gives a ScenarioError with field and line', () => {
    fc.assert(
      fc.property(mutation, ({ path, value }) => {
        let text: string;
        try {
          text = stringifyYaml(mutate(smoke, path, value));
        } catch {
          return; // a value YAML cannot write (a bigint in a typed array…) is not the loader's input
        }
        expectLoaderContract(() => parseScenario(text, FILE), true);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('fuzz: arbitrary objects through validateScenario (the library API) never throw anything but a ScenarioError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          mutation.map(({ path, value }) => mutate(smoke, path, value)),
          fc.anything({ withBigInt: true, withNullPrototype: true, maxDepth: 3 }),
        ),
        (input) => expectLoaderContract(() => validateScenario(input), false),
      ),
      { seed: SEED, numRuns: 600 },
    );
  });

  it('fuzz: an alias bomb ("billion laughs") is refused with a ScenarioError, not a resource-exhaustion exception', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(',')}]`,
      ),
      'name: bomb',
    ].join('\n');
    expectLoaderContract(() => parseScenario(bomb, FILE), true);
    expect(() => parseScenario(bomb, FILE)).toThrow(/alias/i);
  });
});
