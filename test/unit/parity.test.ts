/**
 * Parity without a daemon: outcome digests of run directories, their comparison and its
 * table, workspace trees (the in-process walk and the script the docker snapshot runs with
 * node give the same tree), and what the local backend refuses at plan time.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localBackendProblems } from '../../src/backends/index.js';
import { hashDirectory, TREE_SCRIPT } from '../../src/backends/workspace-snapshot.js';
import { compareDigests, digestRun, renderParityMarkdown, renderParityTable, type OutcomeDigest } from '../../src/parity/index.js';
import { parityDifferences } from '../../src/parity/digest.js';
import { validateScenario } from '../../src/scenario/index.js';

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keelhaul-parity-test-'));
  tempDirs.push(dir);
  return dir;
}

function digest(backend: 'docker' | 'local', overrides: Partial<OutcomeDigest['tasks'][string]> = {}): OutcomeDigest {
  return {
    backend,
    runId: `run-${backend}`,
    runDir: `/runs/${backend}`,
    seed: 1,
    status: 'passed',
    tasks: {
      't-01': {
        state: 'completed',
        attempts: [
          { attempt: 1, outcome: 'killed', exitCode: 137, events: ['task.started', 'task.progress'] },
          { attempt: 2, outcome: 'completed', exitCode: 0, events: ['task.started', 'task.progress', 'task.completed'] },
        ],
        files: { 'a.txt': 'aa', 'b.bin': 'bb' },
        ...overrides,
      },
    },
  };
}

/** A run directory as the controller writes it, reduced to what the digest reads. */
function writeRunDir(events: object[], snapshot?: object, extra: object = {}): string {
  const dir = tempDir();
  const report = {
    runId: 'r-1',
    seed: 7,
    status: 'passed',
    backend: 'local',
    tasks: [{ task: 't-01', outcome: 'completed', attempts: 2 }],
    attempts: [
      { task: 't-01', attempt: 2, outcome: 'completed', exitCode: 0 },
      { task: 't-01', attempt: 1, outcome: 'killed', exitCode: 137 },
    ],
    ...extra,
  };
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report));
  writeFileSync(join(dir, 'events.jsonl'), `${events.map((e) => JSON.stringify(e)).join('\n')}\n{"torn`);
  if (snapshot) writeFileSync(join(dir, 'workspaces.json'), JSON.stringify(snapshot));
  return dir;
}

const workerEvent = (attempt: number, type: string, seq: number): object => ({
  ts: '2026-01-01T12:00:00.000Z',
  type: 'worker.event',
  run: 'r-1',
  task: 't-01',
  attempt,
  event: { type, seq, task: 't-01', attempt },
});

