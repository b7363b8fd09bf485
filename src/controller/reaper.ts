import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { removePrivateDaemonRoot } from '../daemon/index.js';
import { appendRunEvent } from '../events/index.js';
import { connectDocker, type DockerClient } from '../docker/index.js';
import { packageRoot } from '../version.js';
import { removeLabelledResources, removeRunResources } from './cleanup.js';
import { isControllerAlive } from './liveness.js';
import { daemonConnectOptions, readRunState, StateStore, type RunState } from './state.js';
import { killOrphanedSut, sutSelectorOf } from './sut-resolve.js';

/**
 * The reaper: one detached process per run (never shared between runs, never adopting
 * another run's or another tool's reaper — the trap testcontainers-node #1442 fell into),
 * watching that run's controller. When the controller recorded in state.json has been
 * dead for the TTL and nobody resumed the run, it removes every resource with the run's
 * label and marks the run `reaped`. A resume replaces the controller in state.json, so a
 * resumed run is live again and is not reaped. No registry and no helper image are
 * needed: it is the keelhaul CLI itself, started with `reaper <run-dir>`.
 */

/** The compiled CLI the reaper runs as. */
function cliPath(): string {
  return join(packageRoot, 'dist', 'src', 'cli', 'main.js');
}

/**
 * Starts the run's reaper, detached (own session, stdio to `reaper.log`), so it outlives a
 * SIGKILL of the controller and of its process group.
 *
 * @throws {Error} when the compiled CLI is missing (`npm run build`)
 */
export async function startReaper(runDir: string, ttlMs: number): Promise<{ pid: number }> {
  const cli = cliPath();
  if (!existsSync(cli)) throw new Error(`the reaper runs the compiled CLI and ${cli} is missing: run \`npm run build\``);
  const logFd = openSync(join(runDir, 'reaper.log'), 'a');
  try {
    const child = spawn(process.execPath, [cli, 'reaper', runDir, '--ttl', String(ttlMs)], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: process.env,
    });
    const pid = child.pid;
    if (pid === undefined) {
      await new Promise((resolve) => child.once('error', resolve));
      throw new Error('the reaper process could not be started');
    }
    child.unref();
    return { pid };
  } finally {
    closeSync(logFd);
  }
}

/** Whether `pid` is the reaper of `runDir` (a pid may have been reused by anything else). */
export function isReaperOf(pid: number, runDir: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('reaper') && argv.includes(runDir);
  } catch {
    return false;
  }
}

