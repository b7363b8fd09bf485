#!/usr/bin/env node
// keelhaul benchmarks (issue 7). Plain ESM over the compiled library in dist/ (run
// `npm run build` first). Usage:
//   node bench/run.mjs [--quick] [--only launch,throughput,detect,recovery,cleanup,testcontainers,labelquery,footprint] [--out DIR] [--no-write]
// Every figure is the median of repeated samples, with min and max, reported as a ratio
// against a baseline measured in this same process and run.
import { execa } from 'execa';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { connectRaw, RUN_LABEL, SCENARIO_LABEL, scenarioInput, wallNow } from './lib/common.mjs';
import { renderMarkdown } from './lib/report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

const ALL = ['launch', 'throughput', 'detect', 'recovery', 'cleanup', 'testcontainers', 'labelquery', 'footprint'];

function parseArgs(argv) {
  const args = { quick: false, only: ALL, out: join(here, 'results'), write: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--only')
      args.only = argv[++i]
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a === '--out') args.out = resolve(argv[++i]);
    else if (a === '--no-write') args.write = false;
    else if (a === '--help' || a === '-h') {
      console.log(`node bench/run.mjs [--quick] [--only ${ALL.join(',')}] [--out DIR] [--no-write]`);
      process.exit(0);
    } else {
      console.error(`unknown argument ${JSON.stringify(a)}; see --help`);
      process.exit(2);
    }
  }
  for (const name of args.only) {
    if (!ALL.includes(name)) {
      console.error(`Expected --only to name benchmarks among ${ALL.join(', ')}, got ${JSON.stringify(name)}`);
      process.exit(2);
    }
  }
  return args;
}

async function importDist(path) {
  try {
    return await import(join(root, 'dist', 'src', path));
  } catch (error) {
    console.error(`cannot load dist/src/${path} (${error.message}); run \`npm run build\` first`);
    process.exit(2);
  }
}

/** Other work on the machine and daemon skews every figure: record it at the start and the end. */
async function load(raw, benchId) {
  const running = await raw.listContainers({ filters: JSON.stringify({ status: ['running'] }) }).catch(() => []);
  return {
    loadavg1m: Math.round(os.loadavg()[0] * 100) / 100,
    otherRunningContainers: running.filter((c) => c.Labels?.['dev.keelhaul.run'] !== benchId && c.Labels?.['dev.keelhaul.scenario'] !== benchId).length,
  };
}