describe('digestRun', () => {
  it('orders event types by seq per attempt, leaves heartbeats out and reads the workspace tree', async () => {
    const dir = writeRunDir(
      [
        workerEvent(1, 'task.started', 1),
        workerEvent(1, 'heartbeat', 2),
        workerEvent(2, 'task.started', 1),
        workerEvent(1, 'task.progress', 3),
        { type: 'attempt.exited', task: 't-01', attempt: 1 },
        workerEvent(2, 'task.completed', 3),
        workerEvent(2, 'heartbeat', 2),
      ],
      { backend: 'local', tasks: { 't-01': { 'z.txt': { bytes: 1, sha256: 'zz' }, 'a/b.txt': { bytes: 2, sha256: 'ab' } } } },
    );
    const d = await digestRun(dir);
    expect(d.status).toBe('passed');
    expect(d.seed).toBe(7);
    expect(d.tasks['t-01']).toEqual({
      state: 'completed',
      attempts: [
        { attempt: 1, outcome: 'killed', exitCode: 137, events: ['task.started', 'task.progress'] },
        { attempt: 2, outcome: 'completed', exitCode: 0, events: ['task.started', 'task.completed'] },
      ],
      files: { 'a/b.txt': 'ab', 'z.txt': 'zz' },
    });
    expect(d.filesUnavailable).toBeUndefined();
  });

  it('compares what an attempt a fault hit emitted before the fault fired; what came after is shown, never a difference (issue 16 item 11)', async () => {
    const at = (ms: number, e: object): object => ({ ...e, ts: new Date(Date.parse('2026-01-01T12:00:00.000Z') + ms).toISOString() });
    const extra = (firedMs: number): object => ({
      attempts: [
        { task: 't-01', attempt: 2, outcome: 'completed', exitCode: 0, faults: [] },
        { task: 't-01', attempt: 1, outcome: 'killed', exitCode: 137, faults: ['kill-one'] },
      ],
      faults: [{ faultId: 'kill-one', firedAt: new Date(Date.parse('2026-01-01T12:00:00.000Z') + firedMs).toISOString() }],
    });
    // The container got its progress out before the kill landed; the process did not.
    const container = await digestRun(
      writeRunDir([at(0, workerEvent(1, 'task.started', 1)), at(20, workerEvent(1, 'task.progress', 2)), at(50, workerEvent(2, 'task.started', 1))], undefined, extra(10)),
    );
    const process = await digestRun(writeRunDir([at(0, workerEvent(1, 'task.started', 1)), at(50, workerEvent(2, 'task.started', 1))], undefined, extra(10)));
    expect(container.tasks['t-01']!.attempts[0]).toEqual({ attempt: 1, outcome: 'killed', exitCode: 137, events: ['task.started'], eventsAfterFault: ['task.progress'] });
    const rows = compareDigests({ ...container, backend: 'docker' }, process);
    expect(rows.filter((r) => !r.same)).toEqual([]);
    expect(rows).toContainEqual({ task: 't-01', field: 'attempt 1 events after the fault (not compared)', docker: 'progress', local: '(none)', same: true });
    // An `on` trigger the attempt's own started set off: a progress the same chunk carried,
    // recorded before the fault's clock started, is timing too.
    const chunked = await digestRun(
      writeRunDir([at(0, workerEvent(1, 'task.started', 1)), at(1, workerEvent(1, 'task.progress', 2)), at(50, workerEvent(2, 'task.started', 1))], undefined, {
        ...extra(10),
        faults: [{ faultId: 'kill-one', trigger: 'on the 1st task.started', firedAt: new Date(Date.parse('2026-01-01T12:00:00.000Z') + 10).toISOString() }],
      }),
    );
    expect(chunked.tasks['t-01']!.attempts[0]!.events).toEqual(['task.started']);
    expect(chunked.tasks['t-01']!.attempts[0]!.eventsAfterFault).toEqual(['task.progress']);
    // Before the fault, a difference is still one.
    const early = await digestRun(writeRunDir([at(0, workerEvent(1, 'task.started', 1)), at(5, workerEvent(1, 'task.progress', 2))], undefined, extra(10)));
    expect(
      compareDigests({ ...early, backend: 'docker' }, process)
        .filter((r) => !r.same)
        .map((r) => r.field),
    ).toContain('attempt 1 events');
  });

  it('says why the files are missing when the run took no workspace snapshot', async () => {
    const d = await digestRun(writeRunDir([workerEvent(1, 'task.started', 1)]));
    expect(d.tasks['t-01']!.files).toBeNull();
    expect(d.filesUnavailable).toMatch(/no workspaces\.json/);
  });
});

describe('compareDigests', () => {
  it('finds no difference between equal digests and shows every compared value', () => {
    const rows = compareDigests(digest('docker'), digest('local'));
    expect(parityDifferences(rows)).toEqual([]);
    expect(rows.map((r) => r.field)).toEqual([
      'status',
      'state',
      'attempts',
      'attempt 1 outcome',
      'attempt 1 exit code',
      'attempt 1 events',
      'attempt 2 outcome',
      'attempt 2 exit code',
      'attempt 2 events',
      'files',
    ]);
    expect(renderParityTable(rows)).toMatch(/^t-01\s+attempt 1 events\s+started progress\s+started progress\s+=$/m);
  });

  it('names the task and field of an OOM that happened only in the container', () => {
    const docker = digest('docker', {
      state: 'failed',
      attempts: [{ attempt: 1, outcome: 'oom', exitCode: 137, events: ['task.started'] }],
    });
    const diffs = parityDifferences(compareDigests({ ...docker, status: 'failed' }, digest('local')));
    expect(diffs.map((d) => `${d.task ?? '(run)'} ${d.field}: ${d.docker} / ${d.local}`)).toEqual([
      '(run) status: failed / passed',
      't-01 state: failed / completed',
      't-01 attempts: 1 / 2',
      't-01 attempt 1 outcome: oom / killed',
      't-01 attempt 1 events: started / started progress',
      't-01 attempt 2 outcome: (absent) / completed',
      't-01 attempt 2 exit code: (absent) / 0',
      't-01 attempt 2 events: (absent) / started progress completed',
    ]);
    expect(renderParityTable(diffs, { onlyDifferences: true })).toMatch(/^t-01\s+state\s+failed\s+completed\s+≠$/m);
  });

  it('names each file whose content differs and each file only one side has', () => {
    const diffs = parityDifferences(compareDigests(digest('docker'), digest('local', { files: { 'a.txt': 'aa', 'b.bin': 'XX', 'c.txt': 'cc' } })));
    expect(diffs.map((d) => d.field)).toEqual(['files', 'file b.bin', 'file c.txt']);
    expect(diffs[2]).toMatchObject({ task: 't-01', docker: '(absent)', local: 'cc' });
  });

  it('does not compare file trees one side lacks, and a task only one side ran is a difference', () => {
    const local = digest('local', { files: null });
    const rows = compareDigests(digest('docker'), { ...local, tasks: { ...local.tasks, 't-02': { state: 'completed', attempts: [], files: null } } });
    expect(rows.some((r) => r.field === 'files')).toBe(false);
    expect(parityDifferences(rows)).toEqual([
      { task: 't-02', field: 'state', docker: '(absent)', local: 'completed', same: false },
      { task: 't-02', field: 'attempts', docker: '(absent)', local: '0', same: false },
    ]);
  });

  it('renders Markdown with the verdict and the differences first', () => {
    const docker = { ...digest('docker'), status: 'failed' };
    const rows = compareDigests(docker, digest('local'));
    const md = renderParityMarkdown({ scenario: 's', seed: 1, ok: false, docker, local: digest('local'), rows, differences: parityDifferences(rows), files: [] });
    expect(md).toContain('**Parity broken**: 1 value(s) differ.');
    expect(md).toContain('| (run) | status | failed | passed | ≠ |');
  });
});

