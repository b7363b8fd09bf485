// 5 (issue 7's "recovery time"). Kill → replacement attempt running. keelhaul: a run of K
// sleeping tasks with maxAttempts 2 and backoffMs 0; the bench API-kills attempt 1 of a task
// and waits for attempt 2's attempt.running. Raw dockerode: K sleeping containers, each with a
// pending POST /wait; kill → wait resolves → create + start a replacement on the same
// workspace volume. Kills alternate between the two sides, one at a time. The keelhaul run is
// then aborted through its AbortSignal (its replacement attempts are killed and cleaned up).
import PQueue from 'p-queue';
import { breakdown, instrument } from '../lib/instrument.mjs';
import { runAll } from '../lib/queue.mjs';
import { hardenedCreateOptions, ignoreGone, RUN_LABEL, round, sleep, summarize, wallNow, workerEnv, workerTask } from '../lib/common.mjs';

const SLEEP = [{ sleep: 300_000 }];

function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`recovery: ${what} not seen within ${ms} ms`)), ms);
    }),
  ]);
}

export async function benchRecovery(ctx) {
  const k = ctx.quick ? 4 : 12;
  ctx.log(`recovery: ${k} kills per side, alternating, kill → replacement running`);
  const { raw, benchId, image } = ctx;
  const labels = { [RUN_LABEL]: benchId, 'dev.keelhaul.role': 'worker' };

  // keelhaul side.
  const scenario = ctx.validateScenario(
    ctx.scenario({ count: k, steps: SLEEP, concurrency: k, maxAttempts: 2, expect: { allCompleted: false, killedAttemptsRecover: false } }),
    '<bench recovery>',
  );
  const abort = new AbortController();
  const inst = instrument(ctx.kh);
  const marks = new Map();
  const mark = (task, what) => {
    if (!marks.has(task)) marks.set(task, {});
    marks.get(task)[what] ??= wallNow();
  };
  const firstOf = new Map();
  const replacement = new Map();
  let started = 0;
  const allStarted = deferred();
  const run = ctx.runKeelhaul(
    scenario,
    inst.client,
    (e) => {
      if (e.type === 'attempt.running' && e.attempt === 1) firstOf.set(e.task, e.containerId);
      if (e.type === 'attempt.exited' && e.attempt === 1) mark(e.task, 'exited');
      if (e.type === 'attempt.retrying') mark(e.task, 'retrying');
      if (e.type === 'attempt.running' && e.attempt === 2) replacement.get(e.task)?.resolve(wallNow());
      if (e.type === 'worker.event' && e.event.type === 'task.started' && e.attempt === 1 && ++started === k) allStarted.resolve();
    },
    { signal: abort.signal },
  );

  // Raw side.
  const rawSide = [];
  const kh = [];
  const khSteps = [];
  const base = [];
  try {
    const queue = new PQueue({ concurrency: 4 });
    // On a failure, start no further job (p-queue would go on with the rest).
    await runAll(
      queue,
      Array.from({ length: k }, (_, i) => async () => {
        const taskId = `r-${i + 1}`;
        const name = `khb-${benchId}-rec-${taskId}`;
        await raw.createVolume({ Name: name, Labels: labels });
        const env = workerEnv({ runId: benchId, taskId, task: workerTask(taskId, SLEEP) });
        const container = await raw.createContainer(hardenedCreateOptions({ name: `${name}-a1`, image, labels, volume: name, env }));
        await container.start();
        rawSide.push({ name, env, container, waited: container.wait() });
      }),
    );
    await within(allStarted.promise, 60_000, `task.started from all ${k} keelhaul workers`);
    await sleep(300);
    const tasks = [...firstOf.keys()].sort();
    for (let i = 0; i < k; i++) {
      const order = i % 2 === 0 ? ['kh', 'raw'] : ['raw', 'kh'];
      for (const side of order) {
        if (side === 'kh') {
          const task = tasks[i];
          const d = deferred();
          replacement.set(task, d);
          const t = wallNow();
          await raw.getContainer(firstOf.get(task)).kill({ signal: 'SIGKILL' });
          const end = await within(d.promise, 15_000, `attempt 2 of ${task}`);
          kh.push(end - t);
          const m = marks.get(task) ?? {};
          const b = breakdown(inst.calls, t, end);
          khSteps.push({
            exitedMs: m.exited - t,
            retryingMs: m.retrying - t,
            calls: b.calls.filter((c) => c.method !== 'inspectContainer' || c.ms > 0).map((c) => `${c.method}@${round(c.atMs, 1)}+${round(c.ms, 1)}`),
          });
        } else {
          const r = rawSide[i];
          const t = wallNow();
          await r.container.kill({ signal: 'SIGKILL' });
          await r.waited;
          const next = await raw.createContainer(hardenedCreateOptions({ name: `${r.name}-a2`, image, labels, volume: r.name, env: r.env }));
          await next.start();
          base.push(wallNow() - t);
        }
        await sleep(150);
      }
    }
  } finally {
    abort.abort(new Error('recovery benchmark done'));
    await run;
    // The raw side's containers and volumes (keelhaul's own run cleaned up after itself).
    await ctx.removeRunResources(ctx.kh, benchId);
    await Promise.all(rawSide.map((r) => ignoreGone(r.waited)));
  }
  const a = summarize(kh);
  const b = summarize(base);
  return {
    id: 'recovery',
    title: 'Recovery: API kill → replacement attempt running',
    unit: 'ms',
    better: 'lower',
    subject: 'keelhaul (retry.backoffMs 0)',
    baselineName: 'raw dockerode wait → create+start',
    keelhaul: a,
    baseline: b,
    ratio: round(a.median / b.median, 3),
    note: 'keelhaul ran with retry.backoffMs: 0; its default backoff (200 ms) adds to this on purpose.',
    details: {
      keelhaulKillToAttemptExitedMs: summarize(khSteps.map((x) => x.exitedMs)),
      keelhaulKillToRetryingMs: summarize(khSteps.map((x) => x.retryingMs)),
      keelhaulCallsInMedianSample: khSteps[kh.indexOf([...kh].sort((x, y) => x - y)[Math.floor(kh.length / 2)])]?.calls,
    },
  };
}
