import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// No Docker daemon in unit tests: a command that got as far as connecting would call this
// fake, so each test can assert that bad input is refused before any connection is made.
vi.mock('../../src/docker/index.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/docker/index.js')>();
  return {
    ...actual,
    connectDocker: vi.fn(async () => {
      throw new actual.DaemonUnavailableError('/test/no-daemon.sock', { operation: 'ping', code: 'ENOENT' });
    }),
  };
});

const { connectDocker } = await import('../../src/docker/index.js');
const { runCli } = await import('../../src/cli/program.js');
const { renderEvent } = await import('../../src/cli/render.js');
const { ExitCode } = await import('../../src/cli/exit-codes.js');
type RunEvent = import('../../src/controller/index.js').RunEvent;

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const smokePath = join(repoRoot, 'chaos/smoke.yaml');

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function collectingIo(): { out: (line: string) => void; err: (line: string) => void; stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { out: (l) => stdout.push(l), err: (l) => stderr.push(l), stdout, stderr };
}

function tempScenario(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'keelhaul-cli-test-'));
  tempDirs.push(dir);
  const path = join(dir, 'scenario.yaml');
  writeFileSync(path, text);
  return path;
}

beforeEach(() => {
  vi.mocked(connectDocker).mockClear();
});

describe('cli: runCli', () => {
  it('cli: --help exits 0 and mentions the exit codes', async () => {
    const io = collectingIo();
    const code = await runCli(['--help'], io);
    expect(code).toBe(0);
    const text = io.stdout.join('\n');
    expect(text).toMatch(/Exit codes/);
    expect(text).toMatch(/\b2\b.*bad input/);
    expect(text).toContain('run');
  });

  it('cli: run --help exits 0 and mentions the exit codes', async () => {
    const io = collectingIo();
    expect(await runCli(['run', '--help'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/Exit codes/);
  });

  it('cli: --version exits 0 and prints the version', async () => {
    const io = collectingIo();
    expect(await runCli(['--version'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('cli: an unknown command exits 2 and names it', async () => {
    const io = collectingIo();
    expect(await runCli(['frobnicate'], io)).toBe(ExitCode.badInput);
    expect(io.stderr.join('\n')).toContain('frobnicate');
  });

  it('cli: run without a scenario exits 2', async () => {
    const io = collectingIo();
    expect(await runCli(['run'], io)).toBe(2);
    expect(connectDocker).not.toHaveBeenCalled();
  });

  it('cli: run with a missing scenario file exits 2 and stderr names the file', async () => {
    const io = collectingIo();
    const missing = join(tmpdir(), `keelhaul-cli-missing-${process.pid}.yaml`);
    expect(await runCli(['run', missing], io)).toBe(2);
    const err = io.stderr.join('\n');
    expect(err).toContain(missing);
    expect(err).toMatch(/no such file/);
    expect(connectDocker).not.toHaveBeenCalled();
  });

  it('cli: run with --seed abc exits 2 naming --seed', async () => {
    const io = collectingIo();
    expect(await runCli(['run', smokePath, '--seed', 'abc'], io)).toBe(2);
    expect(io.stderr.join('\n')).toContain('--seed');
    expect(connectDocker).not.toHaveBeenCalled();
  });

  it('cli: run with a seed above 2^32-1 exits 2 naming --seed', async () => {
    const io = collectingIo();
    expect(await runCli(['run', smokePath, '--seed', '4294967296'], io)).toBe(2);
    expect(io.stderr.join('\n')).toContain('--seed');
  });

  it('cli: run with an unknown fault kind exits 2 naming faults[0].kind, before connecting to Docker', async () => {
    const path = tempScenario(['name: bad-kind', 'tasks:', '  count: 1', '  steps: [{sleep: 1}]', 'faults:', '  - kind: meteor', '    trigger: { at: 5 }', ''].join('\n'));
    const io = collectingIo();
    expect(await runCli(['run', path], io)).toBe(2);
    const err = io.stderr.join('\n');
    expect(err).toContain('faults[0].kind');
    expect(err).toContain(`${path}:6`);
    expect(err).toContain('meteor');
    expect(connectDocker).not.toHaveBeenCalled();
  });

  it('cli: run with a valid scenario and no daemon exits 3 (the environment cannot run it) after trying to connect', async () => {
    const io = collectingIo();
    expect(await runCli(['run', smokePath, '--seed', '7'], io)).toBe(3);
    expect(connectDocker).toHaveBeenCalledTimes(1);
    expect(io.stderr.join('\n')).toMatch(/No Docker daemon answers/);
  });
});

describe('cli: renderEvent', () => {
  const base = { ts: '2025-01-01T00:00:00.000Z', run: 'run-1' };

  it('cli: renderEvent prints a line for attempt.exited with task#attempt, outcome and exit code', () => {
    const line = renderEvent({
      ...base,
      type: 'attempt.exited',
      task: 't-02',
      attempt: 1,
      containerId: '0123456789abcdef0123',
      exitCode: 137,
      oomKilled: false,
      outcome: 'killed',
      durationMs: 812,
    });
    expect(line).toBeDefined();
    expect(line).toContain('t-02#1');
    expect(line).toContain('killed');
    expect(line).toContain('exit 137');
    expect(line).toContain('812 ms');
  });

  it('cli: renderEvent prints a line for fault.injected naming the fault, signal and target', () => {
    const event: RunEvent = {
      ...base,
      type: 'fault.injected',
      fault: {
        faultId: 'kill-a-running-worker',
        kind: 'kill',
        trigger: 'on the 2nd task.started',
        firedAt: base.ts,
        offsetMs: 1234,
        targets: [{ containerId: '0123456789abcdef0123', task: 't-03', attempt: 1 }],
        params: { signal: 'SIGKILL' },
        status: 'injected',
      },
    };
    const line = renderEvent(event);
    expect(line).toContain('kill-a-running-worker');
    expect(line).toContain('SIGKILL');
    expect(line).toContain('t-03#1');
    expect(line).toContain('+1234 ms');
  });

  it('cli: renderEvent says what cleanup removed at the end and what went as tasks completed', () => {
    const line = renderEvent({ ...base, type: 'cleanup.finished', containers: 1, networks: 0, volumes: 0, errors: [], removedBehind: { containers: 4, volumes: 4 } });
    expect(line).toBe('cleanup: removed 1 container(s), 0 network(s), 0 volume(s) (and 4 container(s), 4 volume(s) as their tasks completed)');
  });

  it('cli: renderEvent shows an isolation hole and an unguarded network always, a clean probe only when verbose', () => {
    const probe = { ...base, type: 'isolation.probed' as const, task: 't-01', attempt: 2, containerId: 'c', interfaces: ['eth0', 'eth1', 'lo'], unreachable: [] };
    expect(renderEvent({ ...probe, reached: ['172.17.0.1:4000'] })).toBe('  t-01#2 ISOLATION HOLE reached 172.17.0.1:4000 from inside (interfaces eth0, eth1, lo)');
    expect(renderEvent({ ...probe, reached: [] })).toBeUndefined();
    expect(renderEvent({ ...probe, reached: [] }, { verbose: true })).toContain('isolation');
    expect(renderEvent({ ...base, type: 'network.guarded', network: 'kh-r', bridge: 'br-1', applied: false, reason: 'not root: iptables needs uid 0' })).toMatch(
      /^ {2}warning: network kh-r NOT guarded \(not root/,
    );
    expect(renderEvent({ ...base, type: 'network.guarded', network: 'kh-r', bridge: 'br-1', applied: true })).toBeUndefined();
  });

  it('cli: renderEvent prints nothing for a heartbeat worker.event', () => {
    const line = renderEvent({
      ...base,
      type: 'worker.event',
      task: 't-01',
      attempt: 1,
      event: { ts: base.ts, type: 'heartbeat', run: 'run-1', task: 't-01', attempt: 1 },
    });
    expect(line).toBeUndefined();
  });

  it('cli: renderEvent prints a heartbeat worker.event only when verbose', () => {
    const line = renderEvent(
      {
        ...base,
        type: 'worker.event',
        task: 't-01',
        attempt: 1,
        event: { ts: base.ts, type: 'heartbeat', run: 'run-1', task: 't-01', attempt: 1 },
      },
      { verbose: true },
    );
    expect(line).toContain('heartbeat');
  });

  it('cli: renderEvent prints a task.failed worker.event with its reason', () => {
    const line = renderEvent({
      ...base,
      type: 'worker.event',
      task: 't-01',
      attempt: 2,
      event: { ts: base.ts, type: 'task.failed', run: 'run-1', task: 't-01', attempt: 2, reason: 'disk_full', message: 'ENOSPC' },
    });
    expect(line).toContain('t-01#2');
    expect(line).toContain('disk_full: ENOSPC');
  });

  it('cli: renderEvent prints a failed check with what was expected', () => {
    const line = renderEvent({ ...base, type: 'check.result', name: 'no-leaks', ok: false, expected: '0 volumes', observed: '1 volumes' });
    expect(line).toContain('FAIL');
    expect(line).toContain('no-leaks');
    expect(line).toContain('expected 0 volumes');
  });
});
