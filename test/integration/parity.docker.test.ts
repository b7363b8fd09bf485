/**
 * `keelhaul parity` against the real daemon and real processes: the same scenario and seed
 * as containers and as local processes give the same outcome digest for the smoke scenario
 * and for kill, stop and pause faults (triggered by events, aimed by task label, so no
 * fault races the work), and a task that needs more memory than the container limit — OOM
 * in the container, fine as a process — is caught and named by task and field.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker, findRunResources, type DockerClient } from '../../src/index.js';
import { runParity, type ParityResult } from '../../src/parity/index.js';
import { loadScenarioFile, validateScenario } from '../../src/scenario/index.js';

let docker: DockerClient;
let runsDir: string;

beforeAll(async () => {
  docker = await connectDocker();
  runsDir = await mkdtemp(join(tmpdir(), 'keelhaul-parity-'));
});
afterAll(async () => {
  await rm(runsDir, { recursive: true, force: true });
});

/** Whether a process is alive (a zombie is not). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Both runs left nothing: no resource with the docker run's label, no live local worker. */
async function expectNothingLeft(result: ParityResult): Promise<void> {
  expect(await findRunResources(docker, result.docker.runId)).toEqual({ containers: [], networks: [], volumes: [] });
  const events = readFileSync(join(result.local.runDir, 'events.jsonl'), 'utf8');
  const pids = [...events.matchAll(/"containerId":"pid:(\d+)"/g)].map((m) => Number(m[1]));
  expect(pids.length).toBeGreaterThan(0);
  expect(pids.filter(alive)).toEqual([]);
}

const row = (result: ParityResult, task: string, field: string) => result.rows.find((r) => r.task === task && r.field === field);

