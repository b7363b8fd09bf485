// 7. Controller footprint with N live workers: the controller (bench/lib/footprint-driver.mjs,
// a forked process running keelhaul's runScenario) launches N worker containers that sleep;
// once all N run, a steady-state window of W s: pidusage samples the controller process
// every second (RSS, CPU), and the driver records the lag of every event it processes. The
// baseline is the same controller with 1 live worker (node + keelhaul loaded, one run's
// monitor, events subscription and heartbeat stream), measured the same way in this run.
//
// Events backlog. Every worker emits a heartbeat each `heartbeatMs` (1000, the scenario
// default), so N workers send N events/s; the Docker event stream adds the daemon's events.
// lag = when the controller processed an event − when it was emitted (the worker's `ts`, or
// the daemon's `timeNano`). The backlog at time t is the number of events emitted by t and
// not yet processed at t: #{e : emitted(e) ≤ t < processed(e)} — about rate × lag. It is
// bounded when the controller keeps up with the arrival rate: then the lag does not grow
// over the window, and a lag p99 under `heartbeatMs` means fewer than one unprocessed event
// per worker. Unbounded means growing lag: the second half of the window lags more than the
// first, without limit.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pidusage from 'pidusage';
import { round, sleep, summarize, wallNow } from '../lib/common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const HEARTBEAT_MS = 1000;
const MiB = 1024 ** 2;

