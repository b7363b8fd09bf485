import { describe, expect, it } from 'vitest';
import type { FaultRecord } from '../../src/chaos/index.js';
import type { CheckResult } from '../../src/checks/index.js';
import { assembleReport, attemptFactsOf, attemptRows, faultFactsOf, runStatus, withContainerChecksNotApplicable, type ReportInputs } from '../../src/controller/run-facts.js';
import type { AttemptRecord, TaskRecord } from '../../src/controller/state.js';
import type { FaultSpec } from '../../src/scenario/index.js';

const killFault = (name?: string): FaultSpec =>
  ({
    kind: 'kill',
    ...(name ? { name } : {}),
    trigger: { at: 500 },
    target: { labels: { role: 'worker' }, pick: 'random', count: 1 },
    params: { signal: 'SIGKILL', mode: 'api' },
  }) as FaultSpec;
const record = (faultId: string, overrides: Partial<FaultRecord> = {}): FaultRecord =>
  ({
    faultId,
    kind: 'kill',
    trigger: 'at 500 ms',
    firing: 1,
    firedAt: '2026-01-01T00:00:00.500Z',
    offsetMs: 500,
    targets: [{ containerId: 'c1', task: 't', attempt: 1 }],
    params: {},
    status: 'injected',
    ...overrides,
  }) as FaultRecord;
const attempt = (n: number, overrides: Partial<AttemptRecord> = {}): AttemptRecord => ({
  attempt: n,
  containerId: `c${n}`,
  containerName: `kh-r-t-a${n}`,
  status: 'exited',
  startedAt: '2026-01-01T00:00:00.000Z',
  endedAt: '2026-01-01T00:00:01.000Z',
  exitCode: 0,
  oomKilled: false,
  outcome: 'completed',
  reason: null,
  completedEvents: 1,
  completedAt: '2026-01-01T00:00:00.900Z',
  interfaces: null,
  auditProblems: [],
  audited: true,
  ...overrides,
});
const check = (name: string, ok = true): CheckResult => ({ name, ok, expected: 'e', observed: 'o', evidence: ['x'] });

describe('run facts: facts for the checks', () => {
  it('run facts: attempt rows follow the scenario order of tasks', () => {
    const tasks: Record<string, TaskRecord> = { b: { status: 'completed', attempts: [attempt(1)] }, a: { status: 'failed', attempts: [attempt(1), attempt(2)] } };
    expect(attemptRows(['a', 'b'], tasks).map((r) => `${r.task}#${r.attempt}`)).toEqual(['a#1', 'a#2', 'b#1']);
  });

  it('run facts: a fault that never fired, or is still armed, is one not-fired entry', () => {
    expect(faultFactsOf([killFault()], [], new Set())).toEqual([{ faultId: 'f1', kind: 'kill', status: 'not-fired', targets: [], signal: 'SIGKILL' }]);
    expect(faultFactsOf([killFault('k')], [record('k')], new Set(['k']))[0]!.status).toBe('not-fired');
  });

  it('run facts: each firing of a repeated fault is its own entry, with its error', () => {
    const facts = faultFactsOf([killFault('k')], [record('k#1'), record('k#2', { status: 'failed', error: 'gone' }), record('other')], new Set());
    expect(facts.map((f) => [f.faultId, f.status, f.error])).toEqual([
      ['k#1', 'injected', undefined],
      ['k#2', 'failed', 'gone'],
    ]);
  });

  it('run facts: an attempt never judged is lost, and the probe comes from the book', () => {
    const probe = { probe: 't#2', interfaces: ['lo'], reached: [], unreachable: ['10.0.0.1'] };
    const rows = [
      { task: 't', ...attempt(1) },
      { task: 't', ...attempt(2, { outcome: null, status: 'running', completedAt: null }) },
    ];
    const facts = attemptFactsOf(rows, (t, n) => (n === 2 ? probe : undefined));
    expect(facts[0]).not.toHaveProperty('probe');
    expect(facts[1]).toMatchObject({ outcome: 'lost', completedAt: undefined, probe });
  });

  it('run facts: container-only checks pass as not applicable, and state-matches-daemon is added when absent', () => {
    const out = withContainerChecksNotApplicable([check('all-completed', false), check('containers-labelled-and-hardened', false)], 'local');
    expect(out.map((c) => [c.name, c.ok, c.observed])).toEqual([
      ['all-completed', false, 'o'],
      ['containers-labelled-and-hardened', true, 'not applicable on the local backend'],
      ['state-matches-daemon', true, 'not applicable on the local backend'],
    ]);
  });

  it('run facts: a run passes only with no run error and every check ok', () => {
    expect(runStatus(undefined, [check('a')])).toBe('passed');
    expect(runStatus('timed out', [check('a')])).toBe('failed');
    expect(runStatus(undefined, [check('a'), check('b', false)])).toBe('failed');
  });
});

