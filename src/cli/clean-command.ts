import { removeRunResources } from '../controller/index.js';
import { ANY_VALUE, connectDocker, Label } from '../docker/index.js';
import { UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './render.js';

/** Flags of `keelhaul clean`. */
export interface CleanOptions {
  readonly runId?: string;
  readonly all?: boolean;
}

/** Whether a pid is alive on this host (signal 0 tests existence; EPERM means alive but not ours). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `keelhaul clean <run-id>` removes every container, network and volume of that run;
 * `keelhaul clean --all` does so for every run whose controller process is gone from
 * this host (a run whose controller still lives is left alone and named).
 */
export async function cleanCommand(options: CleanOptions, io: CliIo): Promise<ExitCode> {
  if (!options.runId === !options.all) {
    throw new UsageError('<run-id>', 'Name a run id or pass --all (not both).');
  }
  const docker = await connectDocker();
  let runIds: string[];
  if (options.runId) {
    runIds = [options.runId];
  } else {
    const containers = await docker.listContainers({ labels: { [Label.run]: ANY_VALUE }, all: true });
    const networks = await docker.listNetworks({ labels: { [Label.run]: ANY_VALUE } });
    const volumes = await docker.listVolumes({ labels: { [Label.run]: ANY_VALUE } });
    const owners = new Map<string, number>();
    for (const r of [...containers, ...networks, ...volumes]) {
      const run = r.labels[Label.run];
      if (run) owners.set(run, Number(r.labels[Label.controllerPid] ?? 0));
    }
    runIds = [];
    for (const [run, pid] of owners) {
      if (pid > 0 && pid !== process.pid && isAlive(pid)) io.out(`skipping run ${run}: its controller (pid ${pid}) is still running`);
      else runIds.push(run);
    }
  }
  let failed = false;
  for (const runId of runIds) {
    const result = await removeRunResources(docker, runId);
    io.out(`run ${runId}: removed ${result.containers} container(s), ${result.networks} network(s), ${result.volumes} volume(s)`);
    for (const e of result.errors) io.err(`  could not remove ${e}`);
    failed ||= result.errors.length > 0;
  }
  if (runIds.length === 0) io.out('nothing to clean');
  return failed ? ExitCode.failed : ExitCode.ok;
}
