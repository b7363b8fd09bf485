/**
 * `keelhaul run` with several scenarios (issue 14, item 4), through the binary against the
 * real daemon: a passing and a failing scenario and a malformed one, two at once; the summary
 * table names each, the merged JUnit file has a testsuite per run, suite-*.json holds the
 * rows, the exit code is the worst (2 for the malformed one), and nothing is left.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Dockerode from 'dockerode';
import { parse as parseJunit } from 'junit2json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = resolve('dist/src/cli/main.js');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keelhaul-suite-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const scenario = (name: string, extra: string): string => `name: ${name}\nseed: 5\ntasks:\n  count: 2\n  steps:\n    - sleep: 200ms\n${extra}`;

describe('keelhaul run: suites (docker)', () => {
  it('three scenarios, two at once: a summary row each, one JUnit file, suite-*.json, the worst exit code, nothing left', async () => {
    const tag = Date.now().toString(36);
    const suiteDir = join(dir, 'scenarios');
    const runsDir = join(dir, 'runs');
    await import('node:fs/promises').then((fs) => fs.mkdir(suiteDir));
    await writeFile(join(suiteDir, 'a-pass.yaml'), scenario(`suite-pass-${tag}`, ''));
    // Fails its budget check: the run finishes, one check fails (exit 1 alone).
    await writeFile(join(suiteDir, 'b-fail.yaml'), scenario(`suite-fail-${tag}`, 'budget: { tokens: 1 }\n'));
    await writeFile(join(suiteDir, 'c-bad.yaml'), 'name: suite-bad\ntasks: {}\n');
    const junit = join(dir, 'suite.xml');
    const r = spawnSync(process.execPath, [bin, 'run', suiteDir, '--parallel', '2', '--runs-dir', runsDir, '--junit', junit, '--no-reaper'], {
      encoding: 'utf8',
      timeout: 170_000,
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toMatch(/suite summary:/);
    expect(r.stdout).toMatch(/a-pass\.yaml\s+passed\s+0 /);
    expect(r.stdout).toMatch(/b-fail\.yaml\s+failed\s+1 .*: budget/);
    expect(r.stdout).toMatch(/c-bad\.yaml\s+error\s+2 .*Invalid scenario/);
    expect(r.stdout).toMatch(/suite FAILED: 1 of 3 passed; exit 2/);
    // Two at once: lines carry their scenario.
    expect(r.stdout).toMatch(/^\[a-pass\.yaml\] run /m);

    const parsed = await parseJunit(await readFile(junit, 'utf8'));
    const suites = (parsed as { testsuite?: { name: string }[] }).testsuite ?? [];
    expect(suites.map((s) => s.name).sort()).toEqual([`suite-fail-${tag}`, `suite-pass-${tag}`]);

    const [suiteFile] = (await readdir(runsDir)).filter((f) => f.startsWith('suite-') && f.endsWith('.json'));
    const suite = JSON.parse(await readFile(join(runsDir, suiteFile!), 'utf8')) as { exitCode: number; rows: { status: string }[] };
    expect(suite.exitCode).toBe(2);
    expect(suite.rows.map((row) => row.status).sort()).toEqual(['error', 'failed', 'passed']);

    const left = await new Dockerode().listContainers({ all: true, filters: JSON.stringify({ label: [`dev.keelhaul.scenario=suite-pass-${tag}`] }) });
    expect(left).toEqual([]);
  });
});
