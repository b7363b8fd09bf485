#!/usr/bin/env node
// The controller under measurement, as its own process (so that pidusage sees only it):
// keelhaul's runScenario from dist/, driving `count` workers that sleep for minutes. Forked
// by bench/benchmarks/footprint.mjs, which it talks to over IPC:
//   → parent: {type:'run', runId}, {type:'running', count}, {type:'lags', …}, {type:'done', …}
//   ← parent: {type:'window', phase:'start'|'end'} (the steady-state window), {type:'stop'}
// The schema caps a scenario's concurrency at 256, so 500 workers are two runs of 250 in
// this one process: one controller process, 500 live workers.
//
// Event lag, measured here where the controller processes events (its onEvent hook runs
// synchronously inside EventLog.emit, right after the controller handled the event):
// - worker events: receipt − the event's own `ts` (the worker's clock: the same host);
// - Docker events: receipt − the daemon's `timeNano`.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { runScenario } = await import(join(root, 'dist', 'src', 'controller', 'index.js'));
const { validateScenario } = await import(join(root, 'dist', 'src', 'scenario', 'index.js'));
const { connectDocker } = await import(join(root, 'dist', 'src', 'docker', 'index.js'));
const docker = await connectDocker();

const [count, runsDir, benchId, heartbeatMs] = [Number(process.argv[2]), process.argv[3], process.argv[4], Number(process.argv[5] ?? 1000)];
const PER_RUN = 250;
const send = (m) => process.send?.(m);

const abort = new AbortController();
let running = 0;
let inWindow = false;
/** Per event received inside the steady-state window: [receivedAtMs, emittedAtMs]. */
const workerLags = [];
const dockerLags = [];
let workerEventsTotal = 0;
let stopAt;

process.on('message', (m) => {
  if (m?.type === 'window') inWindow = m.phase === 'start';
  if (m?.type === 'window' && m.phase === 'end') send({ type: 'lags', workerLags, dockerLags });
  if (m?.type === 'stop') {
    stopAt = Date.now();
    abort.abort(new Error('footprint benchmark: window over'));
  }
});

const sizes = [];
for (let left = count; left > 0; left -= PER_RUN) sizes.push(Math.min(PER_RUN, left));
const runs = sizes.map((n, i) => {
  const scenario = validateScenario(
    {
      name: benchId,
      description: 'keelhaul benchmark (bench/): controller footprint',
      seed: 1,
      image: 'keelhaul/worker:{version}',
      network: 'none',
      concurrency: n,
      heartbeatMs,
      timeoutMs: 3_600_000,
      retry: { maxAttempts: 1, backoffMs: 0 },
      reaper: { enabled: false, ttlMs: 60_000 },
      tasks: { count: n, idPrefix: `r${i}-t-`, steps: [{ sleep: 3_600_000 }] },
      expect: { allCompleted: false, killedAttemptsRecover: false, disruptedTasksRecover: false },
    },
    '<bench footprint>',
  );
  return runScenario({
    scenario,
    docker,
    runsDir,
    reaper: false,
    signal: abort.signal,
    onEvent: (e) => {
      const now = Date.now();
      if (e.type === 'run.started') send({ type: 'run', runId: e.run });
      else if (e.type === 'attempt.running') send({ type: 'running', count: ++running });
      else if (e.type === 'worker.event') {
        workerEventsTotal += 1;
        if (inWindow) workerLags.push([now, Date.parse(e.event.ts)]);
      } else if (e.type === 'docker.event' && inWindow) dockerLags.push([now, Number(BigInt(e.timeNano) / 1_000_000n)]);
    },
  });
});

const results = await Promise.allSettled(runs);
send({
  type: 'done',
  // stop → every run finished: the abort kills the workers, then cleanup removes them.
  teardownMs: stopAt === undefined ? null : Date.now() - stopAt,
  workerEventsTotal,
  runs: results.map((r) => (r.status === 'fulfilled' ? { runId: r.value.report.runId, status: r.value.report.status } : { error: String(r.reason?.message ?? r.reason) })),
});
process.disconnect?.();
