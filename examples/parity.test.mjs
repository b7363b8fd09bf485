// A parity suite as an orchestrator team would write it: the same scenarios with workers
// as local processes and as containers must end the same way. node:test, keelhaul's
// library API imported by name. Run with `node --test examples/` after `npm run build`
// (CI does, against the real daemon; the local backend runs workers under `unshare --net`,
// which needs root).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Harness } from 'keelhaul';

/** The differences, one line each, for an assertion message. */
const explain = (result) => result.differences.map((d) => `${d.task ?? '(run)'} ${d.field}: docker ${d.docker} ≠ local ${d.local}`).join('\n');

describe('our workers behave the same as processes and as containers', () => {
  /** @type {Harness} */
  let harness;
  before(async () => {
    harness = await Harness.create({ runsDir: '.keelhaul/example-runs' });
  });
  after(async () => {
    await harness.close();
  });

  it('a SIGKILLed worker recovers the same way on both backends', async () => {
    const result = await harness.parity({
      name: 'parity-kill',
      seed: 7,
      concurrency: 2,
      heartbeatMs: 200,
      tasks: {
        count: 2,
        steps: [{ progress: 0.5 }, { sleep: 800 }, { write: { path: 'out/result.txt', content: 'done\n' } }, { progress: 1 }],
      },
      // Fired by an event and aimed by label: it lands during the sleep on both backends.
      faults: [{ kind: 'kill', trigger: { on: { event: 'task.progress', task: 't-01', attempt: 1 } }, target: { labels: { role: 'worker', task: 't-01' } } }],
    });
    assert.ok(result.ok, explain(result));
    assert.equal(result.docker.tasks['t-01'].attempts.length, 2);
    assert.deepEqual(Object.keys(result.local.tasks['t-01'].files), ['out/result.txt']);
  });

  it('a task that needs more memory than the container limit is named as the difference', async () => {
    const result = await harness.parity({
      name: 'parity-memory',
      seed: 1,
      resources: { memory: '64m' },
      retry: { maxAttempts: 1 },
      tasks: [{ id: 'index-repo', steps: [{ allocate: 128 * 1024 * 1024 }, { progress: 1 }] }],
    });
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.differences.find((d) => d.task === 'index-repo' && d.field === 'attempt 1 outcome'),
      { task: 'index-repo', field: 'attempt 1 outcome', docker: 'oom', local: 'completed', same: false },
    );
  });

  it('a fault the local backend cannot apply is refused before anything runs', async () => {
    await assert.rejects(
      harness.parity({
        name: 'parity-netem',
        tasks: [{ id: 't-01', steps: [{ sleep: 10 }] }],
        faults: [{ kind: 'netem', trigger: { at: 10 }, params: { durationMs: 100, lossPercent: 5 } }],
      }),
      { name: 'FaultSupportError', message: /fault netem cannot be applied on the local backend/ },
    );
  });
});
