// An orchestrator team's own acceptance suite, written against keelhaul's library API with
// node:test — the way a user would, importing the package by name. Run it with
// `node --test examples/` after `npm run build` (CI does, against the real daemon).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Harness } from 'keelhaul';

describe('our workers survive chaos', () => {
  /** @type {Harness} */
  let harness;
  before(async () => {
    harness = await Harness.create({ runsDir: '.keelhaul/example-runs' });
  });
  after(async () => {
    // In TypeScript: `await using harness = await Harness.create()` does this.
    await harness.close();
  });

  it('a SIGKILLed worker is retried and every task completes exactly once', async () => {
    const { report } = await harness.run('chaos/smoke.yaml', { seed: 42 });
    assert.equal(report.status, 'passed', JSON.stringify(report.checks.filter((c) => !c.ok)));
    const killed = report.attempts.filter((a) => a.outcome === 'killed');
    assert.equal(killed.length, 1);
    assert.equal(killed[0].exitCode, 137);
    assert.deepEqual(await harness.resources(report.runId), { containers: [], networks: [], volumes: [] });
  });

  it('a scenario built in code: a worker that fails its task is retried, then reported', async () => {
    const events = [];
    const { report } = await harness.run(
      {
        name: 'flaky-step',
        retry: { maxAttempts: 2, backoffMs: '50ms' },
        tasks: [{ id: 'lint', steps: [{ fail: 'lint_errors' }] }],
        expect: { failedTasks: { lint: 'lint_errors' } },
      },
      { onEvent: (e) => events.push(e.type) },
    );
    assert.equal(report.status, 'passed');
    assert.deepEqual(
      report.attempts.map((a) => a.reason),
      ['lint_errors', 'lint_errors'],
    );
    assert.ok(events.includes('attempt.retrying'));
  });

  it('the fault plan is a pure function of the scenario and the seed', async () => {
    const a = await harness.plan('chaos/nightly.yaml', 1);
    const b = await harness.plan('chaos/nightly.yaml', 1);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, await harness.plan('chaos/nightly.yaml', 2));
  });
});
