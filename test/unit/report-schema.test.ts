import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { bigReport, failedEvents, failedReport } from './report-fixtures.js';

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

/*
 * docs/report.schema.json and docs/events.schema.json against hand-made fixtures and lines
 * of a real run (chaos/smoke.yaml, seed 1): with a small validator whose error messages the
 * tests can pin (it throws on any keyword it does not know, so a schema cannot quietly
 * outgrow it), and with ajv (draft 2020-12, discriminator), the reference validator.
 */

/** The keywords the validator below reads, with the types a JSON Schema gives them. */
interface SchemaObject {
  readonly [keyword: string]: unknown;
  readonly $ref?: string;
  readonly $defs?: Readonly<Record<string, Schema>>;
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly minLength?: number;
  readonly format?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly additionalProperties?: Schema;
  readonly items?: Schema;
  readonly oneOf?: readonly Schema[];
  readonly allOf?: readonly Schema[];
  readonly if?: Schema;
  readonly then?: Schema;
  readonly else?: Schema;
}
type Schema = boolean | SchemaObject;

const SUPPORTED = new Set([
  '$schema',
  '$id',
  'title',
  'description',
  '$defs',
  '$ref',
  'type',
  'const',
  'enum',
  'minLength',
  'format',
  'minimum',
  'maximum',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'oneOf',
  'allOf',
  'if',
  'then',
  'else',
  'discriminator',
]);
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Errors of `value` against `schema` (empty when valid); `$ref`s resolve in `root`. */
function validate(schema: Schema, value: unknown, root: Schema, path = '$'): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: no value is allowed here`];
  for (const k of Object.keys(schema)) if (!SUPPORTED.has(k)) throw new Error(`test validator does not support keyword ${k} (at ${path})`);
  const s = schema;
  const errors: string[] = [];
  if (s.$ref !== undefined) {
    const m = /^#\/\$defs\/(.+)$/.exec(s.$ref);
    const target = m && typeof root === 'object' ? root.$defs?.[m[1]!] : undefined;
    if (target === undefined) throw new Error(`unresolvable $ref ${String(s.$ref)}`);
    errors.push(...validate(target, value, root, path));
  }
  if (s.type !== undefined) {
    const types: readonly string[] = typeof s.type === 'string' ? [s.type] : s.type;
    const t = typeOf(value);
    if (!types.some((want) => want === t || (want === 'number' && t === 'integer'))) return [...errors, `${path}: expected ${types.join('|')}, got ${t}`];
  }
  if ('const' in s && JSON.stringify(value) !== JSON.stringify(s.const)) errors.push(`${path}: expected ${JSON.stringify(s.const)}, got ${JSON.stringify(value)}`);
  if (s.enum !== undefined && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  if (typeof value === 'string') {
    if (s.minLength !== undefined && value.length < s.minLength) errors.push(`${path}: shorter than ${s.minLength}`);
    if (s.format === 'date-time' && (!DATE_TIME.test(value) || !Number.isFinite(Date.parse(value)))) errors.push(`${path}: not a date-time: ${value}`);
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) errors.push(`${path}: below ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) errors.push(`${path}: above ${s.maximum}`);
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in obj)) errors.push(`${path}: missing ${r}`);
    const props = s.properties ?? {};
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) errors.push(...validate(props[k]!, v, root, `${path}.${k}`));
      else if (s.additionalProperties !== undefined)
        errors.push(
          ...validate(s.additionalProperties, v, root, `${path}.${k}`)
            .map(() => `${path}: unexpected property ${k}`)
            .slice(0, 1),
        );
    }
  }
  const items = s.items;
  if (Array.isArray(value) && items !== undefined) value.forEach((v, i) => errors.push(...validate(items, v, root, `${path}[${i}]`)));
  for (const sub of s.allOf ?? []) errors.push(...validate(sub, value, root, path));
  if (s.if !== undefined) {
    const branch = validate(s.if, value, root, path).length === 0 ? s.then : s.else;
    if (branch !== undefined) errors.push(...validate(branch, value, root, path));
  }
  if (s.oneOf !== undefined) {
    const results = s.oneOf.map((sub) => validate(sub, value, root, path));
    const passing = results.filter((r) => r.length === 0).length;
    if (passing !== 1) {
      // Name the branch whose `type` const matches, so the error says what is wrong with it.
      const type = typeOf(value) === 'object' ? (value as Record<string, unknown>)['type'] : undefined;
      const i = s.oneOf.findIndex((b) => {
        const branchType = typeof b === 'object' ? b.properties?.['type'] : undefined;
        return typeof branchType === 'object' && branchType.const === type;
      });
      errors.push(
        passing === 0
          ? (i >= 0 ? results[i]! : [`${path}: matches no branch of oneOf (${results.map((r) => r[0]).join('; ')})`]).join('; ')
          : `${path}: matches ${passing} branches of oneOf`,
      );
    }
  }
  return errors;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests below walk the schema documents by path (`properties.daemon.oneOf[1]`)