describe('run facts: report assembly', () => {
  const zero = { inputTokens: 0, outputTokens: 0, costUsd: 0, reports: 0 } as unknown as ReturnType<ReportInputs['usageOf']>;
  const inputs = (overrides: Partial<ReportInputs> = {}): ReportInputs => ({
    keelhaulVersion: '0.1.0',
    runId: 'r',
    seed: 7,
    scenario: { name: 's', backend: 'docker', network: 'none', taskIds: ['t', 'u'], faults: [killFault('k')] },
    scenarioFile: null,
    runError: undefined,
    unhardened: [],
    redactedSecrets: 0,
    startedAtMs: Date.parse('2026-01-01T00:00:00.000Z'),
    endedAtMs: Date.parse('2026-01-01T00:00:02.000Z'),
    image: 'keelhaul/worker:test',
    daemon: { endpoint: '/run/docker.sock', version: '27.0', apiVersion: '1.46' },
    controllers: 1,
    taskOutcomes: new Map([['t', { outcome: 'completed' as const }]]),
    attemptCount: (t) => (t === 't' ? 1 : 0),
    attempts: [{ task: 't', ...attempt(1) }],
    faultsTargeting: (id) => (id === 'c1' ? ['k'] : []),
    usageOf: () => zero,
    faultFacts: faultFactsOf([killFault('k')], [record('k')], new Set()),
    records: [record('k')],
    cleanup: { containers: 1, networks: 0, volumes: 1, errors: [] },
    resources: null,
    checks: [check('a')],
    usage: {} as ReportInputs['usage'],
    ...overrides,
  });

  it('run facts: a task that never ran is not-run; times and duration come from the run', () => {
    const report = assembleReport(inputs());
    expect(report.tasks).toEqual([
      { task: 't', outcome: 'completed', attempts: 1 },
      { task: 'u', outcome: 'not-run', attempts: 0 },
    ]);
    expect(report).toMatchObject({ status: 'passed', startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:00:02.000Z', durationMs: 2000, resources: null });
    expect(report).not.toHaveProperty('error');
    expect(report).not.toHaveProperty('unhardened');
    expect(report).not.toHaveProperty('redactedSecrets');
  });

  it('run facts: attempts carry the faults that hit their container, faults their trigger and params', () => {
    const report = assembleReport(inputs());
    expect(report.attempts[0]).toMatchObject({ task: 't', attempt: 1, faults: ['k'], outcome: 'completed' });
    expect(report.faults[0]).toMatchObject({ faultId: 'k', kind: 'kill', trigger: 'at 500 ms', status: 'injected', offsetMs: 500, params: { signal: 'SIGKILL', mode: 'api' } });
  });

  it('run facts: a run error fails the run and is reported; dangerouslyAllow is warned about', () => {
    const report = assembleReport(inputs({ runError: 'timed out', unhardened: ['privileged'], redactedSecrets: 2 }));
    expect(report.status).toBe('failed');
    expect(report.error).toBe('timed out');
    expect(report.unhardened?.dangerouslyAllow).toEqual(['privileged']);
    expect(report.unhardened?.warning).toMatch(/^the workers were NOT hardened: dangerouslyAllow let them /);
    expect(report.redactedSecrets).toBe(2);
  });

  it('run facts: a fault that never fired is reported with its described trigger', () => {
    const report = assembleReport(inputs({ faultFacts: faultFactsOf([killFault('k')], [], new Set()), records: [] }));
    expect(report.faults[0]).toMatchObject({ faultId: 'k', status: 'not-fired', trigger: 'at 500 ms', firedAt: null, offsetMs: null });
  });
});
