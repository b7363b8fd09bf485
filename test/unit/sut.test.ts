/**
 * A system under test (issue 15, docs/sut.md) without a daemon: its scenario validation, the
 * expansion of its strings, the injector scoped to its selector and counting its events, and
 * each of its checks able to fail, naming the container, task, file or line.
 */
import { describe, expect, it } from 'vitest';
import { Injector, type FaultEvent } from '../../src/chaos/injector.js';
import { createSeededRandom } from '../../src/chaos/random.js';
import {
  checkSutCleanup,
  checkSutContainersSeen,
  checkSutExactlyOnce,
  checkSutExit,
  checkSutHardening,
  checkSutLabels,
  checkSutLogs,
  checkSutRecovery,
  sutRecoveryFigures,
  type SutContainerFact,
} from '../../src/checks/index.js';
import { resolveSut } from '../../src/controller/sut-resolve.js';
import { ANY_VALUE } from '../../src/docker/labels.js';
import type { ContainerSummary } from '../../src/docker/client.js';
import { compareSutDigests, scenarioForMode, SutParityError, sutModes, type SutDigest } from '../../src/parity/index.js';
import { ScenarioError, validateScenario } from '../../src/scenario/index.js';
import { hostRequirements } from '../../src/cli/host-requirements.js';

const SUT = { command: ['python3', 'orch.py', 'run'], resume: ['python3', 'orch.py', 'resume'], selector: { 'acme.run': '${KEELHAUL_RUN_ID}' }, taskLabel: 'acme.task' };

function issues(input: unknown): string[] {
  try {
    validateScenario(input, 'sut.yaml');
  } catch (error) {
    if (error instanceof ScenarioError) return error.issues.map((i) => `${i.field}: ${i.message}`);
    throw error;
  }
  return [];
}

