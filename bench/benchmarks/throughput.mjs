// 2. Sustained attempts/s: N one-step tasks at concurrency c. keelhaul: runScenario() called
// → cleanup.finished (every attempt ran, was judged, and its container and volume are
// removed: behind each completed task since issue 7's removal-behind change, not at the end). Raw dockerode, same c (p-queue): per task volume create → create → start → wait
// → remove container → remove volume. Both windows hold the same work: launch, run to exit,
// removal. Rate = N ÷ window.
import PQueue from 'p-queue';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { instrument } from '../lib/instrument.mjs';
import { runAll } from '../lib/queue.mjs';
import { hardenedCreateOptions, ignoreGone, RUN_LABEL, round, summarize, wallNow, workerEnv, workerTask } from '../lib/common.mjs';

const STEPS = [{ progress: 1 }];

/**
 * One keelhaul run of n tasks at concurrency c. `probe`: the network-isolation probe (a
 * `docker exec` into every attempt, on by default in scenarios) — off for the rows compared
 * with raw dockerode, which verifies nothing of the kind; its cost has a row of its own.
 */
async function keelhaulOnce(ctx, inst, n, c, { probe = false } = {}) {
  const scenario = ctx.validateScenario(ctx.scenario({ count: n, steps: STEPS, concurrency: c, expect: { isolationProbe: probe } }), '<bench throughput>');
  inst.reset();
  let lastFinished = 0;
  let cleaned;
  let completed = 0;
  const t0 = wallNow();
  const result = await ctx.runKeelhaul(scenario, inst.client, (e) => {
    if (e.type === 'task.finished') {
      lastFinished = wallNow();
      if (e.outcome === 'completed') completed += 1;
    }
    if (e.type === 'cleanup.finished') cleaned = wallNow();
  });
  const t1 = wallNow();
  if (completed !== n) throw new Error(`throughput: run ${result.report.runId} completed ${completed} of ${n} tasks (${result.report.error ?? result.report.status})`);
  const stateText = await readFile(join(result.runDir, 'state.json'), 'utf8');
  const state = JSON.parse(stateText);
  const perMethod = {};
  for (const call of inst.calls) perMethod[call.method] = (perMethod[call.method] ?? 0) + 1;
  return {
    rate: n / ((cleaned - t0) / 1000),
    rateToLastTask: n / ((lastFinished - t0) / 1000),
    cleanupMs: cleaned - lastFinished,
    runMs: t1 - t0,
    stateWrites: state.revision,
    stateText,
    runDir: result.runDir,
    callsPerMethod: perMethod,
  };
}

async function rawOnce(ctx, n, c, tag) {
  const { raw, benchId, image } = ctx;
  const labels = { [RUN_LABEL]: benchId, 'dev.keelhaul.role': 'worker' };
  const queue = new PQueue({ concurrency: c });
  const t0 = wallNow();
  // On a failure, start no further job (p-queue would go on with the rest).
  await runAll(
    queue,
    Array.from({ length: n }, (_, i) => async () => {
      const taskId = `t-${String(i + 1).padStart(2, '0')}`;
      const name = `khb-${benchId}-tp-${tag}-${taskId}`;
      await raw.createVolume({ Name: name, Labels: labels });
      const container = await raw.createContainer(
        hardenedCreateOptions({ name, image, labels, volume: name, env: workerEnv({ runId: benchId, taskId, task: workerTask(taskId, STEPS) }) }),
      );
      await container.start();
      const { StatusCode } = await container.wait();
      if (StatusCode !== 0) throw new Error(`throughput baseline: ${name} exited ${StatusCode}`);
      await ignoreGone(container.remove({ force: true }));
      await ignoreGone(raw.getVolume(name).remove());
    }),
  );
  return { rate: n / ((wallNow() - t0) / 1000) };
}

/** What one state.json write (write, fsync, rename, directory fsync) costs here, for a state of this size. */
async function stateWriteCost(ctx, runDir, text) {
  const { writeFileAtomic } = await import(join(ctx.root, 'dist', 'src', 'atomic-file.js'));
  const path = join(runDir, 'bench-state-copy.json');
  const ms = [];
  for (let i = 0; i < 20; i++) {
    const t = wallNow();
    await writeFileAtomic(path, text);
    ms.push(wallNow() - t);
  }
  return { bytes: Buffer.byteLength(text), ms: summarize(ms) };
}

