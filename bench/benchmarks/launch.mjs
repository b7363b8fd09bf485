// 1. Launch critical path: runScenario() called → the first attempt.running event, against
// raw dockerode volume create + container create + start of the same image with the same
// hardening (the workspace volume included: keelhaul's worker gets one, so the floor does too).
import { breakdown, instrument } from '../lib/instrument.mjs';
import { hardenedCreateOptions, ignoreGone, RUN_LABEL, summarize, round, wallNow, workerEnv, workerTask } from '../lib/common.mjs';

const STEPS = [{ progress: 1 }];

async function keelhaulOnce(ctx, inst) {
  const scenario = ctx.validateScenario(ctx.scenario({ count: 1, steps: STEPS, concurrency: 1 }), '<bench launch>');
  inst.reset();
  let running;
  let exited;
  const t0 = wallNow();
  const result = await ctx.runKeelhaul(scenario, inst.client, (e) => {
    if (e.type === 'attempt.running' && running === undefined) running = wallNow();
    if (e.type === 'attempt.exited' && exited === undefined) exited = wallNow();
  });
  const t1 = wallNow();
  if (running === undefined) throw new Error(`launch: run ${result.report.runId} emitted no attempt.running (status ${result.report.status}: ${result.report.error ?? ''})`);
  return { ms: running - t0, runMs: t1 - t0, status: result.report.status, breakdown: breakdown(inst.calls, t0, running) };
}

async function rawOnce(ctx, i) {
  const { raw, benchId, image } = ctx;
  const labels = { [RUN_LABEL]: benchId, 'dev.keelhaul.role': 'worker' };
  const name = `khb-${benchId}-launch-${i}`;
  const steps = {};
  const t0 = wallNow();
  await raw.createVolume({ Name: name, Labels: labels });
  steps.volume = wallNow() - t0;
  const container = await raw.createContainer(
    hardenedCreateOptions({ name, image, labels, volume: name, env: workerEnv({ runId: benchId, taskId: 't-01', task: workerTask('t-01', STEPS) }) }),
  );
  steps.create = wallNow() - t0 - steps.volume;
  await container.start();
  const ms = wallNow() - t0;
  steps.start = ms - steps.volume - steps.create;
  // Not timed: let it finish, then remove it and its volume.
  await container.wait();
  await ignoreGone(container.remove({ force: true }));
  await ignoreGone(raw.getVolume(name).remove());
  return { ms, steps };
}

export async function benchLaunch(ctx) {
  const samples = ctx.quick ? 5 : 12;
  const inst = instrument(ctx.kh);
  ctx.log(`launch: warm-up, then ${samples} alternating samples`);
  await keelhaulOnce(ctx, inst);
  await rawOnce(ctx, 'warm');
  const kh = [];
  const base = [];
  const runTotals = [];
  const breakdowns = [];
  const rawSteps = [];
  for (let i = 0; i < samples; i++) {
    // Alternate which side goes first so neither always follows the other's cleanup.
    const order = i % 2 === 0 ? ['kh', 'raw'] : ['raw', 'kh'];
    for (const side of order) {
      if (side === 'kh') {
        const r = await keelhaulOnce(ctx, inst);
        kh.push(r.ms);
        runTotals.push(r.runMs);
        breakdowns.push(r.breakdown);
      } else {
        const r = await rawOnce(ctx, i);
        base.push(r.ms);
        rawSteps.push(r.steps);
      }
    }
  }
  const k = summarize(kh);
  const b = summarize(base);
  // The median sample's breakdown: which calls, and how much of the path is not Docker.
  const order = kh.map((ms, i) => [ms, i]).sort((x, y) => x[0] - y[0]);
  const mid = breakdowns[order[Math.floor(order.length / 2)][1]];
  const otherMs = summarize(breakdowns.map((x) => x.otherMs));
  const dockerMs = summarize(breakdowns.map((x) => x.dockerMs));
  const stepMedian = (key) => summarize(rawSteps.map((s) => s[key])).median;
  return {
    id: 'launch',
    title: 'Launch critical path (runScenario → first attempt.running)',
    unit: 'ms',
    better: 'lower',
    subject: 'keelhaul',
    baselineName: 'raw dockerode volume+create+start',
    keelhaul: k,
    baseline: b,
    ratio: round(k.median / b.median, 3),
    target: { op: '<=', value: 1.1 },
    details: {
      keelhaulWholeRunMs: summarize(runTotals),
      keelhaulDockerMs: dockerMs,
      keelhaulNonDockerMs: otherMs,
      medianSampleCalls: mid.calls.map((c) => ({ method: c.method, atMs: round(c.atMs), ms: round(c.ms) })),
      rawStepsMedianMs: { volume: stepMedian('volume'), create: stepMedian('create'), start: stepMedian('start') },
    },
  };
}