/** Stops a run's reaper once the run finished (it would exit by itself within a poll). Only signals a pid that is still a keelhaul reaper. */
export function stopReaper(pid: number, runDir: string): void {
  try {
    if (!isReaperOf(pid, runDir)) return;
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

/** Options of {@link runReaper}. */
export interface ReaperOptions {
  readonly runDir: string;
  /** How long the controller must have been dead before the run is reaped, ms. */
  readonly ttlMs: number;
  /** How often the controller is checked, ms. @default 1000 */
  readonly pollMs?: number;
  /** The reaper gives up (exit) after this long whatever happens, ms. @default 24 h */
  readonly maxLifetimeMs?: number;
  /**
   * Failed reaps (the daemon does not answer) before the reaper gives up with a final line
   * in reaper.log; between tries it waits `pollMs` × 2^tries, at most `maxRetryDelayMs`.
   * A run on its own private daemon never waits: the daemon is removed whole.
   * @default 20 (about 15 minutes with the defaults)
   */
  readonly maxFailures?: number;
  /** @default 60_000 ms */
  readonly maxRetryDelayMs?: number;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** @default connectDocker() */
  readonly connect?: () => Promise<DockerClient>;
}

/**
 * The reaper's loop. Returns `reaped` after removing the run's resources (or, when the
 * run's private daemon does not answer, the daemon whole), `finished` when the run ended
 * normally, `gave-up` past `maxLifetimeMs` or after `maxFailures` failed reaps.
 */
export async function runReaper(options: ReaperOptions): Promise<'reaped' | 'finished' | 'gave-up'> {
  const { runDir, ttlMs } = options;
  const pollMs = options.pollMs ?? 1000;
  const maxFailures = options.maxFailures ?? 20;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000;
  let failures = 0;
  let nextTryAt = 0;
  const log = options.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} reaper: ${line}\n`));
  // The run's own daemon (a private one, or whichever DOCKER_HOST named when it started).
  const connect = (state: RunState): Promise<DockerClient> => (options.connect ?? (() => connectDocker(daemonConnectOptions(state))))();
  const statePath = join(runDir, 'state.json');
  const started = Date.now();
  let deadSince: number | undefined;
  let deadPid: number | undefined;
  log(`watching ${runDir} (ttl ${ttlMs} ms)`);
  // The last state read: if the run directory disappears (deleted by a test's cleanup, a
  // user), the reaper goes on from what it knew rather than watching nothing forever.
  let known: RunState | undefined;
  let unreadable = 0;
  while (Date.now() - started < (options.maxLifetimeMs ?? 86_400_000)) {
    if (options.signal?.aborted) return 'finished';
    try {
      known = await readRunState(statePath);
      unreadable = 0;
    } catch (error) {
      unreadable += 1;
      if (unreadable === 1) log(`cannot read state: ${(error as Error).message}`);
      if (!known && unreadable >= 30) {
        log('no state to watch; exiting');
        return 'gave-up';
      }
    }
    const state = known;
    if (!state) {
      await sleep(pollMs);
      continue;
    }
    if (state.status !== 'running') {
      log(`run is ${state.status}; exiting`);
      return 'finished';
    }
    if (isControllerAlive(state.controller)) {
      deadSince = undefined;
    } else {
      if (deadSince === undefined || deadPid !== state.controller.pid) {
        deadSince = Date.now();
        deadPid = state.controller.pid;
        log(`controller pid ${state.controller.pid} is gone; reaping in ${ttlMs} ms unless the run is resumed`);
        // A system under test runs in its own process group and would outlive its controller;
        // its run cannot be resumed, so it goes at once (docs/sut.md).
        if (killOrphanedSut(state)) log(`killed the system under test's process group ${state.sut?.pid ?? ''}`);
      }
      if (Date.now() - deadSince >= ttlMs && Date.now() >= nextTryAt) {
        try {
          const docker = await connect(state);
          const selector = sutSelectorOf(state, runDir);
          const theirs = selector ? await removeLabelledResources(docker, selector) : undefined;
          if (theirs) log(`removed what the system under test left: ${theirs.containers} container(s), ${theirs.networks} network(s), ${theirs.volumes} volume(s)`);
          const result = await removeRunResources(docker, state.runId);
          if (state.privateDaemonRoot) {
            // The dead controller's private daemon outlives it; nothing else would stop it.
            await removePrivateDaemonRoot(state.privateDaemonRoot).catch((error: unknown) =>
              log(`could not remove the private daemon at ${state.privateDaemonRoot}: ${(error as Error).message}`),
            );
          }
          log(
            `reaped: ${result.containers} container(s), ${result.networks} network(s), ${result.volumes} volume(s)${result.errors.length ? `; errors: ${result.errors.join('; ')}` : ''}`,
          );
          await recordReaped(runDir, state, result).catch((error: unknown) => log(`could not record the reap: ${(error as Error).message}`));
          return 'reaped';
        } catch (error) {
          failures += 1;
          const reason = (error as Error).message;
          if (state.privateDaemonRoot) {
            // The run's own daemon does not answer (killed with its controller, or down): nothing
            // else would ever bring it back, so it goes whole — its containers, volumes, bridge,
            // rules and mounts with it (issue 17: this used to be retried once a second, forever).
            const root = state.privateDaemonRoot;
            try {
              await removePrivateDaemonRoot(root);
              log(`reaped: the run's private daemon did not answer (${reason}); removed it whole with everything on it (${root})`);
              await recordReaped(runDir, state, { containers: 0, networks: 0, volumes: 0 }).catch((e: unknown) => log(`could not record the reap: ${(e as Error).message}`));
              return 'reaped';
            } catch (removal) {
              log(`could not remove the private daemon at ${root}: ${(removal as Error).message}`);
            }
          }
          if (failures >= maxFailures) {
            log(`giving up after ${failures} tries: ${reason}; once the daemon answers, \`keelhaul clean ${state.runId}\` removes what is left`);
            return 'gave-up';
          }
          // Backs off: a daemon that is down for long is not asked every second.
          const delay = Math.min(pollMs * 2 ** failures, maxRetryDelayMs);
          nextTryAt = Date.now() + delay;
          log(`reaping failed (try ${failures} of ${maxFailures}), next in ${delay} ms: ${reason}`);
        }
      }
    }
    await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : undefined).catch(() => undefined);
  }
  log("giving up: past the reaper's maximum lifetime");
  return 'gave-up';
}

/**
 * Marks the run reaped in state.json (unless a resume took it over meanwhile) and appends
 * `run.reaped` to events.jsonl with src/events/'s `appendRunEvent` (which ends a line the
 * dead controller left torn first, so the reaper's line stays readable).
 */
async function recordReaped(runDir: string, state: RunState, result: { containers: number; networks: number; volumes: number }): Promise<void> {
  const statePath = join(runDir, 'state.json');
  const store = new StateStore(statePath, await readRunState(statePath));
  if (store.state.controller.pid === state.controller.pid) {
    await store.update((s) => {
      s.status = 'reaped';
    });
  }
  await appendRunEvent(join(runDir, 'events.jsonl'), {
    ts: new Date().toISOString(),
    run: state.runId,
    type: 'run.reaped',
    containers: result.containers,
    networks: result.networks,
    volumes: result.volumes,
    deadControllerPid: state.controller.pid,
  });
}
