/**
 * The controller's stdout path against a real worker container: plain-text lines among the
 * events (the worker's `flood` step) are skipped with a `worker.invalid-line` event whose
 * `lineNumber` is the line's number in the attempt's stdout.log, and every event around
 * them still arrives.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeRunResources, runScenario, type RunEvent } from '../../src/controller/index.js';
import { connectDocker, type DockerClient } from '../../src/docker/index.js';
import { validateScenario } from '../../src/scenario/index.js';

describe('worker stdout lines (docker)', () => {
  let dir: string;
  let docker: DockerClient;
  let runId: string | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kh-worker-lines-'));
    docker = await connectDocker();
  });

  afterAll(async () => {
    if (runId) await removeRunResources(docker, runId);
    await rm(dir, { recursive: true, force: true });
  });

  it('invalid lines: plain-text stdout lines are skipped with their stdout.log line number, and no event is lost', async () => {
    const scenario = validateScenario({
      name: 'worker-lines',
      seed: 1,
      heartbeatMs: 5000,
      reaper: { enabled: false },
      tasks: { count: 1, steps: [{ progress: 0.25 }, { flood: { bytes: 3072 } }, { progress: 0.75 }] },
    });
    const events: RunEvent[] = [];
    const result = await runScenario({ scenario, docker, runsDir: dir, onEvent: (e) => events.push(e) });
    runId = result.report.runId;
    expect(result.report.status).toBe('passed');

    const invalid = events.filter((e): e is Extract<RunEvent, { type: 'worker.invalid-line' }> => e.type === 'worker.invalid-line');
    expect(invalid).toHaveLength(3); // 3072 bytes in 1 KiB lines
    const stdout = (await readFile(join(result.runDir, 'attempts', 't-01', '1', 'stdout.log'), 'utf8')).split('\n');
    for (const e of invalid) {
      expect(e.lineNumber).toBeGreaterThan(1);
      expect(stdout[e.lineNumber! - 1]!.startsWith(e.line), `stdout.log line ${e.lineNumber}`).toBe(true);
      expect(e.error).toBe('not a JSON object');
    }
    // The events around the plain text all arrived, in order.
    const types = events
      .filter((e): e is Extract<RunEvent, { type: 'worker.event' }> => e.type === 'worker.event')
      .map((e) => e.event.type)
      .filter((t) => t !== 'heartbeat');
    expect(types).toEqual(['task.started', 'task.progress', 'task.progress', 'task.completed']);
    // Every line of stdout.log is either an event that arrived or a skipped line: none vanished.
    const nonBlank = stdout.filter((l) => l.trim() !== '').length;
    const workerEvents = events.filter((e) => e.type === 'worker.event').length;
    expect(workerEvents + invalid.length).toBe(nonBlank);
  });
});
