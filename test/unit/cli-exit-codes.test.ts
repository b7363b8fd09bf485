/**
 * Exit codes CI can act on (issue 14, item 3): each error class keelhaul throws maps to
 * one code, and an error keelhaul did not expect is its own (4) with the stack in a file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultSupportError } from '../../src/chaos/index.js';
import { exitCodeOf, reportError, RunCommandError, UsageError } from '../../src/cli/errors.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { DaemonUnavailableError, ImageNotFoundError } from '../../src/docker/index.js';
import { ScenarioError } from '../../src/scenario/index.js';

function sink(): { lines: string[]; io: { out: (l: string) => void; err: (l: string) => void } } {
  const lines: string[] = [];
  return { lines, io: { out: (l) => lines.push(l), err: (l) => lines.push(l) } };
}

describe('exit codes', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('2 for bad input: a scenario, a flag', () => {
    expect(exitCodeOf(new ScenarioError('x.yaml', [{ field: 'name', message: 'is required' }]))).toBe(ExitCode.badInput);
    expect(exitCodeOf(new UsageError('--seed', 'bad'))).toBe(2);
  });

  it('3 when the environment cannot run it: no daemon, a missing image, a fault this host cannot apply', () => {
    expect(exitCodeOf(new DaemonUnavailableError('/no.sock', { operation: 'ping' }))).toBe(ExitCode.environment);
    expect(exitCodeOf(new ImageNotFoundError('team/worker:1', { operation: 'run' }))).toBe(3);
    expect(exitCodeOf(new FaultSupportError('faults[0].kind', 'netem acts from the host and needs root'))).toBe(3);
  });

  it("4 for keelhaul's own error: the message says so and the stack is written to the run directory's error.log", async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'keelhaul-exit-'));
    dirs.push(runDir);
    const { lines, io } = sink();
    const bug = new TypeError("Cannot read properties of undefined (reading 'attempt')");
    expect(reportError(new RunCommandError(runDir, bug), io)).toBe(ExitCode.internal);
    expect(lines[0]).toMatch(/^keelhaul: internal error \(a bug in keelhaul, not in what it tested\): Cannot read properties/);
    expect(lines[1]).toContain(join(runDir, 'error.log'));
    const log = readFileSync(join(runDir, 'error.log'), 'utf8');
    expect(log).toContain('TypeError: Cannot read properties of undefined');
    expect(log).toContain('cli-exit-codes.test.ts');
  });

  it('a known error that escaped a run keeps its own code (the run directory only matters for bugs)', async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'keelhaul-exit-'));
    dirs.push(runDir);
    const { io } = sink();
    expect(reportError(new RunCommandError(runDir, new DaemonUnavailableError('/no.sock', { operation: 'ping' })), io)).toBe(3);
    expect(existsSync(join(runDir, 'error.log'))).toBe(false);
  });
});
