import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isControllerAlive, readRunState, runDirOf, type RunState } from '../controller/index.js';
import { connectDocker, Label, type DockerClient } from '../docker/index.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './render.js';

/** Flags of `keelhaul status`. */
export interface StatusOptions {
  readonly run?: string;
  readonly runsDir?: string;
}

function controllerState(state: RunState): string {
  if (state.status !== 'running') return state.status;
  return isControllerAlive(state.controller) ? `running (controller pid ${state.controller.pid})` : `interrupted (controller pid ${state.controller.pid} is gone: \`keelhaul resume ${state.runId}\`)`;
}

async function liveContainers(docker: DockerClient | undefined, runId: string): Promise<string> {
  if (!docker) return 'unknown (no daemon)';
  const containers = await docker.listContainers({ labels: { [Label.run]: runId }, all: true });
  const running = containers.filter((c) => c.state === 'running').length;
  return `${containers.length} container(s) on the daemon, ${running} running`;
}

/**
 * `keelhaul status [<run-id>]`: without an id, one line per run under the runs directory;
 * with one, its tasks by state, its attempts, and its containers found by label query.
 */
export async function statusCommand(options: StatusOptions, io: CliIo): Promise<ExitCode> {
  const runsDir = resolve(options.runsDir ?? join('.keelhaul', 'runs'));
  const docker = await connectDocker().catch(() => undefined);
  if (!options.run) {
    const ids = (await readdir(runsDir).catch(() => [] as string[])).sort();
    if (ids.length === 0) io.out(`no runs in ${runsDir}`);
    for (const id of ids) {
      const state = await readRunState(join(runsDir, id, 'state.json')).catch(() => undefined);
      if (!state) continue;
      const tasks = Object.values(state.tasks);
      const done = tasks.filter((t) => t.status === 'completed').length;
      io.out(`${id}  ${state.scenario.name.padEnd(16)} ${String(done).padStart(3)}/${tasks.length} completed  ${controllerState(state)}`);
    }
    return ExitCode.ok;
  }
  const runDir = runDirOf(options.run, runsDir, '<run>');
  const state = await readRunState(join(runDir, 'state.json'));
  // The run's own daemon (a private one has its own socket).
  const runDocker = state.daemonHost ? await connectDocker({ host: state.daemonHost }).catch(() => undefined) : docker;
  io.out(`run ${state.runId}: scenario ${state.scenario.name}, seed ${state.seed}, ${controllerState(state)}`);
  const byStatus = new Map<string, string[]>();
  for (const [id, task] of Object.entries(state.tasks)) byStatus.set(task.status, [...(byStatus.get(task.status) ?? []), id]);
  for (const [status, ids] of byStatus) io.out(`  ${status.padEnd(10)} ${ids.length}: ${ids.slice(0, 20).join(', ')}${ids.length > 20 ? ', …' : ''}`);
  io.out('attempts:');
  for (const [id, task] of Object.entries(state.tasks)) {
    for (const a of task.attempts) {
      io.out(`  ${id}#${a.attempt} ${(a.outcome ?? a.status).padEnd(10)} ${a.containerId.slice(0, 12) || '-'} ${a.exitCode !== null ? `exit ${a.exitCode}` : ''}${a.reason ? ` (${a.reason})` : ''}`);
    }
  }
  io.out(`resources: ${await liveContainers(runDocker, state.runId)}`);
  return ExitCode.ok;
}
