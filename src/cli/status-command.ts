import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { daemonConnectOptions, isControllerAlive, readRunState, runDirOf, type RunState } from '../controller/index.js';
import { connectDocker, Label, type DockerClient } from '../docker/index.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './render.js';

/** Flags of `keelhaul status`. */
export interface StatusOptions {
  readonly run?: string;
  readonly runsDir?: string;
  /**
   * `--json`: one object on stdout. Without a run: `{ runs: [{ run, scenario, tasks, completed,
   * status, controllerAlive }] }`; with one: `{ run, scenario, seed, status, controllerAlive,
   * tasks: { <id>: { status, attempts: [{ attempt, status, outcome, containerId, exitCode, reason }] } },
   * containers: { total, running } | null }` (null: no daemon answered).
   */
  readonly json?: boolean;
}

function controllerState(state: RunState): string {
  if (state.status !== 'running') return state.status;
  return isControllerAlive(state.controller)
    ? `running (controller pid ${state.controller.pid})`
    : `interrupted (controller pid ${state.controller.pid} is gone: \`keelhaul resume ${state.runId}\`)`;
}

async function liveContainers(docker: DockerClient | undefined, runId: string): Promise<{ total: number; running: number } | null> {
  if (!docker) return null;
  const containers = await docker.listContainers({ labels: { [Label.run]: runId }, all: true });
  return { total: containers.length, running: containers.filter((c) => c.state === 'running').length };
}

/** `finished`, `reaped`, … as state.json says; `running` only while its controller is alive, else `interrupted`. */
function statusWord(state: RunState): string {
  if (state.status !== 'running') return state.status;
  return isControllerAlive(state.controller) ? 'running' : 'interrupted';
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
    const runs: { run: string; scenario: string; tasks: number; completed: number; status: string; controllerAlive: boolean }[] = [];
    if (ids.length === 0 && !options.json) io.out(`no runs in ${runsDir}`);
    for (const id of ids) {
      const state = await readRunState(join(runsDir, id, 'state.json')).catch(() => undefined);
      if (!state) continue;
      const tasks = Object.values(state.tasks);
      const done = tasks.filter((t) => t.status === 'completed').length;
      runs.push({ run: id, scenario: state.scenario.name, tasks: tasks.length, completed: done, status: statusWord(state), controllerAlive: isControllerAlive(state.controller) });
      if (!options.json) io.out(`${id}  ${state.scenario.name.padEnd(16)} ${String(done).padStart(3)}/${tasks.length} completed  ${controllerState(state)}`);
    }
    if (options.json) io.out(JSON.stringify({ runs }));
    return ExitCode.ok;
  }
  const runDir = runDirOf(options.run, runsDir, '<run>');
  const state = await readRunState(join(runDir, 'state.json'));
  // The run's own daemon (a private one has its own socket).
  const runDocker = state.daemonHost ? await connectDocker(daemonConnectOptions(state)).catch(() => undefined) : docker;
  const containers = await liveContainers(runDocker, state.runId);
  if (options.json) {
    const tasks = Object.fromEntries(
      Object.entries(state.tasks).map(([id, task]) => [
        id,
        {
          status: task.status,
          attempts: task.attempts.map((a) => ({
            attempt: a.attempt,
            status: a.status,
            outcome: a.outcome ?? null,
            containerId: a.containerId,
            exitCode: a.exitCode,
            reason: a.reason ?? null,
          })),
        },
      ]),
    );
    io.out(
      JSON.stringify({
        run: state.runId,
        scenario: state.scenario.name,
        seed: state.seed,
        status: statusWord(state),
        controllerAlive: isControllerAlive(state.controller),
        tasks,
        containers,
      }),
    );
    return ExitCode.ok;
  }
  io.out(`run ${state.runId}: scenario ${state.scenario.name}, seed ${state.seed}, ${controllerState(state)}`);
  const byStatus = new Map<string, string[]>();
  for (const [id, task] of Object.entries(state.tasks)) byStatus.set(task.status, [...(byStatus.get(task.status) ?? []), id]);
  for (const [status, ids] of byStatus) io.out(`  ${status.padEnd(10)} ${ids.length}: ${ids.slice(0, 20).join(', ')}${ids.length > 20 ? ', …' : ''}`);
  io.out('attempts:');
  for (const [id, task] of Object.entries(state.tasks)) {
    for (const a of task.attempts) {
      io.out(
        `  ${id}#${a.attempt} ${(a.outcome ?? a.status).padEnd(10)} ${a.containerId.slice(0, 12) || '-'} ${a.exitCode !== null ? `exit ${a.exitCode}` : ''}${a.reason ? ` (${a.reason})` : ''}`,
      );
    }
  }
  io.out(`resources: ${containers ? `${containers.total} container(s) on the daemon, ${containers.running} running` : 'unknown (no daemon)'}`);
  return ExitCode.ok;
}
