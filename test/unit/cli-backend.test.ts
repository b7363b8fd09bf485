/**
 * `--backend` and `keelhaul parity` on bad input: a fault or setting the local backend
 * cannot apply is refused with exit 2 by plan, validate, run and parity — naming the fault
 * and the backend — before any daemon connection is made.
 */
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// No daemon in unit tests: a command that got as far as connecting would call this fake.
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
const { ExitCode } = await import('../../src/cli/exit-codes.js');

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
function tempScenario(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'keelhaul-cli-backend-test-'));
  tempDirs.push(dir);
  const path = join(dir, 'scenario.yaml');
  writeFileSync(path, text);
  return path;
}
function collectingIo(): { out: (line: string) => void; err: (line: string) => void; stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { out: (l) => stdout.push(l), err: (l) => stderr.push(l), stdout, stderr };
}

const netemScenario = `name: slow
tasks: [{ id: t-01, steps: [{ sleep: 10 }] }]
faults:
  - kind: kill
    trigger: { at: 100 }
  - name: slow-net
    kind: netem
    trigger: { at: 100 }
    params: { durationMs: 100, delayMs: 50 }
`;

beforeEach(() => {
  vi.mocked(connectDocker).mockClear();
});

describe('cli: --backend local refuses what it cannot apply', () => {
  it('validate --backend local lists every problem, each with file:line:column, in one error', async () => {
    const path = tempScenario(`name: many
network: internal
tasks: [{ id: t-01, steps: [{ sleep: 10 }] }]
faults:
  - kind: netem
    trigger: { at: 100 }
    params: { durationMs: 100, delayMs: 50 }
  - kind: partition
    trigger: { at: 100 }
    params: { durationMs: 100 }
`);
    const io = collectingIo();
    expect(await runCli(['validate', path, '--backend', 'local'], io)).toBe(ExitCode.badInput);
    const text = io.stderr.join('\n');
    expect(text).toMatch(new RegExp(`${path}:2:\\d+: network: network internal has no equivalent on the local backend.*\\(backend local\\)`));
    expect(text).toMatch(new RegExp(`${path}:5:\\d+: faults\\[0\\]\\.kind: fault netem cannot be applied on the local backend`));
    expect(text).toMatch(new RegExp(`${path}:8:\\d+: faults\\[1\\]\\.kind: fault partition cannot be applied`));
    expect(connectDocker).not.toHaveBeenCalled();
  });

  for (const command of ['plan', 'validate', 'run']) {
    it(`${command} --backend local: a netem fault exits 2 naming the fault, its field and the backend`, async () => {
      const io = collectingIo();
      expect(await runCli([command, tempScenario(netemScenario), '--backend', 'local'], io)).toBe(ExitCode.badInput);
      expect(io.stderr.join('\n')).toMatch(/faults\[1\]\.kind: fault netem \(slow-net\) cannot be applied on the local backend .*\(backend local\)/);
      expect(connectDocker).not.toHaveBeenCalled();
    });
  }

  it('validate: backend local in the scenario file is refused the same way', async () => {
    const io = collectingIo();
    expect(await runCli(['validate', tempScenario(`backend: local\n${netemScenario}`)], io)).toBe(ExitCode.badInput);
    expect(io.stderr.join('\n')).toContain('fault netem (slow-net) cannot be applied on the local backend');
  });

  it('plan --backend docker accepts the same scenario', async () => {
    const io = collectingIo();
    expect(await runCli(['plan', tempScenario(netemScenario), '--backend', 'docker'], io)).toBe(ExitCode.ok);
  });

  it('an unknown --backend exits 2 and names the choices', async () => {
    const io = collectingIo();
    expect(await runCli(['plan', tempScenario(netemScenario), '--backend', 'podman'], io)).toBe(ExitCode.badInput);
    expect(io.stderr.join('\n')).toMatch(/docker, local/);
  });

  it('parity: a fault the local backend cannot apply exits 2 before any run', async () => {
    const io = collectingIo();
    expect(await runCli(['parity', tempScenario(netemScenario)], io)).toBe(ExitCode.badInput);
    expect(io.stderr.join('\n')).toContain('fault netem (slow-net) cannot be applied on the local backend');
    expect(connectDocker).not.toHaveBeenCalled();
  });

  it('parity --help explains what is compared and the exit codes', async () => {
    const io = collectingIo();
    expect(await runCli(['parity', '--help'], io)).toBe(ExitCode.ok);
    const text = io.stdout.join('\n');
    expect(text).toMatch(/heartbeats left\s+out/);
    expect(text).toMatch(/1\s+a value differs/);
  });
});