const load = (name: string): Record<string, any> => JSON.parse(readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8'));
const reportSchema = load('report.schema.json');
const eventSchema = load('events.schema.json');
const checkReport = (v: unknown): string[] => validate(reportSchema, v, reportSchema);
const checkEvent = (v: unknown): string[] => validate(eventSchema, v, eventSchema);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON copy the tests delete from and write invalid values into
const clone = <T>(v: T): any => JSON.parse(JSON.stringify(v));

/** report.json of a real run of chaos/smoke.yaml (seed 1), compacted. */
const REAL_REPORT = `{"schemaVersion":2,"keelhaulVersion":"0.1.0","runId":"20261122-043445-8f9b","seed":1,"scenario":"smoke","scenarioFile":"/work/wt-reports/chaos/smoke.yaml","status":"passed","startedAt":"2026-11-22T04:34:45.817Z","endedAt":"2026-11-22T04:34:51.771Z","durationMs":5954,"backend":"docker","image":"keelhaul/worker:0.1.0","network":"none","daemon":{"endpoint":"/var/run/docker.sock","version":"20.10.24+dfsg1","apiVersion":"1.41"},"controllers":1,"tasks":[{"task":"t-01","outcome":"completed","attempts":1},{"task":"t-02","outcome":"completed","attempts":2},{"task":"t-03","outcome":"completed","attempts":1},{"task":"t-04","outcome":"completed","attempts":1}],"attempts":[{"task":"t-01","attempt":1,"containerId":"28ac29125f3fb97e7ae6c96476f9e5d443d7b1be9ec371bcb70084a4cee0a642","containerName":"kh-20261122-043445-8f9b-t-01-a1","exitCode":0,"oomKilled":false,"outcome":"completed","startedAt":"2026-11-22T04:34:46.870Z","endedAt":"2026-11-22T04:34:48.692Z","faults":[],"usage":{"tokensIn":3632,"tokensOut":1589,"tokens":5221,"costUsd":0.034731,"reports":3}},{"task":"t-02","attempt":1,"containerId":"078b664a164ad6cc3a1c2d9da78e3597f8400a6308c6a2ef064cc6c26d20ca50","containerName":"kh-20261122-043445-8f9b-t-02-a1","exitCode":137,"oomKilled":false,"outcome":"killed","reason":"fault kill-a-running-worker","startedAt":"2026-11-22T04:34:46.793Z","endedAt":"2026-11-22T04:34:47.134Z","faults":["kill-a-running-worker"],"usage":{"tokensIn":782,"tokensOut":63,"tokens":845,"costUsd":0.003291,"reports":1}},{"task":"t-02","attempt":2,"containerId":"7b818fd6d227422c44027d3375431173ac947ad96c48f31e4a701d698b51236c","containerName":"kh-20261122-043445-8f9b-t-02-a2","exitCode":0,"oomKilled":false,"outcome":"completed","startedAt":"2026-11-22T04:34:47.743Z","endedAt":"2026-11-22T04:34:49.316Z","faults":[],"usage":{"tokensIn":4034,"tokensOut":1088,"tokens":5122,"costUsd":0.028422,"reports":3}},{"task":"t-03","attempt":1,"containerId":"6b64e4bdd85982a30d9c14e3d5a5b71a9072f5ea588c236cf4e3ed8502859674","containerName":"kh-20261122-043445-8f9b-t-03-a1","exitCode":0,"oomKilled":false,"outcome":"completed","startedAt":"2026-11-22T04:34:49.193Z","endedAt":"2026-11-22T04:34:50.834Z","faults":[],"usage":{"tokensIn":4187,"tokensOut":1586,"tokens":5773,"costUsd":0.036351,"reports":3}},{"task":"t-04","attempt":1,"containerId":"b63b1f17423e79b13db78ce594a6e4b2d5ce6606b9c4ebebafc06663ed652969","containerName":"kh-20261122-043445-8f9b-t-04-a1","exitCode":0,"oomKilled":false,"outcome":"completed","startedAt":"2026-11-22T04:34:49.742Z","endedAt":"2026-11-22T04:34:51.286Z","faults":[],"usage":{"tokensIn":4024,"tokensOut":1662,"tokens":5686,"costUsd":0.037002,"reports":3}}],"faults":[{"faultId":"kill-a-running-worker","kind":"kill","trigger":"on the 2nd task.started","status":"injected","firedAt":"2026-11-22T04:34:47.101Z","offsetMs":1284,"params":{"signal":"SIGKILL","mode":"api"},"targets":[{"containerId":"078b664a164ad6cc3a1c2d9da78e3597f8400a6308c6a2ef064cc6c26d20ca50","task":"t-02","attempt":1}]}],"cleanup":{"containers":5,"networks":0,"volumes":4,"errors":[]},"resources":{"samplesFile":"samples.jsonl","samples":20,"skipped":3,"peaks":[{"name":"controller","rssBytes":101789696,"cpuPercent":4.040404040404041},{"name":"dockerd","rssBytes":95592448,"cpuPercent":5.319148936170213},{"name":"reaper","rssBytes":99127296,"cpuPercent":42.5531914893617}],"containers":{"peakMemoryBytes":9015296,"peakCpuPercent":0.2073724378109453,"peakTotalMemoryBytes":9015296,"sampled":2},"controllerRss":{"firstBytes":101265408,"lastBytes":101789696,"growthBytes":524288},"alerts":0},"checks":[{"name":"all-completed","ok":true,"expected":"4 of 4 tasks completed","observed":"4 of 4 tasks completed","evidence":[]},{"name":"exactly-once","ok":true,"expected":"every task completes at most once (outcomes, worker events and the completion ledger agree)","observed":"no task completed more than once","evidence":[]},{"name":"faults-injected","ok":true,"expected":"1 of 1 faults injected","observed":"1 of 1 faults injected","evidence":[]},{"name":"killed-attempts-recover","ok":true,"expected":"each killed attempt exits 137 and its task completes on a later attempt","observed":"1 killed attempt(s), all recovered","evidence":[]},{"name":"containers-labelled-and-hardened","ok":true,"expected":"every attempt container carries run/role/task/attempt/scenario/version labels, runs non-root with CapDrop ALL, no-new-privileges, a read-only root filesystem and the scenario network mode","observed":"5 of 5 containers inspected, no problem found","evidence":[]},{"name":"network-isolation","ok":true,"expected":"workers with network none report only the lo interface","observed":"5 of 5 reports show only lo","evidence":[]},{"name":"no-leaks","ok":true,"expected":"0 containers, 0 networks, 0 volumes with the run label","observed":"0 containers, 0 networks, 0 volumes with the run label","evidence":[]},{"name":"state-matches-daemon","ok":true,"expected":"the attempt containers in state.json are exactly the worker containers a label query finds before cleanup","observed":"5 container(s), the same on both sides","evidence":[]},{"name":"event-schema","ok":true,"expected":"every event of events.jsonl validates against docs/events.schema.json","observed":"75 of 75 events valid","evidence":[]},{"name":"budget","ok":true,"expected":"no budget set (scenario \`budget:\` absent): usage is not limited","observed":"22647 tokens, $0.139797 ($0.003291 wasted on attempts that did not complete) from 13 usage report(s)","evidence":[]}],"usage":{"total":{"tokensIn":16659,"tokensOut":5988,"tokens":22647,"costUsd":0.139797,"reports":13},"wasted":{"tokensIn":782,"tokensOut":63,"tokens":845,"costUsd":0.003291,"reports":1},"wastedByOutcome":{"killed":{"tokensIn":782,"tokensOut":63,"tokens":845,"costUsd":0.003291,"reports":1}},"tasks":[{"task":"t-01","tokensIn":3632,"tokensOut":1589,"tokens":5221,"costUsd":0.034731,"reports":3,"wasted":{"tokensIn":0,"tokensOut":0,"tokens":0,"costUsd":0,"reports":0}},{"task":"t-02","tokensIn":4816,"tokensOut":1151,"tokens":5967,"costUsd":0.031713,"reports":4,"wasted":{"tokensIn":782,"tokensOut":63,"tokens":845,"costUsd":0.003291,"reports":1}},{"task":"t-03","tokensIn":4187,"tokensOut":1586,"tokens":5773,"costUsd":0.036351,"reports":3,"wasted":{"tokensIn":0,"tokensOut":0,"tokens":0,"costUsd":0,"reports":0}},{"task":"t-04","tokensIn":4024,"tokensOut":1662,"tokens":5686,"costUsd":0.037002,"reports":3,"wasted":{"tokensIn":0,"tokensOut":0,"tokens":0,"costUsd":0,"reports":0}}]}}`;

/** One line of each event type (and worker event type) from the same real run's events.jsonl. */
const REAL_EVENT_LINES =
  `{"ts":"2026-11-22T02:30:35.112Z","run":"20261122-023035-0d97","type":"run.started","scenario":"smoke","seed":1,"image":"keelhaul/worker:0.1.0","network":"none","tasks":4,"concurrency":2,"runDir":"/tmp/kh/wtruns/20261122-023035-0d97"}
{"ts":"2026-11-22T02:30:35.127Z","run":"20261122-023035-0d97","type":"reaper.started","pid":11903,"ttlMs":60000}
{"ts":"2026-11-22T02:30:35.734Z","run":"20261122-023035-0d97","type":"attempt.running","task":"t-01","attempt":1,"containerId":"94bc0d74c800d2793d0616c9918a3144d8853cf4fce59d843d8ee2038911b64b","containerName":"kh-20261122-023035-0d97-t-01-a1"}
{"ts":"2026-11-22T02:30:35.806Z","run":"20261122-023035-0d97","type":"worker.event","task":"t-01","attempt":1,"event":{"ts":"2026-11-22T02:30:35.803Z","type":"task.started","run":"20261122-023035-0d97","task":"t-01","attempt":1,"seq":1,"interfaces":[{"name":"lo","addresses":["127.0.0.1"]}],"pid":1,"uid":1000,"node":"v20.20.2","workspace":"/workspace","steps":6}}
{"ts":"2026-11-22T02:30:35.814Z","run":"20261122-023035-0d97","type":"worker.event","task":"t-01","attempt":1,"event":{"ts":"2026-11-22T02:30:35.814Z","type":"task.progress","run":"20261122-023035-0d97","task":"t-01","attempt":1,"seq":2,"step":0,"steps":6,"fraction":0.1}}
{"ts":"2026-11-22T02:30:35.981Z","run":"20261122-023035-0d97","type":"fault.injected","fault":{"faultId":"kill-a-running-worker","kind":"kill","trigger":"on the 2nd task.started","firing":1,"firedAt":"2026-11-22T02:30:35.900Z","offsetMs":822,"params":{"signal":"SIGKILL","mode":"api"},"targets":[{"containerId":"4258c2bca24df99d320aa421f21256c6f12f01c804fe4450c039b0fa29188fb7","task":"t-02","attempt":1}],"status":"injected"}}
{"ts":"2026-11-22T02:30:35.986Z","run":"20261122-023035-0d97","type":"attempt.exited","task":"t-02","attempt":1,"containerId":"4258c2bca24df99d320aa421f21256c6f12f01c804fe4450c039b0fa29188fb7","exitCode":137,"oomKilled":false,"outcome":"killed","reason":"fault kill-a-running-worker","durationMs":57}
{"ts":"2026-11-22T02:30:35.987Z","run":"20261122-023035-0d97","type":"attempt.retrying","task":"t-02","attempt":2,"delayMs":200,"previousOutcome":"killed"}
{"ts":"2026-11-22T02:30:36.066Z","run":"20261122-023035-0d97","type":"worker.event","task":"t-01","attempt":1,"event":{"ts":"2026-11-22T02:30:36.065Z","type":"heartbeat","run":"20261122-023035-0d97","task":"t-01","attempt":1,"seq":3,"uptimeMs":355}}
{"ts":"2026-11-22T02:30:37.327Z","run":"20261122-023035-0d97","type":"worker.event","task":"t-01","attempt":1,"event":{"ts":"2026-11-22T02:30:37.327Z","type":"task.completed","run":"20261122-023035-0d97","task":"t-01","attempt":1,"seq":11,"durationMs":1524,"files":[{"path":"notes/plan.md","bytes":7,"sha256":"98acf32e1a70004b64cf74fc3195fbc6427da37e3987a4cec001ff107f09b844"},{"path":"result.bin","bytes":65536,"sha256":"5ae11acf083a999183bbffdb0c81b3902f5dff2449a260546a3168b06506127b"}]}}
{"ts":"2026-11-22T02:30:37.403Z","run":"20261122-023035-0d97","type":"task.finished","task":"t-01","outcome":"completed","attempts":1}
{"ts":"2026-11-22T02:30:40.148Z","run":"20261122-023035-0d97","type":"cleanup.finished","containers":5,"networks":0,"volumes":4,"errors":[]}
{"ts":"2026-11-22T02:30:40.169Z","run":"20261122-023035-0d97","type":"check.result","name":"all-completed","ok":true,"expected":"4 of 4 tasks completed","observed":"4 of 4 tasks completed"}
{"ts":"2026-11-22T02:30:40.181Z","run":"20261122-023035-0d97","type":"run.finished","status":"passed","durationMs":5092,"reportPath":"/tmp/kh/wtruns/20261122-023035-0d97/report.json"}`.split(
    '\n',
  );

describe('docs/report.schema.json', () => {
  it('report schema: draft 2020-12, closed at the top, schemaVersion 2', () => {
    expect(reportSchema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(reportSchema['additionalProperties']).toBe(false);
    expect(reportSchema['properties'].schemaVersion).toEqual({ const: 2 });
  });

  it('report schema: the real report.json of a smoke run is valid', () => {
    expect(checkReport(JSON.parse(REAL_REPORT))).toEqual([]);
  });

  it('report schema: the fixtures (failed run with every optional field, big passing run) are valid', () => {
    expect(checkReport(clone(failedReport()))).toEqual([]);
    expect(checkReport(clone(bigReport(20)))).toEqual([]);
    expect(checkReport({ ...clone(failedReport()), daemon: null, cleanup: null, scenarioFile: null })).toEqual([]);
  });

  it('report schema: every property of RunReport and its parts is in the schema, and nothing else', () => {
    const r = failedReport();
    const defs = reportSchema['$defs'];
    const keys = (o: object): string[] => Object.keys(o).sort();
    expect(keys(reportSchema['properties'])).toEqual(keys(r));
    expect(keys(defs.attempt.properties)).toEqual(keys(r.attempts[0]!).concat().sort());
    expect(keys(defs.fault.properties)).toEqual(keys(r.faults[1]!));
    // Every key some target of the fixture has (a service target has no task or attempt).
    expect(keys(defs.faultTarget.properties)).toEqual(keys(Object.assign({}, ...r.faults.flatMap((f) => f.targets))));
    expect(keys(defs.check.properties)).toEqual(keys(r.checks[0]!));
    expect(keys(reportSchema['properties'].tasks.items.properties)).toEqual(keys(r.tasks[0]!));
    expect(keys(reportSchema['properties'].daemon.oneOf[1].properties)).toEqual(keys(r.daemon!));
    expect(keys(reportSchema['properties'].cleanup.oneOf[1].properties)).toEqual(keys(r.cleanup!));
    expect(keys(defs.usageTotals.properties)).toEqual(keys(r.usage.total));
    expect(keys(reportSchema['properties'].usage.properties)).toEqual(keys(r.usage));
    expect(keys(reportSchema['properties'].usage.properties.tasks.items.properties)).toEqual(keys(r.usage.tasks[0]!));
    // Required: every key but the optional ones (`?` in the TypeScript type).
    expect([...reportSchema['required']].sort()).toEqual(keys(r).filter((k) => !['error', 'unhardened', 'redactedSecrets', 'sut'].includes(k)));
    expect([...defs.attempt.required].sort()).toEqual(keys(r.attempts[0]!).filter((k) => k !== 'reason'));
    expect([...defs.fault.required].sort()).toEqual(keys(r.faults[1]!).filter((k) => k !== 'error'));
  });

  it('report schema: rejects what RunReport does not allow', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each mutation writes a value RunReport's type forbids
    const bad = (mutate: (r: any) => void): string[] => {
      const r = clone(failedReport());
      mutate(r);
      return checkReport(r);
    };
    expect(bad((r) => (r.schemaVersion = 1))).toEqual(['$.schemaVersion: expected 2, got 1']);
    expect(bad((r) => (r.extra = true))).toEqual(['$: unexpected property extra']);
    expect(bad((r) => delete r.seed)).toEqual(['$: missing seed']);
    expect(bad((r) => (r.seed = -1))).toEqual(['$.seed: below 0']);
    expect(bad((r) => (r.status = 'ok'))).toHaveLength(1);
    expect(bad((r) => (r.attempts[0].outcome = 'exploded'))).toHaveLength(1);
    expect(bad((r) => (r.attempts[0].containerShort = 'x'))).toEqual(['$.attempts[0]: unexpected property containerShort']);
    expect(bad((r) => (r.attempts[0].endedAt = 'yesterday'))).toHaveLength(1);
    expect(bad((r) => (r.faults[0].status = 'done'))).toHaveLength(1);
    expect(bad((r) => (r.checks[0].evidence = 'one string'))).toEqual(['$.checks[0].evidence: expected array, got string']);
    expect(bad((r) => (r.daemon = { endpoint: 'x' }))).toHaveLength(1);
  });
});

describe('docs/events.schema.json', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- walked by path like the documents above
  const branches = eventSchema['oneOf'] as Record<string, any>[];

  it('events schema: a branch per RunEvent type, each closed, each with ts, run and type', () => {
    const types = branches.map((b) => b.properties.type.const as string);
    expect(types).toEqual(eventSchema['properties'].type.enum);
    expect(new Set(types).size).toBe(types.length);
    for (const b of branches) {
      expect(b.additionalProperties, b.title).toBe(false);
      expect(b.required.slice(0, 3), b.title).toEqual(['ts', 'run', 'type']);
    }
    // The fixtures hold one event of each type.
    expect([...new Set(failedEvents().map((e) => e.type))].sort()).toEqual([...types].sort());
  });

  it('events schema: every line of a real run is valid', () => {
    expect(REAL_EVENT_LINES.length).toBeGreaterThan(10);
    for (const line of REAL_EVENT_LINES) expect(checkEvent(JSON.parse(line)), line).toEqual([]);
  });

  it("events schema: every fixture event is valid, and each branch lists exactly its event's fields", () => {
    for (const e of failedEvents()) {
      const value = clone(e);
      expect(checkEvent(value), e.type).toEqual([]);
      const branch = branches.find((b) => b.properties.type.const === e.type)!;
      for (const k of Object.keys(value)) expect(Object.keys(branch.properties), `${e.type}.${k}`).toContain(k);
    }
  });

  it('events schema: rejects a line without ts or run, an unknown type, an extra field, a bad worker event', () => {
    const started = clone(failedEvents()[0]);
    const { ts: _ts, ...noTs } = started;
    expect(checkEvent(noTs)).toContain('$: missing ts');
    const { run: _run, ...noRun } = started;
    expect(checkEvent(noRun)).toContain('$: missing run');
    expect(checkEvent({ ...started, type: 'run.exploded' }).length).toBeGreaterThan(0);
    expect(checkEvent({ ...started, extra: 1 })).toEqual(['$: unexpected property extra']);
    expect(checkEvent({ ...started, ts: 'not a time' }).length).toBeGreaterThan(0);
    const progress = clone(failedEvents().find((e) => e.type === 'worker.event' && (e.event as { type: string }).type === 'task.progress'));
    expect(checkEvent(progress)).toEqual([]);
    delete progress.event.fraction;
    expect(checkEvent(progress)).toEqual(['$.event: missing fraction']);
    const custom = { ...clone(progress), event: { ts: 'x', type: 'agent.tool_call', run: 'r', task: 't', attempt: 1, tool: 'grep' } };
    expect(checkEvent(custom)).toEqual([]);
    const exited = clone(failedEvents().find((e) => e.type === 'attempt.exited'));
    expect(checkEvent({ ...exited, outcome: 'vanished' }).length).toBeGreaterThan(0);
  });

  it('events schema: the test validator refuses keywords it does not implement', () => {
    expect(() => validate({ patternProperties: {} }, {}, true)).toThrow(/does not support keyword patternProperties/);
  });
});

describe('schemas under a real JSON Schema validator (ajv, draft 2020-12)', () => {
  const ajv = new Ajv2020({ discriminator: true, allErrors: true, strict: false });
  addFormats(ajv);
  const report = ajv.compile(reportSchema);
  const event = ajv.compile(eventSchema);

  it('ajv: both schemas compile, and the real smoke report and event lines are valid', () => {
    expect(report(JSON.parse(REAL_REPORT)), JSON.stringify(report.errors)).toBe(true);
    for (const line of REAL_EVENT_LINES) expect(event(JSON.parse(line)), `${line}\n${JSON.stringify(event.errors)}`).toBe(true);
  });

  it('ajv: a report with an unknown outcome and an event with an extra property are invalid', () => {
    const bad = JSON.parse(REAL_REPORT);
    bad.attempts[0].outcome = 'vanished';
    expect(report(bad)).toBe(false);
    expect(event({ ...JSON.parse(REAL_EVENT_LINES[0]!), extra: 1 })).toBe(false);
  });
});
