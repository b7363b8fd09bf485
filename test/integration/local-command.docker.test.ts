/**
 * Parity for a worker that is not keelhaul's (issue 16 item 4): the busybox shell worker of
 * test/setup/foreign-workers.ts as a container (its `FROM scratch` image) and as a process
 * (`local.command`: the same script, run by the host's busybox `sh`), with one seed and a
 * SIGKILL fault on both. The outcomes, event types and workspace files agree, and nothing
 * labelled is left.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRunResources } from '../../src/controller/index.js';
import { connectDocker, type DockerClient } from '../../src/docker/index.js';
import { runParity } from '../../src/parity/index.js';
import { validateScenario } from '../../src/scenario/index.js';
import { buildForeignWorker, SHELL_WORKER_SH, type ForeignWorker } from '../setup/foreign-workers.js';

describe("parity of a worker of the user's own (docker)", () => {
  let docker: DockerClient;
  let dir: string;
  let worker: ForeignWorker;

  beforeAll(async () => {
    docker = await connectDocker();
    dir = await mkdtemp(join(tmpdir(), 'keelhaul-local-command-'));
    worker = await buildForeignWorker(docker, 'shell');
    await writeFile(join(dir, 'worker.sh'), SHELL_WORKER_SH);
  });
  afterAll(async () => {
    await worker?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('the shell worker as a container and as a process (local.command), a SIGKILL on both: parity holds, nothing is left', async () => {
    const scenario = validateScenario({
      name: 'own-worker-parity',
      seed: 4,
      image: worker.image,
      network: 'none',
      concurrency: 2,
      heartbeatMs: 250,
      local: { command: ['/bin/busybox', 'sh', join(dir, 'worker.sh')] },
      tasks: [
        { id: 't-1', sleep: 1500, note: 'first' },
        { id: 't-2', sleep: 1500, note: 'second' },
      ],
      faults: [{ kind: 'kill', trigger: { on: { event: 'task.started', nth: 2 } }, target: { labels: { role: 'worker' }, pick: 'first' }, params: { signal: 'SIGKILL' } }],
      // The probe is a container setting: the process side cannot run it (docs/parity.md).
      expect: { isolationProbe: false },
    });
    const result = await runParity({ scenario, docker, runsDir: join(dir, 'runs') });
    const failedChecks = async (runDir: string): Promise<unknown[]> =>
      (JSON.parse(await readFile(join(runDir, 'report.json'), 'utf8')) as { checks: { ok: boolean }[] }).checks.filter((c) => !c.ok);
    const why = JSON.stringify({ docker: await failedChecks(result.docker.runDir), local: await failedChecks(result.local.runDir), differences: result.differences }, null, 2);
    expect(result.differences, why).toEqual([]);
    expect(result.docker.status).toBe('passed');
    // The worker's own file, written by the script in both: `shell-<task>.txt`.
    expect(Object.keys(result.local.tasks['t-1']!.files ?? {})).toContain(worker.fileFor('t-1'));
    // A kill on both: a task needed a second attempt on each side.
    expect(Object.values(result.docker.tasks).some((t) => t.attempts.length === 2)).toBe(true);
    const left = await findRunResources(docker, result.docker.runId);
    expect([...left.containers, ...left.networks, ...left.volumes]).toEqual([]);
  });
});
