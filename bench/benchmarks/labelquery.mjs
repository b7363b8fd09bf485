// 8. Label-query time against 0 / 200 / 1000 containers on the daemon. The containers are
// created, not started (cheap: no process, no shim), all carrying the bench's run label and
// a role of their own; the query is the one keelhaul's cleanup and leak check make —
// `GET /containers/json?all=1&filters={"label":["dev.keelhaul.run=<id>","dev.keelhaul.role=…"]}` —
// and matches every one of them. Subject: keelhaul's DockerClient.listContainers (label
// filter, then mapping each row to a ContainerSummary). Baseline: raw dockerode
// listContainers with the same filter, alternating with the subject. The docker CLI's
// `docker ps -aq --filter label=…` is timed too (details): its process start dominates.
import PQueue from 'p-queue';
import { execa } from 'execa';
import { runAll } from '../lib/queue.mjs';
import { ignoreGone, RUN_LABEL, ROLE_LABEL, round, summarize, wallNow } from '../lib/common.mjs';

const ROLE = 'bench-labelquery';

async function createUpTo(ctx, have, want) {
  const { raw, benchId, image } = ctx;
  const queue = new PQueue({ concurrency: 4 });
  await runAll(
    queue,
    Array.from({ length: want - have }, (_, i) => async () => {
      await raw.createContainer({
        name: `khb-${benchId}-lq-${have + i + 1}`,
        Image: image,
        Labels: { [RUN_LABEL]: benchId, [ROLE_LABEL]: ROLE },
        User: '1000:1000',
        HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true, CapDrop: ['ALL'] },
      });
    }),
  );
}

async function removeAll(ctx) {
  const { raw, benchId } = ctx;
  const rows = await raw.listContainers({ all: true, filters: JSON.stringify({ label: [`${RUN_LABEL}=${benchId}`, `${ROLE_LABEL}=${ROLE}`] }) });
  const queue = new PQueue({ concurrency: 8 });
  await queue.addAll(rows.map((r) => () => ignoreGone(raw.getContainer(r.Id).remove({ force: true, v: true }))));
}

export async function benchLabelQuery(ctx) {
  const { raw, kh, benchId } = ctx;
  const sizes = ctx.quick ? [0, 200] : [0, 200, 1000];
  const samples = ctx.quick ? 8 : 20;
  const cliSamples = ctx.quick ? 3 : 5;
  const labels = { [RUN_LABEL]: benchId, [ROLE_LABEL]: ROLE };
  const filters = JSON.stringify({ label: [`${RUN_LABEL}=${benchId}`, `${ROLE_LABEL}=${ROLE}`] });
  ctx.log(`labelquery: ${sizes.join(' / ')} created containers; ${samples} alternating queries per side, ${cliSamples} docker CLI`);
  const rows = [];
  let have = 0;
  try {
    for (const size of sizes) {
      if (size > have) {
        const t = wallNow();
        await createUpTo(ctx, have, size);
        ctx.log(`labelquery: created ${size - have} containers in ${Math.round(wallNow() - t)} ms`);
        have = size;
      }
      const onDaemon = (await raw.listContainers({ all: true })).length;
      const k = [];
      const b = [];
      // One warm-up of each, then alternate which side goes first.
      await kh.listContainers({ labels, all: true });
      await raw.listContainers({ all: true, filters });
      for (let i = 0; i < samples; i++) {
        const order = i % 2 === 0 ? ['kh', 'raw'] : ['raw', 'kh'];
        for (const side of order) {
          const t0 = wallNow();
          const found = side === 'kh' ? await kh.listContainers({ labels, all: true }) : await raw.listContainers({ all: true, filters });
          const ms = wallNow() - t0;
          if (found.length !== size) throw new Error(`labelquery: ${side} found ${found.length} containers, expected ${size}`);
          (side === 'kh' ? k : b).push(ms);
        }
      }
      const cli = [];
      for (let i = 0; i < cliSamples; i++) {
        const t0 = wallNow();
        const out = await execa('docker', ['ps', '-aq', '--filter', `label=${RUN_LABEL}=${benchId}`, '--filter', `label=${ROLE_LABEL}=${ROLE}`]);
        cli.push(wallNow() - t0);
        const n = out.stdout.split('\n').filter(Boolean).length;
        if (n !== size) throw new Error(`labelquery: docker ps found ${n} containers, expected ${size}`);
      }
      const ks = summarize(k);
      const bs = summarize(b);
      const cs = summarize(cli);
      ctx.log(`labelquery: ${size} matching (${onDaemon} on the daemon): keelhaul ${ks.median} ms, dockerode ${bs.median} ms, docker CLI ${cs.median} ms`);
      rows.push({
        id: `labelquery-${size}`,
        title: `Label query (all=1, run+role labels) matching ${size} created containers`,
        unit: 'ms',
        better: 'lower',
        subject: 'keelhaul listContainers',
        baselineName: 'raw dockerode listContainers, same filter',
        keelhaul: ks,
        baseline: bs,
        ratio: round(ks.median / bs.median, 3),
        note: `docker CLI \`docker ps -aq --filter …\`: ${cs.median} ms median (${cs.min}–${cs.max}); ${onDaemon} containers on the daemon in all`,
        details: { matching: size, containersOnDaemon: onDaemon, dockerCliMs: cs },
      });
    }
  } finally {
    const t = wallNow();
    await removeAll(ctx);
    ctx.log(`labelquery: removed ${have} containers in ${Math.round(wallNow() - t)} ms`);
  }
  return rows;
}