describe('workspace trees', () => {
  it('the in-process walk and the node script of the docker snapshot give the same tree', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'out', 'deep'), { recursive: true });
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'out', 'deep', 'x.bin'), Buffer.from([0, 1, 2, 255]));
    writeFileSync(join(dir, 'notes.md'), '# plan\n');
    writeFileSync(join(dir, '.keelhaul-fill'), Buffer.alloc(10));
    const tree = await hashDirectory(dir);
    expect(tree).toEqual({
      'notes.md': { bytes: 7, sha256: '98acf32e1a70004b64cf74fc3195fbc6427da37e3987a4cec001ff107f09b844' },
      'out/deep/x.bin': { bytes: 4, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    const fromScript = JSON.parse(execFileSync(process.execPath, ['-e', TREE_SCRIPT, `t-01=${dir}`], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(fromScript).toEqual({ 't-01': tree });
  });
});

describe('localBackendProblems', () => {
  const scenario = (extra: object) => validateScenario({ name: 's', tasks: [{ id: 't-01', steps: [{ sleep: 1 }] }], ...extra });

  it('accepts kill, stop and pause with network none as root', () => {
    const s = scenario({
      faults: [
        { kind: 'kill', trigger: { at: 1 } },
        { kind: 'stop', trigger: { at: 1 } },
        { kind: 'pause', trigger: { at: 1 }, params: { durationMs: 10 } },
      ],
    });
    expect(localBackendProblems(s, true)).toEqual([]);
  });

  it('names each fault kind it cannot apply, with its index and name', () => {
    const s = scenario({
      network: 'internal',
      daemon: { mode: 'private' },
      faults: [
        { kind: 'kill', trigger: { at: 1 } },
        { name: 'slow-net', kind: 'netem', trigger: { at: 1 }, params: { durationMs: 10, delayMs: 5 } },
        { kind: 'restart', trigger: { at: 1 } },
        { kind: 'daemon-stop', trigger: { at: 1 } },
      ],
    });
    expect(localBackendProblems(s, true)).toEqual([
      { field: 'network', message: expect.stringContaining('network internal has no equivalent on the local backend') },
      { field: 'daemon.mode', message: expect.stringContaining('a private daemon has no meaning on the local backend') },
      { field: 'faults[1].kind', message: expect.stringContaining('fault netem (slow-net) cannot be applied on the local backend') },
      { field: 'faults[2].kind', message: expect.stringContaining('fault restart cannot be applied on the local backend') },
      { field: 'faults[3].kind', message: expect.stringContaining('fault daemon-stop cannot be applied on the local backend') },
    ]);
  });

  it('refuses what needs root when not root: unshare --net, a tmpfs workspace', () => {
    const s = scenario({ workspace: { size: '1m' }, daemon: { mode: 'private' } });
    expect(localBackendProblems(s, false).map((p) => p.field)).toEqual(['network', 'daemon.mode', 'workspace.size']);
  });
});