export async function benchThroughput(ctx) {
  const n = ctx.quick ? 12 : 50;
  const reps = 3;
  const levels = ctx.quick ? [1, 4, 8] : [1, 4, 8, 16];
  const inst = instrument(ctx.kh);
  ctx.log(`throughput: ${n} tasks at concurrency ${levels.join(', ')}, ${reps} alternating repetitions each, after a warm-up`);
  await keelhaulOnce(ctx, inst, 4, 2);
  await rawOnce(ctx, 4, 2, 'warm');
  const out = [];
  for (const c of levels) {
    const kh = [];
    const base = [];
    const extra = [];
    for (let r = 0; r < reps; r++) {
      const order = r % 2 === 0 ? ['kh', 'raw'] : ['raw', 'kh'];
      for (const side of order) {
        if (side === 'kh') {
          const x = await keelhaulOnce(ctx, inst, n, c);
          kh.push(x.rate);
          extra.push(x);
        } else {
          base.push((await rawOnce(ctx, n, c, `c${c}r${r}`)).rate);
        }
      }
      ctx.log(`throughput c=${c} rep ${r + 1}: keelhaul ${kh.at(-1).toFixed(2)}/s, raw ${base.at(-1).toFixed(2)}/s`);
    }
    const k = summarize(kh);
    const b = summarize(base);
    // Each repetition's two sides ran back to back: their ratio cancels the drift between
    // repetitions (this VM's rates moved ±15 % from one minute to the next), which the ratio
    // of the two medians does not.
    const paired = kh.map((x, i) => round(x / base[i], 3));
    const pairedMedian = summarize(paired).median;
    const calls = extra[0].callsPerMethod;
    const writeCost = await stateWriteCost(ctx, extra[0].runDir, extra[0].stateText);
    out.push({
      id: `throughput-c${c}`,
      title: `Sustained attempts/s, ${n} tasks, concurrency ${c}`,
      unit: 'attempts/s',
      better: 'higher',
      subject: 'keelhaul',
      baselineName: 'raw dockerode (p-queue)',
      keelhaul: k,
      baseline: b,
      ratio: round(k.median / b.median, 3),
      ...(c === 8 ? { target: { op: '>=', value: 0.95 } } : {}),
      note: `paired ratio per repetition (keelhaul ÷ raw run back to back): ${paired.map((x) => `${x}×`).join(', ')}, median ${pairedMedian}×; the run's end (last task.finished → cleanup.finished): ${summarize(extra.map((x) => x.cleanupMs)).median} ms median`,
      details: {
        pairedRatios: paired,
        pairedRatioMedian: pairedMedian,
        tasks: n,
        concurrency: c,
        keelhaulRateToLastTaskFinished: summarize(extra.map((x) => x.rateToLastTask)),
        keelhaulEndCleanupMs: summarize(extra.map((x) => x.cleanupMs)),
        keelhaulWholeRunMs: summarize(extra.map((x) => x.runMs)),
        stateJsonWritesPerAttempt: round(extra[0].stateWrites / n, 2),
        stateJsonBytes: writeCost.bytes,
        stateJsonAtomicWriteMs: writeCost.ms,
        dockerCallsPerAttempt: Object.fromEntries(Object.entries(calls).map(([m, count]) => [m, round(count / n, 2)])),
      },
    });
  }

  // What proving isolation from inside costs: the same run with and without the probe,
  // alternating, at c = 8.
  const probed = [];
  const unprobed = [];
  for (let r = 0; r < reps; r++) {
    const order = r % 2 === 0 ? [true, false] : [false, true];
    for (const probe of order) (probe ? probed : unprobed).push((await keelhaulOnce(ctx, inst, n, 8, { probe })).rate);
    ctx.log(`throughput c=8 probe cost rep ${r + 1}: with the probe ${probed.at(-1).toFixed(2)}/s, without ${unprobed.at(-1).toFixed(2)}/s`);
  }
  const withProbe = summarize(probed);
  const without = summarize(unprobed);
  out.push({
    id: 'throughput-c8-probe',
    title: `Sustained attempts/s, ${n} tasks, concurrency 8, with the isolation probe (expect.isolationProbe, the default)`,
    unit: 'attempts/s',
    better: 'higher',
    subject: 'keelhaul, probe on',
    baselineName: 'keelhaul, probe off',
    keelhaul: withProbe,
    baseline: without,
    ratio: round(withProbe.median / without.median, 3),
    note: 'one docker exec per attempt (busybox sh + nc, ~3 API calls and a runc exec); it costs the daemon, on the critical path only when a task is as short as these (one progress step)',
    details: { tasks: n, concurrency: 8, pairedRatios: probed.map((x, i) => round(x / unprobed[i], 3)) },
  });
  return out;
}
