import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { assertSafeName, isControllerAlive, readRunState, removeRunResources } from '../controller/index.js';
import { ANY_VALUE, connectDocker, Label } from '../docker/index.js';
import { UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './render.js';

/** Flags of `keelhaul clean`. */
export interface CleanOptions {
  readonly runId?: string;
  /** Runs whose controller (pid + start time) no longer matches a live process. */
  readonly stale?: boolean;
  /** Every keelhaul run on the daemon, live or not. */
  readonly all?: boolean;
  readonly runsDir?: string;
  /** `--json`: one object on stdout, `{ kept: [{ run, pid }], runs: [{ run, containers, networks, volumes, errors }] }`, and nothing else there. */
  readonly json?: boolean;
}

/**
 * `keelhaul clean --run <id> | --stale | --all`: removes runs' containers, networks and
 * volumes by their run label. `--stale` never touches a run whose controller is alive,
 * judged from the resources' controller labels and from the run's state.json (a resumed
 * run's newest controller is only recorded there).
 */
export async function cleanCommand(options: CleanOptions, io: CliIo): Promise<ExitCode> {
  const modes = [options.runId !== undefined, options.stale === true, options.all === true].filter(Boolean).length;
  if (modes !== 1) throw new UsageError('--run', 'Say which runs to clean: --run <run-id>, --stale or --all (exactly one).');
  // A run id is a label value here, never a path, and checked before the daemon is asked.
  if (options.runId !== undefined) assertSafeName(options.runId, '--run');
  const docker = await connectDocker();
  let runIds: string[];
  const kept: { run: string; pid: number }[] = [];
  const cleaned: { run: string; containers: number; networks: number; volumes: number; errors: readonly string[] }[] = [];
  if (options.runId) {
    runIds = [options.runId];
  } else {
    const any = { [Label.run]: ANY_VALUE };
    const resources = [
      ...(await docker.listContainers({ labels: any, all: true })),
      ...(await docker.listNetworks({ labels: any })),
      ...(await docker.listVolumes({ labels: any })),
    ];
    const runs = new Map<string, { pid: number; start: number }[]>();
    for (const r of resources) {
      const run = r.labels[Label.run];
      if (!run) continue;
      const list = runs.get(run) ?? [];
      list.push({ pid: Number(r.labels[Label.controllerPid] ?? 0), start: Number(r.labels[Label.controllerStart] ?? 0) });
      runs.set(run, list);
    }
    runIds = [];
    const runsDir = resolve(options.runsDir ?? join('.keelhaul', 'runs'));
    for (const [run, controllers] of runs) {
      if (options.all) {
        runIds.push(run);
        continue;
      }
      const fromLabels = controllers.find((c) => c.pid > 0 && isControllerAlive({ ...c, hostname: hostname() }));
      const state = await readRunState(join(runsDir, run, 'state.json')).catch(() => undefined);
      const fromState = state && state.status === 'running' && isControllerAlive(state.controller) ? state.controller : undefined;
      const live = fromState ?? fromLabels;
      if (live) {
        kept.push({ run, pid: live.pid });
        if (!options.json) io.out(`keeping run ${run}: its controller (pid ${live.pid}) is alive`);
      } else {
        runIds.push(run);
      }
    }
  }
  let failed = false;
  for (const runId of runIds) {
    const result = await removeRunResources(docker, runId);
    cleaned.push({ run: runId, containers: result.containers, networks: result.networks, volumes: result.volumes, errors: result.errors });
    failed ||= result.errors.length > 0;
    if (options.json) continue;
    io.out(`run ${runId}: removed ${result.containers} container(s), ${result.networks} network(s), ${result.volumes} volume(s)`);
    for (const e of result.errors) io.err(`  could not remove ${e}`);
  }
  if (options.json) io.out(JSON.stringify({ kept, runs: cleaned }));
  else if (runIds.length === 0) io.out('nothing to clean');
  return failed ? ExitCode.failed : ExitCode.ok;
}
