/**
 * The controller judges an attempt's exit from the daemon's `die` event, not from an
 * inspect after the output stream ended (issue 7: the inspect cost 7–28 ms of detection on a
 * busy daemon). Against the real daemon: a run whose workers exit with known codes, through
 * a DockerClient wrapper that counts inspects per container. Each attempt container must be
 * inspected exactly once — the hardening audit right after start — and still carry the
 * right exit code, and its `endedAt` must be the `die` event's time.
 *
 * Needs a daemon (DOCKER_HOST or /var/run/docker.sock) and the worker image (the docker
 * project's global setup builds it); it fails, never skips, without them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario, type RunEvent } from '../../src/controller/index.js';
import { connectDocker, Label, type DockerClient } from '../../src/docker/index.js';
import { validateScenario } from '../../src/scenario/index.js';

/** The client with `inspectContainer` counted per container id; every other call goes to the real client. */
function countingInspects(docker: DockerClient): { client: DockerClient; inspects: Map<string, number> } {
  const inspects = new Map<string, number>();
  const inspectContainer: DockerClient['inspectContainer'] = (id) => {
    inspects.set(id, (inspects.get(id) ?? 0) + 1);
    return docker.inspectContainer(id);
  };
  const client = new Proxy(docker, {
    get(target, prop) {
      if (prop === 'inspectContainer') return inspectContainer;
      const value = Reflect.get(target, prop) as unknown;
      // Bound to the real client: its #private fields need the real `this`.
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { client, inspects };
}

describe('exit from the die event (docker)', () => {
  let docker: DockerClient;
  let runsDir: string;

  beforeAll(async () => {
    docker = await connectDocker();
    runsDir = await mkdtemp(join(tmpdir(), 'keelhaul-exit-event-'));
  });
  afterAll(async () => {
    await rm(runsDir, { recursive: true, force: true });
  });

  it('an attempt exit is judged from the die event: one inspect per container (the audit), the right exit codes', async () => {
    const scenario = validateScenario(
      {
        name: 'exit-from-die-event',
        seed: 7,
        image: 'keelhaul/worker:{version}',
        network: 'none',
        concurrency: 3,
        retry: { maxAttempts: 1, backoffMs: 0 },
        reaper: { enabled: false, ttlMs: 60_000 },
        tasks: [
          { id: 'ok', steps: [{ write: { path: 'out.txt', content: 'x' } }] },
          { id: 'crash', steps: [{ exit: 3 }] },
          { id: 'fails', steps: [{ fail: 'on purpose' }] },
        ],
        expect: { allCompleted: true, failedTasks: { crash: 'failed', fails: 'failed' } },
      },
      '<exit-from-die-event test>',
    );
    const { client, inspects } = countingInspects(docker);
    const events: RunEvent[] = [];
    const result = await runScenario({ scenario, docker: client, runsDir, reaper: false, onEvent: (e) => events.push(e) });

    const exited = events.filter((e): e is Extract<RunEvent, { type: 'attempt.exited' }> => e.type === 'attempt.exited');
    const byTask = new Map(exited.map((e) => [e.task, e]));
    expect(byTask.get('ok')).toMatchObject({ exitCode: 0, outcome: 'completed' });
    expect(byTask.get('crash')).toMatchObject({ exitCode: 3, outcome: 'failed' });
    expect(byTask.get('fails')).toMatchObject({ exitCode: 1, outcome: 'failed' });

    // Before the change each container was inspected twice: the audit, then the exit.
    for (const e of exited) expect(inspects.get(e.containerId), `inspects of ${e.task}'s container`).toBe(1);
    for (const attempt of result.report.attempts) expect(attempt.containerId).not.toBe('');

    // endedAt is the die event's time (ms precision), as the timeline recorded it.
    const dies = events.filter((e): e is Extract<RunEvent, { type: 'docker.event' }> => e.type === 'docker.event' && e.action === 'die');
    for (const attempt of result.report.attempts) {
      const die = dies.find((d) => d.containerId === attempt.containerId);
      expect(die, `die event of ${attempt.task}`).toBeDefined();
      expect(attempt.endedAt).toBe(die!.time);
    }
    expect(result.report.checks.filter((c) => !c.ok)).toEqual([]);
    expect((await docker.listContainers({ labels: { [Label.run]: result.report.runId }, all: true })).length).toBe(0);
  }, 90_000);
});