describe('sut: scenario validation', () => {
  it('sut: a scenario with a sut needs no tasks, and refuses tasks beside it', () => {
    expect(issues({ name: 's', sut: SUT })).toEqual([]);
    expect(issues({ name: 's' })).toEqual([expect.stringMatching(/^tasks: is required: a scenario needs tasks, or a sut/)]);
    expect(issues({ name: 's', sut: SUT, tasks: [{ id: 't', steps: [{ sleep: 1 }] }] })).toEqual([expect.stringMatching(/^tasks: keelhaul tasks beside a sut are not supported/)]);
  });

  it('sut: sut-kill and sut.* triggers need a sut; a sut-kill that resumes needs sut.resume; a pattern needs sut.output', () => {
    const noSut = issues({ name: 's', tasks: [{ id: 't', steps: [{ sleep: 1 }] }], faults: [{ kind: 'sut-kill', trigger: { on: { event: 'sut.container.start' } } }] });
    expect(noSut).toContainEqual(expect.stringMatching(/^faults\[0\]\.kind: sut-kill signals a system under test/));
    expect(noSut).toContainEqual(expect.stringMatching(/^faults\[0\]\.trigger\.on\.event: sut\.container\.start is an event of a system under test/));
    const { resume: _resume, ...noResume } = SUT;
    expect(issues({ name: 's', sut: noResume, faults: [{ kind: 'sut-kill', trigger: { at: 10 } }] })).toEqual([
      expect.stringMatching(/^faults\[0\]\.params\.resume: resumes the SUT with sut\.resume/),
    ]);
    expect(issues({ name: 's', sut: SUT, faults: [{ kind: 'kill', trigger: { on: { event: 'sut.container.start', pattern: 'x' } } }] })).toEqual([
      expect.stringMatching(/^faults\[0\]\.trigger\.on\.pattern: a pattern matches the SUT's output lines/),
    ]);
    expect(issues({ name: 's', sut: SUT, faults: [{ kind: 'kill', trigger: { on: { event: 'task.started' } } }] })).toEqual([
      expect.stringMatching(/^faults\[0\]\.trigger\.on\.event: with a sut, triggers count sut\.container\.create/),
    ]);
  });

  it("sut: a ${VAR} unset in keelhaul's environment is refused naming the field; run variables and defaults are fine", () => {
    delete process.env['KH_SUT_TEST_UNSET'];
    const found = issues({ name: 's', sut: { ...SUT, env: { TOKEN: '${KH_SUT_TEST_UNSET}', OK: '${KH_SUT_TEST_UNSET:-x}', DIR: '${KEELHAUL_STATE_DIR}' } } });
    expect(found).toEqual([expect.stringMatching(/^sut\.env\.TOKEN: \$\{KH_SUT_TEST_UNSET\} is not set in keelhaul's environment/)]);
  });

  it('sut: a fault target without labels means every container of the selector, not role=worker', () => {
    const scenario = validateScenario({ name: 's', sut: SUT, faults: [{ kind: 'kill', trigger: { at: 10 } }] });
    expect(scenario.faults[0]!.target.labels).toEqual({});
  });
});

describe('sut: resolveSut', () => {
  it('sut: expands ${VAR} and the run variables, cwd against the scenario file, and names the variables read', () => {
    process.env['KH_SUT_TOKEN'] = 'at-validation';
    const sut = validateScenario({ name: 's', sut: { ...SUT, cwd: '../orch', env: { TOKEN: '${KH_SUT_TOKEN}', IMAGE: '${KEELHAUL_IMAGE}' } } }).sut!;
    delete process.env['KH_SUT_TOKEN'];
    // The scenario keeps the reference; its value is read when the run starts.
    expect(sut.env['TOKEN']).toBe('${KH_SUT_TOKEN}');
    const resolved = resolveSut(sut, { runId: 'r-1', runDir: '/runs/r-1', scenarioFile: '/work/chaos/s.yaml', image: 'acme/worker:1' }, { KH_SUT_TOKEN: 'abc' });
    expect(resolved.selector).toEqual({ 'acme.run': 'r-1' });
    expect(resolved.cwd).toBe('/work/orch');
    expect(resolved.env).toEqual({ TOKEN: 'abc', IMAGE: 'acme/worker:1' });
    expect(resolved.stateDir).toBe('/runs/r-1/sut-state');
    expect(resolved.fromEnvironment).toEqual(['KH_SUT_TOKEN']);
  });
});

describe('sut: the injector scoped to a SUT', () => {
  const container = (id: string, task: string): ContainerSummary => ({
    id,
    names: [`/acme-${task}`],
    image: 'i',
    state: 'running',
    labels: { 'acme.run': 'r-1', 'acme.task': task },
  });
  const containers = [container('c1', 'task-1'), container('c2', 'task-2'), { ...container('c3', 'task-3'), labels: { 'acme.run': 'other', 'acme.task': 'task-3' } }];

  it('sut: candidates come from the selector (not the run label), targets carry the task label, and on.task / on.pattern count SUT events', async () => {
    const kills: string[] = [];
    const queries: Record<string, string>[] = [];
    const events: FaultEvent[] = [];
    const injector = new Injector({
      faults: [
        {
          kind: 'kill',
          trigger: { on: { event: 'sut.container.start', task: 'task-2', nth: 2 } },
          target: { labels: { 'acme.task': 'task-2' }, pick: 'random', count: 1 },
          params: { signal: 'SIGKILL', mode: 'api' },
        },
        {
          kind: 'kill',
          name: 'by-line',
          trigger: { on: { event: 'sut.output', pattern: 'batch 2', nth: 1 } },
          target: { labels: {}, pick: 'all', count: 1 },
          params: { signal: 'SIGTERM', mode: 'api' },
        },
      ],
      random: createSeededRandom(1),
      scope: { labels: { 'acme.run': 'r-1' }, taskLabel: 'acme.task' },
      context: {
        docker: {
          listContainers: async (q: { labels: Record<string, string> }) => {
            queries.push(q.labels);
            return containers.filter((c) => Object.entries(q.labels).every(([k, v]) => (v === ANY_VALUE ? k in c.labels : c.labels[k] === v)));
          },
          killContainer: async (id: string) => void kills.push(id),
          inspectContainer: async () => {
            throw new Error('unused');
          },
        } as never,
        helperLabels: () => ({}),
        image: 'i',
      },
      runId: 'keelhaul-run',
      emit: (e) => events.push(e),
    });
    injector.start();
    injector.observe({ type: 'sut.container.start', task: 'task-2' });
    injector.observe({ type: 'sut.container.start', task: 'task-1' });
    injector.observe({ type: 'sut.output', line: 'acme: batch 1' });
    await new Promise((r) => setTimeout(r, 20));
    expect(kills).toEqual([]);
    injector.observe({ type: 'sut.container.start', task: 'task-2' });
    injector.observe({ type: 'sut.output', line: 'acme: batch 2 started' });
    await injector.stop();
    expect(kills.sort()).toEqual(['c1', 'c2', 'c2']);
    expect(queries.every((q) => q['acme.run'] === 'r-1' && !('dev.keelhaul.run' in q))).toBe(true);
    const hit = events.find((e) => e.type === 'fault.injected' && e.record.faultId === 'f1');
    expect(hit?.type === 'fault.injected' && hit.record.targets).toEqual([expect.objectContaining({ containerId: 'c2', task: 'task-2' })]);
  });
});

const fact = (name: string, task: string, extra: Partial<SutContainerFact> = {}): SutContainerFact => ({
  containerId: `${name}-0123456789abcdef`,
  name,
  task,
  labels: { 'acme.run': 'r', 'acme.task': task },
  inspected: {
    user: '1000:1000',
    capDrop: ['ALL'],
    securityOpt: ['no-new-privileges'],
    readonlyRootfs: true,
    networkMode: 'none',
    memoryBytes: 1 << 26,
    pidsLimit: 64,
    mounts: [],
  },
  createdAt: '2026-01-01T00:00:00.000Z',
  startedAt: ['2026-01-01T00:00:00.100Z'],
  diedAt: [{ time: '2026-01-01T00:00:02.000Z', exitCode: 0 }],
  ...extra,
});

describe('sut: checks, each able to fail', () => {
  it('sut-exit: the last run decides; a timeout fails; the failing run shows its stderr', () => {
    expect(
      checkSutExit(
        [
          { phase: 'run', exitCode: null, signal: 'SIGKILL', killedBy: 'sut-kill' },
          { phase: 'resume', exitCode: 0, signal: null },
        ],
        0,
      ).ok,
    ).toBe(true);
    const failed = checkSutExit([{ phase: 'run', exitCode: 1, signal: null, stderrTail: ['Traceback', 'RuntimeError: boom'] }], 0);
    expect(failed.ok).toBe(false);
    expect(failed.evidence).toContain('  RuntimeError: boom');
    expect(
      checkSutExit(
        [
          { phase: 'run', exitCode: 0, signal: null },
          { phase: 'resume', exitCode: 0, signal: null, killedBy: 'timeout' },
        ],
        0,
      ).ok,
    ).toBe(false);
    expect(checkSutExit([], 0).ok).toBe(false);
  });

  it('sut-containers-seen fails when the selector matched nothing, saying what to check', () => {
    const r = checkSutContainersSeen([], { 'acme.run': 'r' });
    expect(r.ok).toBe(false);
    expect(r.evidence[0]).toMatch(/check sut\.selector/);
  });

  it('sut-labels names the container and the label it lacks', () => {
    const r = checkSutLabels([fact('a-1', 'task-1'), fact('a-2', 'task-2', { labels: { 'acme.run': 'r' } })], ['acme.run', 'acme.task']);
    expect(r.ok).toBe(false);
    expect(r.evidence).toEqual(['a-2 (task task-2) has no label acme.task']);
  });

  it('sut-hardening names each container and each way it falls short', () => {
    const root = fact('a-1', 'task-1', {
      inspected: {
        ...fact('x', 'y').inspected!,
        user: '',
        networkMode: 'bridge',
        capDrop: [],
        mounts: [{ type: 'bind', source: '/var/run/docker.sock', destination: '/var/run/docker.sock' }],
      },
    });
    const r = checkSutHardening([fact('ok', 'task-2'), root], {
      nonRoot: true,
      capDropAll: true,
      readOnlyRootfs: true,
      noNewPrivileges: true,
      networkMode: 'none',
      noDockerSocket: true,
      memoryLimit: true,
      pidsLimit: true,
    });
    expect(r.ok).toBe(false);
    expect(r.evidence).toEqual([
      'a-1 (task task-1): runs as user "", expected non-root',
      'a-1 (task task-1): CapDrop is [], expected ALL',
      'a-1 (task task-1): NetworkMode is bridge, expected none',
      'a-1 (task task-1): the Docker socket is mounted',
    ]);
  });

  it('sut-cleanup names what the selector still finds', () => {
    expect(checkSutCleanup({ containers: [], networks: [], volumes: [], graceMs: 5000 }).ok).toBe(true);
    const r = checkSutCleanup({ containers: [{ id: '0123456789abcdef', name: 'acme-task-1-1', state: 'exited' }], networks: ['acme-net'], volumes: ['acme-vol'], graceMs: 5000 });
    expect(r.ok).toBe(false);
    expect(r.evidence).toEqual(['container acme-task-1-1 (0123456789ab) is exited', 'network acme-net', 'volume acme-vol']);
  });

  it('sut-exactly-once names a key completed twice with its lines, a missing key, a bad line and a missing file', () => {
    const r = checkSutExactlyOnce({
      file: 'ledger.jsonl',
      key: 'task_id',
      found: true,
      entries: [
        { line: 1, key: 'task-1' },
        { line: 2, key: 'task-2' },
        { line: 3, key: 'task-1' },
        { line: 4, error: 'not JSON' },
      ],
      expectKeys: ['task-1', 'task-2', 'task-3'],
    });
    expect(r.ok).toBe(false);
    expect(r.evidence).toEqual(['ledger.jsonl:4: not JSON', 'task_id task-1 completed 2 times (ledger.jsonl lines 1, 3)', 'task_id task-3 never completed']);
    expect(checkSutExactlyOnce({ file: 'l', key: 'k', found: false, entries: [] }).evidence).toEqual(['l does not exist']);
    expect(checkSutExactlyOnce({ file: 'l', key: 'k', found: true, entries: [{ line: 1, key: 'a' }], expectCount: 1 }).ok).toBe(true);
  });

  it('sut-log-schema names the file and line of each invalid line', () => {
    const r = checkSutLogs([{ file: 'events.jsonl', schema: 's.json', found: true, lines: 3, invalid: [{ line: 2, message: "/ must have required property 'ts'" }] }]);
    expect(r.ok).toBe(false);
    expect(r.evidence).toEqual(["events.jsonl:2: / must have required property 'ts'"]);
  });

  it('sut-recovery: a task whose later container exited 0 recovered, with the time to its start; one without did not', () => {
    const hit = fact('a-1', 'task-1', { diedAt: [{ time: '2026-01-01T00:00:01.000Z', exitCode: 137 }] });
    const next = fact('a-2', 'task-1', {
      createdAt: '2026-01-01T00:00:01.200Z',
      startedAt: ['2026-01-01T00:00:01.500Z'],
      diedAt: [{ time: '2026-01-01T00:00:03.000Z', exitCode: 0 }],
    });
    const lost = fact('b-1', 'task-2', { diedAt: [{ time: '2026-01-01T00:00:01.000Z', exitCode: 137 }] });
    const faults = [
      {
        faultId: 'k1',
        kind: 'kill',
        status: 'injected' as const,
        firedAt: '2026-01-01T00:00:00.900Z',
        targets: [{ containerId: hit.containerId, task: 'task-1', actedAt: '2026-01-01T00:00:01.000Z' }],
      },
      {
        faultId: 'k2',
        kind: 'kill',
        status: 'injected' as const,
        firedAt: '2026-01-01T00:00:00.900Z',
        targets: [{ containerId: lost.containerId, task: 'task-2', actedAt: '2026-01-01T00:00:01.000Z' }],
      },
    ];
    const figures = sutRecoveryFigures([hit, next, lost], faults);
    expect(figures).toEqual([
      { faultId: 'k1', task: 'task-1', containerId: hit.containerId, recoveryMs: 500, recovered: true },
      { faultId: 'k2', task: 'task-2', containerId: lost.containerId, recoveryMs: null, recovered: false },
    ]);
    const r = checkSutRecovery(figures);
    expect(r.ok).toBe(false);
    expect(r.evidence).toEqual([`k2: task task-2 (container ${lost.containerId.slice(0, 12)}) never had a container exit 0 after the fault`]);
    expect(checkSutRecovery(figures.slice(0, 1), 400).ok).toBe(false);
    expect(checkSutRecovery(figures.slice(0, 1), 600).ok).toBe(true);
  });
});

describe('sut: parity of two modes', () => {
  const digest = (mode: string, ledger: Record<string, number> | undefined, outputs: Record<string, string>, exitCode: number | null = 0): SutDigest => ({
    mode,
    runId: `r-${mode}`,
    runDir: `/runs/r-${mode}`,
    status: 'passed',
    exitCode,
    ledger,
    outputs,
  });

  it('sut parity: the same exit, ledger and outputs hold; a key done twice, a missing output and another exit break it, named', () => {
    const same = compareSutDigests(digest('local', { a: 1, b: 1 }, { 'out/a': 'x' }), digest('docker', { b: 1, a: 1 }, { 'out/a': 'x' }));
    expect(same.every((r) => r.same)).toBe(true);
    const rows = compareSutDigests(digest('local', { a: 1, b: 1 }, { 'out/a': 'x', 'out/b': 'y' }), digest('docker', { a: 2, b: 1 }, { 'out/a': 'x' }, 1));
    expect(rows.filter((r) => !r.same).map((r) => [r.field, r.docker, r.local])).toEqual([
      ['sut exit code', '0', '1'],
      ['ledger', 'a b', 'a×2 b'],
      ['outputs', '2 file(s)', '1 file(s), 1 differ'],
      ['output out/b', 'y', '(absent)'],
    ]);
  });

  it('sut parity: a SUT without two modes is refused before anything runs; a mode replaces command and adds env', () => {
    const scenario = validateScenario({ name: 's', sut: SUT });
    expect(() => sutModes(scenario)).toThrow(SutParityError);
    const two = validateScenario({
      name: 's',
      sut: { ...SUT, env: { A: '1' }, modes: { local: { env: { MODE: 'local' }, expectContainers: false }, docker: { command: ['orch', '--docker'] } } },
    });
    expect(sutModes(two)).toEqual(['local', 'docker']);
    expect(scenarioForMode(two, 'local').sut).toMatchObject({ command: SUT.command, env: { A: '1', MODE: 'local' }, expectContainers: false });
    expect(scenarioForMode(two, 'docker').sut).toMatchObject({ command: ['orch', '--docker'], env: { A: '1' }, expectContainers: true });
    expect(issues({ name: 's', sut: { ...SUT, modes: { only: {} } } })).toEqual([expect.stringMatching(/^sut\.modes: expected exactly two modes/)]);
  });
});

describe('sut: host requirements', () => {
  it('sut: validate and doctor name the SUT programs PATH must have, met or not', async () => {
    const scenario = validateScenario({ name: 's', sut: { ...SUT, command: ['sh', 'x'], resume: ['kh-no-such-program-xyz', 'resume'] } });
    const found = await hostRequirements(scenario, true);
    expect(found).toEqual([
      { need: 'sh', for: ['sut.command'], met: true, without: 'refused' },
      { need: 'kh-no-such-program-xyz', for: ['sut.resume'], met: false, without: 'refused', fix: 'apt-get install kh-no-such-program-xyz' },
    ]);
    // A path is the run's preflight to check, against sut.cwd.
    expect(await hostRequirements(validateScenario({ name: 's', sut: { ...SUT, command: ['./orch.py'], resume: ['./orch.py'] } }), true)).toEqual([]);
  });
});
