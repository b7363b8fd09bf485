// 4. Cleanup of M running labelled containers: keelhaul's removeRunResources (label query,
// then force-remove at most 8 at a time, then networks and volumes) against the docker CLI's
// `docker rm -f $(docker ps -aq --filter label=dev.keelhaul.run=<id>)`. Each sample starts M
// hardened worker containers sleeping (untimed), then times the removal; the two sides
// alternate which goes first.
import PQueue from 'p-queue';
import { execa } from 'execa';
import { runAll } from '../lib/queue.mjs';
import { hardenedCreateOptions, RUN_LABEL, round, summarize, wallNow, workerEnv, workerTask } from '../lib/common.mjs';

async function startSleepers(ctx, m, tag) {
  const { raw, benchId, image } = ctx;
  const labels = { [RUN_LABEL]: benchId, 'dev.keelhaul.role': 'worker' };
  const queue = new PQueue({ concurrency: 6 });
  // On a failure, start no further job (p-queue would go on with the rest).
  await runAll(
    queue,
    Array.from({ length: m }, (_, i) => async () => {
      const taskId = `c-${i + 1}`;
      const container = await raw.createContainer(
        hardenedCreateOptions({
          name: `khb-${benchId}-clean-${tag}-${i + 1}`,
          image,
          labels,
          env: workerEnv({ runId: benchId, taskId, task: workerTask(taskId, [{ sleep: 600_000 }]) }),
        }),
      );
      await container.start();
    }),
  );
  const running = await raw.listContainers({ filters: JSON.stringify({ label: [`${RUN_LABEL}=${benchId}`], status: ['running'] }) });
  if (running.length !== m) throw new Error(`cleanup: expected ${m} running containers, found ${running.length}`);
}

async function cliRemove(benchId) {
  // The shell form `docker rm -f $(docker ps -aq --filter label=…)`: the list, then one rm with every id.
  const ps = await execa('docker', ['ps', '-aq', '--filter', `label=${RUN_LABEL}=${benchId}`]);
  const ids = ps.stdout.split('\n').filter(Boolean);
  if (ids.length) await execa('docker', ['rm', '-f', ...ids]);
  return ids.length;
}

export async function benchCleanup(ctx) {
  const m = ctx.quick ? 20 : 50;
  const samples = ctx.quick ? 3 : 5;
  ctx.log(`cleanup: ${m} running containers, ${samples} alternating samples per side, after a warm-up`);
  const left = await ctx.raw.listContainers({ all: true, filters: JSON.stringify({ label: [`${RUN_LABEL}=${ctx.benchId}`] }) });
  if (left.length) throw new Error(`cleanup: ${left.length} containers with the bench label exist before the benchmark`);
  const kh = [];
  const cli = [];
  const removedBy = { keelhaul: [], cli: [] };
  const once = async (side, tag) => {
    await startSleepers(ctx, side === 'warm' ? 4 : m, tag);
    const t = wallNow();
    let removed;
    if (side === 'cli') removed = await cliRemove(ctx.benchId);
    else removed = (await ctx.removeRunResources(ctx.kh, ctx.benchId)).containers;
    const ms = wallNow() - t;
    const after = await ctx.raw.listContainers({ all: true, filters: JSON.stringify({ label: [`${RUN_LABEL}=${ctx.benchId}`] }) });
    if (after.length) throw new Error(`cleanup: ${side} left ${after.length} containers`);
    return { ms, removed };
  };
  await once('warm', 'w1');
  await cliRemove(ctx.benchId);
  for (let i = 0; i < samples; i++) {
    const order = i % 2 === 0 ? ['keelhaul', 'cli'] : ['cli', 'keelhaul'];
    for (const side of order) {
      const r = await once(side, `${side}${i}`);
      (side === 'cli' ? cli : kh).push(r.ms);
      removedBy[side].push(r.removed);
    }
    ctx.log(`cleanup sample ${i + 1}: keelhaul ${Math.round(kh.at(-1))} ms, docker CLI ${Math.round(cli.at(-1))} ms`);
  }
  const k = summarize(kh);
  const b = summarize(cli);
  return {
    id: 'cleanup',
    title: `Cleanup of ${m} running labelled containers`,
    unit: 'ms',
    better: 'lower',
    subject: 'keelhaul removeRunResources',
    baselineName: 'docker rm -f $(docker ps -aq --filter label=…)',
    keelhaul: k,
    baseline: b,
    ratio: round(k.median / b.median, 3),
    target: { op: '<=', value: 0.9 },
    details: { containers: m, removedPerSample: removedBy, keelhaulPerContainerMs: round(k.median / m), cliPerContainerMs: round(b.median / m) },
  };
}
