// 5. Per-container start+stop: testcontainers-node's GenericContainer (Ryuk disabled,
// same image, same hardening as far as its builder reaches, the worker sleeping so the
// container stays up) against raw dockerode create → start → stop (t=0) → remove (volumes),
// which is what GenericContainer.start() + stop() ask of the daemon. Pairs alternate.
import { hardenedCreateOptions, MEMORY_BYTES, RUN_LABEL, round, summarize, wallNow, workerEnv, workerTask } from '../lib/common.mjs';

const SLEEP_TASK = [{ sleep: 600_000 }];

function envObject(list) {
  return Object.fromEntries(list.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

export async function benchTestcontainers(ctx) {
  // Ryuk needs the testcontainers/ryuk image from a registry; none is reachable here, and
  // the bench removes its containers itself (finally + label sweep).
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  let GenericContainer;
  try {
    ({ GenericContainer } = await import('testcontainers'));
  } catch (error) {
    return { id: 'testcontainers', title: 'Per-container start+stop, testcontainers-node', skipped: true, reason: `testcontainers is not installed (${error.message})` };
  }
  // The builder has no read-only root, pids limit or swap pin: set them on its HostConfig.
  class HardenedContainer extends GenericContainer {
    constructor(image) {
      super(image);
      this.hostConfig.ReadonlyRootfs = true;
      this.hostConfig.PidsLimit = 128;
    }
    async start() {
      this.hostConfig.MemorySwap = MEMORY_BYTES;
      return super.start();
    }
  }
  const { raw, benchId, image } = ctx;
  const labels = { [RUN_LABEL]: benchId, 'dev.keelhaul.role': 'worker' };
  const env = (i) => workerEnv({ runId: benchId, taskId: `tc-${i}`, task: workerTask(`tc-${i}`, SLEEP_TASK) });

  const tcOnce = async (i) => {
    const t0 = wallNow();
    const started = await new HardenedContainer(image)
      .withName(`khb-${benchId}-tc-${i}`)
      .withLabels(labels)
      .withEnvironment(envObject(env(i)))
      .withUser('1000:1000')
      .withNetworkMode('none')
      .withDroppedCapabilities('ALL')
      .withSecurityOpt('no-new-privileges')
      .withResourcesQuota({ memory: MEMORY_BYTES / 1024 ** 3 })
      .withTmpFs({ '/tmp': 'rw,size=64m,mode=1777' })
      .start();
    const t1 = wallNow();
    await started.stop({ timeout: 0 });
    const t2 = wallNow();
    return { ms: t2 - t0, start: t1 - t0, stop: t2 - t1 };
  };
  const rawOnce = async (i) => {
    const t0 = wallNow();
    const container = await raw.createContainer(hardenedCreateOptions({ name: `khb-${benchId}-tcraw-${i}`, image, labels, env: env(i) }));
    await container.start();
    const t1 = wallNow();
    await container.stop({ t: 0 });
    await container.remove({ v: true });
    const t2 = wallNow();
    return { ms: t2 - t0, start: t1 - t0, stop: t2 - t1 };
  };

  const n = ctx.quick ? 6 : 25;
  ctx.log(`testcontainers: ${n} alternating start+stop pairs after a warm-up (Ryuk disabled)`);
  await tcOnce('warm');
  await rawOnce('warm');
  const tc = [];
  const base = [];
  for (let i = 0; i < n; i++) {
    const order = i % 2 === 0 ? ['tc', 'raw'] : ['raw', 'tc'];
    for (const side of order) (side === 'tc' ? tc : base).push(side === 'tc' ? await tcOnce(i) : await rawOnce(i));
  }
  const t = summarize(tc.map((x) => x.ms));
  const b = summarize(base.map((x) => x.ms));
  return {
    id: 'testcontainers',
    title: 'Per-container start+stop, testcontainers-node GenericContainer',
    unit: 'ms',
    better: 'lower',
    subject: 'testcontainers GenericContainer',
    baselineName: 'raw dockerode create+start+stop+remove',
    keelhaul: t,
    baseline: b,
    ratio: round(t.median / b.median, 3),
    note: 'subject is testcontainers-node, not keelhaul: this row calibrates the peer against the same floor (issue 7 measured 1.0–1.15×).',
    details: {
      testcontainersStartMs: summarize(tc.map((x) => x.start)),
      testcontainersStopMs: summarize(tc.map((x) => x.stop)),
      rawStartMs: summarize(base.map((x) => x.start)),
      rawStopMs: summarize(base.map((x) => x.stop)),
    },
  };
}