async function environment(rawVersion) {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  const cli = await execa('docker', ['version', '--format', '{{.Client.Version}}'], { reject: false });
  const git = await execa('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, reject: false });
  const dirty = await execa('git', ['status', '--porcelain', '--', 'src'], { cwd: root, reject: false });
  let tc = null;
  try {
    tc = JSON.parse(await readFile(join(root, 'node_modules', 'testcontainers', 'package.json'), 'utf8')).version;
  } catch {
    // not installed
  }
  return {
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model?.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    docker: {
      serverVersion: rawVersion.Version,
      apiVersion: rawVersion.ApiVersion,
      cliVersion: cli.exitCode === 0 ? cli.stdout.trim() : null,
    },
    keelhaulVersion: pkg.version,
    gitCommit: git.exitCode === 0 ? git.stdout.trim() : null,
    gitDirty: dirty.exitCode === 0 && dirty.stdout.trim() !== '',
    // What was measured is dist/ as compiled then: the library is loaded once, at the start.
    distBuiltAt: (await stat(join(root, 'dist', 'src', 'controller', 'run.js')).catch(() => null))?.mtime.toISOString() ?? null,
    testcontainersVersion: tc,
  };
}

/** Every label query that can find something the bench made: its own label, its runs' scenario label, each keelhaul run id. */
function leakQueries(benchId, runIds) {
  return [{ [RUN_LABEL]: benchId }, { [SCENARIO_LABEL]: benchId }, ...[...runIds].map((id) => ({ [RUN_LABEL]: id }))];
}

async function sweep(kh, raw, removeRunResources, benchId, runIds) {
  // keelhaul's own cleanup for each keelhaul run and for the bench label (containers, networks, volumes).
  for (const id of [benchId, ...runIds]) await removeRunResources(kh, id).catch(() => undefined);
  // Anything with the scenario label whose run id we never saw (a run that failed before run.started).
  const stray = await kh.listContainers({ labels: { [SCENARIO_LABEL]: benchId }, all: true }).catch(() => []);
  for (const c of stray) {
    const id = c.labels[RUN_LABEL];
    if (id) {
      runIds.add(id);
      await removeRunResources(kh, id).catch(() => undefined);
    }
  }
  const strayVolumes = await kh.listVolumes({ labels: { [SCENARIO_LABEL]: benchId } }).catch(() => []);
  for (const v of strayVolumes) await kh.removeVolume(v.name, { force: true }).catch(() => undefined);
  // By name too: a daemon shutting down can create a volume and lose its labels ("database not open").
  const named = await byName(raw, benchId);
  for (const id of named.containers)
    await raw
      .getContainer(id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  for (const name of named.volumes)
    await raw
      .getVolume(name)
      .remove({ force: true })
      .catch(() => undefined);
}

/** The bench's raw containers and volumes are named `khb-<bench id>-…`. */
async function byName(raw, benchId) {
  const prefix = `khb-${benchId}`;
  const containers = await raw.listContainers({ all: true, filters: JSON.stringify({ name: [prefix] }) }).catch(() => []);
  const volumes = (await raw.listVolumes({ filters: JSON.stringify({ name: [prefix] }) }).catch(() => ({}))).Volumes ?? [];
  return { containers: containers.map((c) => c.Id), volumes: volumes.map((v) => v.Name).filter((n) => n.startsWith(prefix)) };
}

async function findLeaks(kh, raw, benchId, runIds) {
  const left = { containers: [], volumes: [], networks: [] };
  try {
    for (const labels of leakQueries(benchId, runIds)) {
      const [c, v, n] = await Promise.all([kh.listContainers({ labels, all: true }), kh.listVolumes({ labels }), kh.listNetworks({ labels })]);
      left.containers.push(...c.map((x) => x.names[0] ?? x.id));
      left.volumes.push(...v.map((x) => x.name));
      left.networks.push(...n.map((x) => x.name));
    }
    const named = await byName(raw, benchId);
    left.containers.push(...named.containers);
    left.volumes.push(...named.volumes);
  } catch (error) {
    return { ok: false, error: `the daemon could not be queried: ${error?.message ?? error}`, containers: [], volumes: [], networks: [] };
  }
  const uniq = (a) => [...new Set(a)];
  const out = { containers: uniq(left.containers), volumes: uniq(left.volumes), networks: uniq(left.networks) };
  return { ok: out.containers.length + out.volumes.length + out.networks.length === 0, ...out };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const startedAt = wallNow();
  const { runScenario, removeRunResources } = await importDist('controller/index.js');
  const { validateScenario } = await importDist('scenario/index.js');
  const { connectDocker } = await importDist('docker/index.js');
  const { keelhaulVersion } = await importDist('version.js');

  const now = new Date();
  const date = now.toISOString().slice(0, 10);
  const benchId = `bench-${now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}-${randomBytes(2).toString('hex')}`;
  const kh = await connectDocker();
  const { docker: raw, version: rawVersion } = await connectRaw();
  const image = `keelhaul/worker:${keelhaulVersion}`;
  if (!(await kh.inspectImage(image))) {
    console.error(`image ${image} is missing: run \`node dist/src/cli/main.js images build\` first`);
    process.exit(2);
  }
  // Same filesystem as a real run's .keelhaul/runs (state.json fsyncs are part of the path).
  const runsDir = await mkdtemp(join(os.tmpdir(), 'keelhaul-bench-runs-'));
  const runIds = new Set();
  const loadAtStart = await load(raw, benchId);
  const ctx = {
    benchId,
    root,
    quick: args.quick,
    raw,
    kh,
    image,
    runsDir,
    runIds,
    runScenario,
    validateScenario,
    removeRunResources,
    scenario: (opts) => scenarioInput({ name: benchId, ...opts }),
    /**
     * runScenario on `client` with the bench's run directory, no reaper, and every run id
     * recorded for the final sweep; `onEvent` sees every event after that.
     */
    runKeelhaul: (scenario, client, onEvent, extra = {}) =>
      runScenario({
        scenario,
        docker: client,
        runsDir,
        reaper: false,
        ...extra,
        onEvent: (e) => {
          if (e.type === 'run.started') runIds.add(e.run);
          onEvent(e);
        },
      }),
    log: (msg) => console.error(`[${((wallNow() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${msg}`),
  };
  ctx.log(`bench ${benchId} (${args.quick ? 'quick' : 'full'}): ${args.only.join(', ')}; keelhaul runs in ${runsDir}`);

  let finishing = false;
  const finish = async () => {
    if (finishing) return;
    finishing = true;
    await sweep(kh, raw, removeRunResources, benchId, runIds);
    await rm(runsDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    console.error('interrupted: removing what the bench created');
    finish().finally(() => process.exit(130));
  });

  const benchmarks = [];
  let failure;
  try {
    const modules = {
      launch: async () => (await import('./benchmarks/launch.mjs')).benchLaunch,
      throughput: async () => (await import('./benchmarks/throughput.mjs')).benchThroughput,
      detect: async () => (await import('./benchmarks/detect.mjs')).benchDetect,
      recovery: async () => (await import('./benchmarks/recovery.mjs')).benchRecovery,
      cleanup: async () => (await import('./benchmarks/cleanup.mjs')).benchCleanup,
      testcontainers: async () => (await import('./benchmarks/testcontainers.mjs')).benchTestcontainers,
      labelquery: async () => (await import('./benchmarks/labelquery.mjs')).benchLabelQuery,
      footprint: async () => (await import('./benchmarks/footprint.mjs')).benchFootprint,
    };
    for (const name of args.only) {
      const t = wallNow();
      const fn = await modules[name]();
      let out;
      // The daemon is shared: another user's `keelhaul clean` or test suite can remove a
      // bench container mid-sample. Such a benchmark is run again once, and says so.
      try {
        out = await fn(ctx);
      } catch (error) {
        ctx.log(`${name}: failed (${error?.message ?? error}); removing its leftovers and running it once more`);
        await sweep(kh, raw, removeRunResources, benchId, runIds);
        out = await fn(ctx);
        for (const r of Array.isArray(out) ? out : [out]) r.rerunAfterError = String(error?.message ?? error);
      }
      for (const r of Array.isArray(out) ? out : [out]) benchmarks.push(r);
      ctx.log(`${name}: done in ${((wallNow() - t) / 1000).toFixed(1)} s`);
    }
  } catch (error) {
    failure = error;
    console.error(`benchmark failed: ${error?.stack ?? error}`);
  } finally {
    await finish();
  }

  const leaks = await findLeaks(kh, raw, benchId, runIds);
  const results = {
    schemaVersion: 1,
    date,
    mode: args.quick ? 'quick' : 'full',
    benchId,
    startedAt: now.toISOString(),
    durationMs: Math.round(wallNow() - startedAt),
    environment: { ...(await environment(rawVersion)), loadAtStart, loadAtEnd: await load(raw, benchId) },
    benchmarks,
    leaks,
    ...(failure ? { error: String(failure?.message ?? failure) } : {}),
  };
  const markdown = renderMarkdown(results);
  console.log(markdown);
  if (args.write) {
    await mkdir(args.out, { recursive: true });
    const base = join(args.out, args.quick ? `${date}-quick` : date);
    await writeFile(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
    await writeFile(`${base}.md`, markdown);
    ctx.log(`wrote ${base}.json and ${base}.md`);
  }
  if (!leaks.ok) {
    console.error(`LEAK: label queries still find ${JSON.stringify(leaks)}`);
    process.exitCode = 1;
  }
  if (failure) process.exitCode = 1;
}

await main();
