/**
 * Machine-readable everywhere (issue 14, item 6): `--json` on validate, status, doctor and
 * plan gives one parseable object on stdout (no daemon here: connectDocker is a fake that
 * finds none, so doctor reports it and exits 3).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/docker/index.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/docker/index.js')>();
  return {
    ...actual,
    connectDocker: vi.fn(async () => {
      throw new actual.DaemonUnavailableError('/test/no-daemon.sock', { operation: 'ping', code: 'ENOENT' });
    }),
  };
});
const { runCli } = await import('../../src/cli/program.js');

function io(): { out: (l: string) => void; err: (l: string) => void; stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { out: (l) => stdout.push(l), err: (l) => stderr.push(l), stdout, stderr };
}
const dir = mkdtempSync(join(tmpdir(), 'keelhaul-cli-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--json', () => {
  it('validate --json: the summary and the host requirements as one object', async () => {
    const sink = io();
    expect(await runCli(['validate', 'chaos/nightly.yaml', '--json'], sink)).toBe(0);
    expect(sink.stdout).toHaveLength(1);
    const v = JSON.parse(sink.stdout[0]!) as { valid: boolean; scenario: string; tasks: number; faults: { kind: string }[]; host: { need: string; for: string[]; met: boolean }[] };
    expect(v).toMatchObject({ valid: true, scenario: 'nightly', tasks: 24 });
    expect(v.faults.map((f) => f.kind)).toContain('netem');
    expect(v.host.find((h) => h.need === 'tc')?.for).toEqual(['faults[5] (netem)']);
  });

  it('doctor --json without a daemon: ready false, the daemon finding with its fix, exit 3', async () => {
    const sink = io();
    expect(await runCli(['doctor', '--json'], sink)).toBe(3);
    const d = JSON.parse(sink.stdout.join('')) as { ready: boolean; findings: { name: string; ok: boolean; fix?: string }[] };
    expect(d.ready).toBe(false);
    expect(d.findings.find((f) => f.name === 'docker daemon')).toMatchObject({ ok: false, fix: expect.stringMatching(/docker-up\.sh/) });
  });

  it('status --json: the runs under --runs-dir as data (none here)', async () => {
    const sink = io();
    expect(await runCli(['status', '--runs-dir', dir, '--json'], sink)).toBe(0);
    expect(JSON.parse(sink.stdout.join(''))).toEqual({ runs: [] });
  });

  it("plan --json: each firing's target selector as data", async () => {
    const sink = io();
    expect(await runCli(['plan', 'chaos/smoke.yaml', '--json'], sink)).toBe(0);
    const plan = JSON.parse(sink.stdout.join('\n')) as { firings: { targetSelector: unknown }[] };
    expect(plan.firings[0]?.targetSelector).toEqual({ acts: 'container', labels: { role: 'worker' }, pick: 'random', count: 1 });
  });
});