/** MemAvailable from /proc/meminfo, bytes (the kernel's estimate of what can be used without swapping). */
function availableBytes() {
  const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Backlog (events) at each whole second of [from, to], from [processedAt, emittedAt] pairs. */
function backlogSeries(pairs, from, to) {
  const out = [];
  for (let t = from; t <= to; t += 1000) {
    let n = 0;
    for (const [processed, emitted] of pairs) if (emitted <= t && processed > t) n += 1;
    out.push(n);
  }
  return out;
}

function lagSummary(pairs) {
  return summarize(pairs.map(([processed, emitted]) => processed - emitted));
}

/** Runs the driver with `count` workers through a `windowMs` steady state; returns what it measured. */
async function measure(ctx, count, windowMs) {
  const child = fork(join(here, '..', 'lib', 'footprint-driver.mjs'), [String(count), ctx.runsDir, ctx.benchId, String(HEARTBEAT_MS)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    // KEELHAUL_BENCH_CPU_PROF=<dir>: a V8 CPU profile of each controller process (node
    // --cpu-prof), to open in Chrome DevTools or speedscope.
    ...(process.env.KEELHAUL_BENCH_CPU_PROF ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${process.env.KEELHAUL_BENCH_CPU_PROF}`] } : {}),
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const messages = [];
  let allRunning;
  const allRunningP = new Promise((r) => (allRunning = r));
  let lagsMsg;
  const lagsP = new Promise((r) => (lagsMsg = r));
  let doneMsg;
  const doneP = new Promise((r) => (doneMsg = r));
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  child.on('message', (m) => {
    messages.push(m.type);
    if (m.type === 'run') ctx.runIds.add(m.runId);
    if (m.type === 'running' && m.count === count) allRunning(wallNow());
    if (m.type === 'lags') lagsMsg(m);
    if (m.type === 'done') doneMsg(m);
  });
  const t0 = wallNow();
  const failed = exited.then(({ code, signal }) => {
    throw new Error(`footprint: the controller process exited (${code ?? signal}) before the window; stderr: ${stderr.trim().slice(-800)}`);
  });
  const runningAt = await Promise.race([allRunningP, failed]);
  const launchMs = runningAt - t0;
  // Let the launch burst settle (the last attachments, the monitor's first rounds) before
  // the window: what is measured is N live workers, not their launch.
  await sleep(3000);
  await pidusage(child.pid); // primes pidusage's CPU reading
  const rss = [];
  const cpu = [];
  const first = await pidusage(child.pid);
  child.send({ type: 'window', phase: 'start' });
  const w0 = Date.now();
  while (Date.now() - w0 < windowMs) {
    await sleep(1000);
    const s = await pidusage(child.pid);
    rss.push(s.memory / MiB);
    cpu.push(s.cpu);
  }
  const last = await pidusage(child.pid);
  const w1 = Date.now();
  // Events emitted in the window's last seconds arrive a little later: keep listening 2 s
  // before closing the books, then count backlog only up to the window's end.
  await sleep(2000);
  child.send({ type: 'window', phase: 'end' });
  const lags = await Promise.race([lagsP, failed]);
  child.send({ type: 'stop' });
  const done = await Promise.race([doneP, failed]);
  await exited;
  pidusage.clear();

  const worker = lags.workerLags.filter(([, emitted]) => emitted >= w0 && emitted <= w1);
  const docker = lags.dockerLags;
  const half = w0 + (w1 - w0) / 2;
  const backlog = backlogSeries(worker, w0 + 1000, w1);
  return {
    count,
    launchMs: round(launchMs),
    windowMs: w1 - w0,
    rssMiB: summarize(rss),
    cpuPercent: summarize(cpu),
    // CPU over the whole window from the process's CPU time (ms of CPU ÷ ms of wall clock).
    cpuPercentMean: round(((last.ctime - first.ctime) / (last.timestamp - first.timestamp)) * 100),
    workerEvents: worker.length,
    workerEventsPerSecond: round(worker.length / ((w1 - w0) / 1000)),
    workerLagMs: lagSummary(worker),
    workerLagFirstHalfMs: lagSummary(worker.filter(([, e]) => e < half)),
    workerLagSecondHalfMs: lagSummary(worker.filter(([, e]) => e >= half)),
    dockerEvents: docker.length,
    dockerLagMs: docker.length ? lagSummary(docker) : null,
    backlogEvents: summarize(backlog),
    backlogEventsSeries: backlog,
    teardownMs: done.teardownMs,
    runs: done.runs,
  };
}

function strip(s) {
  // The JSON keeps medians/min/max/p99; the raw lag samples (N per second) would swell it.
  const { samples, ...rest } = s;
  return rest;
}

export async function benchFootprint(ctx) {
  const counts = ctx.quick ? [50] : [50, 200, 500];
  const windowMs = ctx.quick ? 6_000 : 20_000;
  ctx.log(`footprint: the controller as its own process with 1 (baseline), then ${counts.join(', ')} live workers; ${windowMs / 1000} s steady state each`);
  const baseline = await measure(ctx, 1, windowMs);
  ctx.log(`footprint: 1 worker: RSS ${baseline.rssMiB.median} MiB, CPU ${baseline.cpuPercent.median} %, worker-event lag p50 ${baseline.workerLagMs.median} ms`);
  const rows = [];
  const measured = [];
  for (const count of counts) {
    // About 25 MiB per live worker on this daemon (the worker's node, its containerd-shim,
    // dockerd's share) plus headroom: other helpers share the machine.
    const needBytes = count * 25 * MiB + 4 * 1024 ** 3;
    const avail = availableBytes();
    if (avail < needBytes) {
      ctx.log(`footprint: skipping ${count} workers: ${Math.round(avail / MiB)} MiB available, ${Math.round(needBytes / MiB)} MiB wanted`);
      rows.push({
        id: `footprint-${count}`,
        title: `Controller footprint, ${count} live workers`,
        skipped: true,
        reason: `${Math.round(avail / MiB)} MiB available < ${Math.round(needBytes / MiB)} MiB wanted`,
      });
      continue;
    }
    const m = await measure(ctx, count, windowMs);
    measured.push(m);
    ctx.log(
      `footprint: ${count} workers (launched in ${Math.round(m.launchMs)} ms): RSS ${m.rssMiB.median} MiB (max ${m.rssMiB.max}), CPU ${m.cpuPercent.median} % (mean ${m.cpuPercentMean}), ` +
        `worker-event lag p50 ${m.workerLagMs.median} / p99 ${m.workerLagMs.p99} ms, backlog max ${m.backlogEvents.max} events`,
    );
    const details = {
      ...m,
      rssMiB: strip(m.rssMiB),
      cpuPercent: strip(m.cpuPercent),
      workerLagMs: strip(m.workerLagMs),
      workerLagFirstHalfMs: strip(m.workerLagFirstHalfMs),
      workerLagSecondHalfMs: strip(m.workerLagSecondHalfMs),
      dockerLagMs: m.dockerLagMs && strip(m.dockerLagMs),
      memAvailableMiBBefore: Math.round(avail / MiB),
    };
    const at200 = count === 200;
    rows.push({
      id: `footprint-${count}-rss`,
      title: `Controller RSS, ${count} live workers (peak over ${windowMs / 1000} s)`,
      unit: 'MiB',
      better: 'lower',
      subject: `controller, ${count} workers`,
      baselineName: 'controller, 1 worker',
      keelhaul: m.rssMiB,
      baseline: baseline.rssMiB,
      ratio: round(m.rssMiB.median / baseline.rssMiB.median, 3),
      ...(at200 ? { target: { op: '<=', value: 120, on: 'max', unit: 'MiB' } } : {}),
      details,
    });
    rows.push({
      id: `footprint-${count}-cpu`,
      title: `Controller CPU, ${count} live workers (% of one core, 1 s samples)`,
      unit: '% core',
      better: 'lower',
      subject: `controller, ${count} workers`,
      baselineName: 'controller, 1 worker',
      keelhaul: m.cpuPercent,
      baseline: baseline.cpuPercent,
      ratio: baseline.cpuPercent.median > 0 ? round(m.cpuPercent.median / baseline.cpuPercent.median, 3) : null,
      ...(at200 ? { target: { op: '<=', value: 25, on: 'median', unit: '%' } } : {}),
      note: `CPU over the whole window: ${m.cpuPercentMean} % (1 worker: ${baseline.cpuPercentMean} %)`,
    });
    rows.push({
      id: `footprint-${count}-lag`,
      title: `Worker-event lag, ${count} live workers (${m.workerEventsPerSecond} events/s; emitted → processed)`,
      unit: 'ms',
      better: 'lower',
      subject: `controller, ${count} workers`,
      baselineName: 'controller, 1 worker',
      keelhaul: m.workerLagMs,
      baseline: baseline.workerLagMs,
      ratio: round(m.workerLagMs.median / baseline.workerLagMs.median, 3),
      // Bounded: the controller processes each heartbeat before the worker's next one.
      target: { op: '<=', value: HEARTBEAT_MS, on: 'p99', unit: 'ms' },
      note:
        `backlog ${m.backlogEvents.median} events median, ${m.backlogEvents.max} max; lag p50 ${m.workerLagFirstHalfMs.median} → ${m.workerLagSecondHalfMs.median} ms ` +
        `from the window's first half to its second; Docker events lag p50 ${m.dockerLagMs?.median ?? '–'} ms (${m.dockerEvents} events)`,
    });
  }
  for (const r of rows) {
    if (r.keelhaul) {
      r.keelhaul = strip(r.keelhaul);
      r.baseline = strip(r.baseline);
    }
  }
  if (rows[0])
    rows[0].baselineDetails = {
      ...baseline,
      rssMiB: strip(baseline.rssMiB),
      cpuPercent: strip(baseline.cpuPercent),
      workerLagMs: strip(baseline.workerLagMs),
      workerLagFirstHalfMs: strip(baseline.workerLagFirstHalfMs),
      workerLagSecondHalfMs: strip(baseline.workerLagSecondHalfMs),
      dockerLagMs: baseline.dockerLagMs && strip(baseline.dockerLagMs),
    };
  return rows;
}
