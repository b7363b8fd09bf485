// 3. Fault → the controller knows. One keelhaul run of K sleeping tasks (one attempt each);
// once every worker reported task.started, the bench kills them one at a time, alternating
// an API kill (POST /containers/{id}/kill, SIGKILL) and a host-pid kill (kill -9 of the
// container's init pid). Latency = kill call → the controller's attempt.exited event, against
// kill call → the daemon's own `die` event (its timeNano, read afterwards from GET /events
// with explicit since/until: DOCKER-NOTES warns `--until 0s` drops recent events).
import { breakdown, instrument } from '../lib/instrument.mjs';
import { percentile, round, SCENARIO_LABEL, sleep, summarize, wallNow } from '../lib/common.mjs';

/**
 * Follows the daemon's `die` events for the bench's containers from now on. A live
 * subscription, not a query afterwards: dockerd keeps only its last 256 events for `since`
 * queries, and a busy daemon (30 attempts, other users) overflows that. `until` is explicit
 * and far off (DOCKER-NOTES: `--until 0s` drops recent events); the stream is closed by stop().
 */
async function followDieEvents(raw, benchId) {
  const nowS = Math.floor(Date.now() / 1000);
  const stream = await raw.getEvents({
    since: nowS - 1,
    until: nowS + 3600,
    filters: JSON.stringify({ type: ['container'], event: ['die'], label: [`${SCENARIO_LABEL}=${benchId}`] }),
  });
  const byId = new Map();
  let buffer = '';
  stream.on('data', (chunk) => {
    buffer += chunk.toString('utf8');
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.trim()) continue;
      const e = JSON.parse(line);
      if (!byId.has(e.id)) byId.set(e.id, { ms: e.timeNano / 1e6, exitCode: e.Actor?.Attributes?.exitCode });
    }
  });
  stream.on('error', () => undefined);
  return { byId, stop: () => stream.destroy() };
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`detect: ${what} not seen within ${ms} ms`)), ms);
    }),
  ]);
}

export async function benchDetect(ctx) {
  const k = ctx.quick ? 8 : 30;
  ctx.log(`detect: ${k} sleeping attempts, killed one at a time (API kill and host-pid kill alternating)`);
  const inst = instrument(ctx.kh);
  const scenario = ctx.validateScenario(
    ctx.scenario({
      count: k,
      steps: [{ sleep: 300_000 }],
      concurrency: k,
      expect: { allCompleted: false, killedAttemptsRecover: false },
    }),
    '<bench detect>',
  );
  const containerOf = new Map();
  const exited = new Map();
  const waiters = new Map();
  let started = 0;
  let allStarted;
  const allStartedP = new Promise((resolve) => (allStarted = resolve));
  const events = await followDieEvents(ctx.raw, ctx.benchId);
  const run = ctx.runKeelhaul(scenario, inst.client, (e) => {
    if (e.type === 'attempt.running') containerOf.set(e.task, e.containerId);
    if (e.type === 'worker.event' && e.event.type === 'task.started' && ++started === k) allStarted();
    if (e.type === 'attempt.exited') {
      const t = wallNow();
      exited.set(e.containerId, { ms: t, exitCode: e.exitCode, outcome: e.outcome });
      waiters.get(e.containerId)?.(t);
    }
  });
  const kills = [];
  try {
    await withTimeout(allStartedP, 60_000, `task.started from all ${k} workers`);
    await sleep(300);
    const tasks = [...containerOf.keys()].sort();
    for (const [i, task] of tasks.entries()) {
      const id = containerOf.get(task);
      const method = i % 2 === 0 ? 'api' : 'host-pid';
      const pid = method === 'host-pid' ? (await ctx.raw.getContainer(id).inspect()).State.Pid : 0;
      const seen = new Promise((resolve) => waiters.set(id, resolve));
      const t = wallNow();
      if (method === 'api') await ctx.raw.getContainer(id).kill({ signal: 'SIGKILL' });
      else process.kill(pid, 'SIGKILL');
      const known = await withTimeout(seen, 15_000, `attempt.exited of ${task}`);
      kills.push({ task, id, method, killMs: t, knownMs: known });
      await sleep(150);
    }
  } finally {
    // Whatever happened above, the run ends (its containers are killed by now) and cleans up.
    for (const id of containerOf.values())
      if (!exited.has(id))
        await ctx.raw
          .getContainer(id)
          .kill({ signal: 'SIGKILL' })
          .catch(() => undefined);
    await run;
    await sleep(200);
    events.stop();
  }
  const dies = events.byId;
  const out = [];
  for (const method of ['api', 'host-pid']) {
    const rows = kills
      .filter((x) => x.method === method)
      .map((x) => {
        const die = dies.get(x.id);
        if (!die) throw new Error(`detect: no die event for ${x.task} (${x.id.slice(0, 12)})`);
        // Where the controller's time goes: the attach stream ends → inspect(s) → state.json save → event.
        const after = inst.calls.filter((c) => c.arg === x.id && c.method === 'inspectContainer' && c.start >= x.killMs);
        const b = breakdown(
          inst.calls.filter((c) => c.arg === x.id),
          x.killMs,
          x.knownMs,
        );
        return {
          task: x.task,
          knownMs: x.knownMs - x.killMs,
          dieMs: die.ms - x.killMs,
          streamEndMs: after[0] ? after[0].start - x.killMs : null,
          inspects: after.length,
          lastInspectEndMs: after.length ? after.at(-1).end - x.killMs : null,
          dockerMs: b.dockerMs,
        };
      });
    const known = summarize(rows.map((r) => r.knownMs));
    const die = summarize(rows.map((r) => r.dieMs));
    const sorted = rows.map((r) => r.knownMs).sort((a, b) => a - b);
    const afterInspect = summarize(rows.filter((r) => r.lastInspectEndMs !== null).map((r) => r.knownMs - r.lastInspectEndMs));
    const streamEnd = summarize(rows.filter((r) => r.streamEndMs !== null).map((r) => r.streamEndMs - r.dieMs));
    out.push({
      id: `detect-${method}`,
      title: `Fault → controller knows, ${method === 'api' ? 'API kill' : 'host-pid kill -9'} (kill → attempt.exited)`,
      unit: 'ms',
      better: 'lower',
      subject: 'keelhaul attempt.exited',
      baselineName: "daemon's own die event",
      keelhaul: known,
      baseline: die,
      ratio: round(known.median / die.median, 3),
      target: { op: '<=', value: 1.25 },
      note: undefined,
      details: {
        keelhaulP50Ms: round(percentile(sorted, 50)),
        keelhaulP99Ms: round(percentile(sorted, 99)),
        p99TargetMs: 100,
        dieToStreamEndMs: streamEnd,
        inspectsAfterKill: summarize(rows.map((r) => r.inspects)),
        lastInspectToEventMs: afterInspect,
        samples: rows.map((r) => Object.fromEntries(Object.entries(r).map(([key, v]) => [key, typeof v === 'number' ? round(v) : v]))),
      },
    });
  }
  return out;
}
