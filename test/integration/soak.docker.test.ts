/**
 * `keelhaul soak` against the real daemon, as a black box: a short soak of a scenario with
 * a kill fault loops it, writes soak.json and soak.md, and leaves nothing labelled; SIGINT
 * mid-soak aborts the run in flight, removes its resources, writes the reports and exits
 * 130. (The 2-minute soak with growth judged runs in .ci/run; growth judging is unit-tested.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRunResources, removeRunResources } from '../../src/controller/index.js';
import { connectDocker, type DockerClient } from '../../src/docker/index.js';
import type { SoakReport } from '../../src/soak/index.js';

const bin = resolve('dist/src/cli/main.js');

const SCENARIO = `name: soak-kill
seed: 3
concurrency: 2
heartbeatMs: 250
retry: { maxAttempts: 3, backoffMs: 50 }
tasks:
  count: 2
  steps:
    - progress: 0.5
    # Long enough that the kill (at the 2nd task.started) lands while both workers sleep,
    # even on a loaded CPU: with 400 ms and 1500 ms the flake gate saw the kill race a
    # worker's exit (the API kill succeeded, the worker exited 0 after task.completed, and
    # killed-attempts-recover, which compares with the moment the fault fired rather than
    # when the kill landed, failed the run).
    - sleep: 4000
faults:
  - kind: kill
    trigger: { on: { event: task.started, nth: 2 } }
`;

/** Runs the CLI; `onLine` may return true to send SIGINT. Resolves with the exit code and the output. */
const children = new Set<ChildProcess>();

function soak(args: string[], onLine?: (line: string) => boolean): Promise<{ code: number | null; out: string[]; err: string }> {
  const child = spawn(process.execPath, [bin, 'soak', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const out: string[] = [];
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    out.push(line);
    if (onLine?.(line)) child.kill('SIGINT');
  });
  return new Promise((r) => child.once('close', (code) => r({ code, out, err })));
}

async function leftOf(docker: DockerClient, report: SoakReport): Promise<string[]> {
  const left: string[] = [];
  for (const it of report.iterations) {
    const r = await findRunResources(docker, it.runId);
    left.push(...r.containers, ...r.networks, ...r.volumes);
  }
  return left;
}

describe('keelhaul soak (docker)', () => {
  let dir: string;
  let file: string;
  let docker: DockerClient;
  const runIds: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kh-soak-'));
    file = join(dir, 'soak-kill.yaml');
    await writeFile(file, SCENARIO);
    docker = await connectDocker();
  });

  afterAll(async () => {
    // A soak still running (its test timed out) is stopped the way a user would: SIGTERM
    // aborts its run in flight and removes what it created.
    await Promise.all(
      [...children].map(
        (c) =>
          new Promise((r) => {
            c.once('exit', r);
            c.kill('SIGTERM');
          }),
      ),
    );
    for (const id of runIds) await removeRunResources(docker, id);
    await rm(dir, { recursive: true, force: true });
  });

  it('soak: a short soak loops the scenario with its fault, writes soak.json and soak.md, and leaves nothing labelled', async () => {
    const output = join(dir, 'short');
    // A fixed number of iterations, not a short duration: on a loaded machine a 6 s soak may fit only one.
    const { code, out, err } = await soak([file, '--duration', '10m', '--iterations', '2', '--output', output, '--warmup', '0']);
    const report = JSON.parse(await readFile(join(output, 'soak.json'), 'utf8')) as SoakReport;
    runIds.push(...report.iterations.map((i) => i.runId));
    // On failure, the failed checks' evidence of each failed iteration, to act on.
    const evidence: string[] = [];
    for (const it of report.iterations.filter((i) => i.status !== 'passed')) {
      const run = JSON.parse(await readFile(join(output, 'runs', it.runId, 'report.json'), 'utf8')) as { checks: { name: string; ok: boolean; evidence: string[] }[] };
      for (const c of run.checks.filter((x) => !x.ok)) evidence.push(`iteration ${it.index} ${c.name}: ${c.evidence.join('; ')}`);
    }
    expect(code, `${out.join('\n')}\n${err}\n${evidence.join('\n')}`).toBe(0);
    expect(report.status).toBe('passed');
    expect(report.iterations).toHaveLength(2);
    expect(new Set(report.iterations.map((i) => i.seed)).size).toBe(report.iterations.length);
    for (const it of report.iterations) {
      expect(it.status).toBe('passed');
      expect(it.leaked).toEqual({ containers: [], networks: [], volumes: [] });
      expect(it.sample.openFds).toBeGreaterThan(0);
      expect(it.sample.controllerRssBytes).toBeGreaterThan(0);
      // The kill fault fired in every iteration: its report shows the injected fault.
      const run = JSON.parse(await readFile(join(output, 'runs', it.runId, 'report.json'), 'utf8')) as { faults: { status: string }[] };
      expect(run.faults.map((f) => f.status)).toEqual(['injected']);
    }
    expect(out.filter((l) => l.startsWith('soak #'))).toHaveLength(report.iterations.length);
    expect(await readFile(join(output, 'soak.md'), 'utf8')).toContain('# Soak of soak-kill: PASSED');
    expect(await leftOf(docker, report)).toEqual([]);
  });

  it('soak: SIGINT mid-soak aborts the run in flight, removes its resources, writes the reports and exits 130', async () => {
    const output = join(dir, 'interrupted');
    let sent = false;
    // Interrupt as the second iteration begins: the first line is printed after iteration 1 ends.
    const { code, out, err } = await soak([file, '--duration', '10m', '--output', output], (line) => {
      if (!sent && line.startsWith('soak #1 ')) return (sent = true);
      return false;
    });
    const report = JSON.parse(await readFile(join(output, 'soak.json'), 'utf8')) as SoakReport;
    runIds.push(...report.iterations.map((i) => i.runId));
    expect(code, `${out.join('\n')}\n${err}`).toBe(130);
    expect(report.status).toBe('interrupted');
    expect(report.endedAt).not.toBeNull();
    expect(report.iterations.length).toBeGreaterThanOrEqual(1);
    expect(await leftOf(docker, report)).toEqual([]);
  });
});