describe('parity: docker and local backends, same scenario and seed', () => {
  it('parity: chaos/smoke.yaml gives the same outcome as containers and as processes', async () => {
    const scenario = await loadScenarioFile(resolve('chaos/smoke.yaml'));
    const result = await runParity({ scenario, docker, runsDir });
    expect(result.differences).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.docker.backend).toBe('docker');
    expect(result.local.backend).toBe('local');
    // The kill hit the same task and attempt on both, by the same seeded draw.
    const killed = Object.entries(result.docker.tasks)
      .filter(([, t]) => t.attempts.length === 2)
      .map(([id]) => id);
    expect(killed).toHaveLength(1);
    expect(row(result, killed[0]!, 'attempt 1 exit code')).toMatchObject({ docker: '137', local: '137' });
    // File trees were really compared: seeded bytes, same hashes.
    expect(result.docker.filesUnavailable).toBeUndefined();
    expect(Object.keys(result.docker.tasks['t-01']!.files ?? {})).toEqual(['notes/plan.md', 'result.bin']);
    for (const file of result.files) expect(existsSync(file)).toBe(true);
    expect(readFileSync(result.files[1]!, 'utf8')).toContain('**Parity holds**');
    await expectNothingLeft(result);
  });

  it('parity: kill, stop and pause faults each hit their own task the same way on both backends', async () => {
    const steps = [{ write: { path: 'notes.md', content: '# notes\n' } }, { progress: 0.5 }, { sleep: 1200 }, { write: { path: 'result.bin', bytes: 8192 } }, { progress: 1 }];
    // Each fault fires on its task's first progress event and targets that task by label:
    // it lands during the sleep, whatever the backend's speed.
    const on = (task: string) => ({ on: { event: 'task.progress', task, attempt: 1 } });
    const target = (task: string) => ({ labels: { role: 'worker', task } });
    const scenario = validateScenario({
      name: 'parity-kill-stop-pause',
      seed: 11,
      concurrency: 3,
      heartbeatMs: 200,
      tasks: [
        { id: 'killed', steps },
        { id: 'stopped', steps },
        { id: 'paused', steps },
      ],
      faults: [
        { kind: 'kill', trigger: on('killed'), target: target('killed') },
        { kind: 'stop', trigger: on('stopped'), target: target('stopped'), params: { graceMs: 1000 } },
        { kind: 'pause', trigger: on('paused'), target: target('paused'), params: { durationMs: 500 } },
      ],
    });
    const result = await runParity({ scenario, docker, runsDir });
    expect(result.differences).toEqual([]);
    expect(row(result, 'killed', 'attempt 1 exit code')).toMatchObject({ docker: '137', local: '137' });
    // SIGTERM: the worker reports task.failed (terminated) and exits 143 on both.
    expect(row(result, 'stopped', 'attempt 1 exit code')).toMatchObject({ docker: '143', local: '143' });
    expect(row(result, 'stopped', 'attempt 1 events')).toMatchObject({ docker: 'started progress failed', same: true });
    expect(row(result, 'paused', 'attempts')).toMatchObject({ docker: '1', local: '1' });
    await expectNothingLeft(result);
  });

  it('parity: a pause past the heartbeat timeout is judged hung on both backends, and the retry completes', async () => {
    // Not chaos/pause.yaml as is: it pauses a random worker at the first task.started, when
    // the second worker may or may not be running yet — a race whose outcome may differ
    // between backends (docs/parity.md). Here the pause is aimed at t-01 by label.
    const scenario = validateScenario({
      name: 'parity-hung',
      seed: 5,
      concurrency: 2,
      heartbeatMs: 200,
      // Room for a container's start on a loaded machine (1.6 s was seen): a new attempt is
      // watched from its start, before its worker can say anything.
      heartbeatTimeoutMs: 4000,
      tasks: { count: 2, steps: [{ progress: 0.5 }, { sleep: 2500 }, { write: { path: 'result.txt', content: 'done\n' } }, { progress: 1 }] },
      faults: [
        {
          kind: 'pause',
          trigger: { on: { event: 'task.progress', task: 't-01', attempt: 1 } },
          target: { labels: { role: 'worker', task: 't-01' } },
          params: { durationMs: '8s' },
        },
      ],
    });
    const result = await runParity({ scenario, docker, runsDir });
    expect(result.differences).toEqual([]);
    expect(row(result, 't-01', 'attempt 1 outcome')).toMatchObject({ docker: 'hung', local: 'hung' });
    expect(row(result, 't-01', 'state')).toMatchObject({ docker: 'completed', local: 'completed' });
    await expectNothingLeft(result);
  });

  it('parity: a task that exceeds the container memory limit is caught and named (OOM in the container, fine as a process)', async () => {
    const scenario = validateScenario({
      name: 'parity-oom',
      seed: 3,
      concurrency: 2,
      heartbeatMs: 250,
      resources: { memory: '64m' },
      retry: { maxAttempts: 1 },
      tasks: [
        { id: 't-01', steps: [{ write: { path: 'out.txt', content: 'hi\n' } }, { allocate: 128 * 1024 * 1024 }, { progress: 1 }] },
        { id: 't-02', steps: [{ write: { path: 'out.txt', content: 'hi\n' } }, { progress: 1 }] },
      ],
    });
    const result = await runParity({ scenario, docker, runsDir });
    expect(result.ok).toBe(false);
    expect(result.differences).toContainEqual({ task: 't-01', field: 'state', docker: 'failed', local: 'completed', same: false });
    expect(result.differences).toContainEqual({ task: 't-01', field: 'attempt 1 outcome', docker: 'oom', local: 'completed', same: false });
    // Only the task that allocates differs.
    expect(result.differences.filter((d) => d.task === 't-02')).toEqual([]);
    const json = JSON.parse(readFileSync(result.files[0]!, 'utf8')) as ParityResult;
    expect(json.differences.map((d) => `${d.task} ${d.field}`)).toContain('t-01 state');
    expect(readFileSync(result.files[1]!, 'utf8')).toMatch(/\| t-01 \| state \| failed \| completed \| ≠ \|/);
    await expectNothingLeft(result);
  });
});
