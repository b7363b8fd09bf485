/**
 * What a run sets up before its first attempt, besides the backend itself: the reaper that
 * outlives the controller, and the guard of an internal network.
 */
import { guardInternalNetwork } from '../backends/internal-network-guard.js';
import { Label, type DockerClient } from '../docker/index.js';
import type { RunEventInput } from './events.js';
import { isReaperOf, startReaper } from './reaper.js';
import type { StateStore } from './state.js';

/** What {@link ensureReaper} needs. */
export interface ReaperSetup {
  readonly runDir: string;
  readonly store: StateStore;
  /** The scenario's `reaper.ttlMs`: how long the controller may be dead before the reaper removes the run, ms. */
  readonly ttlMs: number;
  readonly emit: (event: RunEventInput) => void;
  /** @default the detached `keelhaul reaper` process (reaper.ts) */
  readonly start?: (runDir: string, ttlMs: number) => Promise<{ pid: number }>;
  /** @default whether the pid is a live reaper of this run directory (reaper.ts) */
  readonly isReaper?: (pid: number, runDir: string) => boolean;
}

/**
 * Makes sure a reaper watches the run: a dead controller's reaper that is still alive is
 * kept (it reads the new controller from state.json); otherwise a new one is started and
 * recorded in state.json. A reaper that cannot start is reported (`reaper.unavailable`),
 * not fatal.
 * @throws the state write's error (ENOSPC, EACCES…)
 */
export async function ensureReaper(setup: ReaperSetup): Promise<void> {
  const { runDir, store, ttlMs, emit } = setup;
  const state = store.state;
  if (state.reaper && (setup.isReaper ?? isReaperOf)(state.reaper.pid, runDir)) {
    emit({ type: 'reaper.started', pid: state.reaper.pid, ttlMs: state.reaper.ttlMs });
    return;
  }
  const reaper = await (setup.start ?? startReaper)(runDir, ttlMs).catch((error: unknown) => {
    emit({ type: 'reaper.unavailable', reason: error instanceof Error ? error.message : String(error) });
    return undefined;
  });
  if (!reaper) return;
  await store.update((s) => {
    s.reaper = { pid: reaper.pid, ttlMs };
  });
  emit({ type: 'reaper.started', pid: reaper.pid, ttlMs });
}

/**
 * Closes an internal network's way to the host (host iptables rules, docs/security.md) once
 * the backend created or reused it; a network without the run's label is not touched.
 * @returns whether the rules were put on the host (cleanup then looks for leftovers)
 * @throws the daemon's error when the networks cannot be listed
 */
export async function guardRunNetwork(
  docker: Pick<DockerClient, 'listNetworks' | 'endpoint'>,
  runId: string,
  name: string,
  emit: (event: RunEventInput) => void,
  guard: typeof guardInternalNetwork = guardInternalNetwork,
): Promise<boolean> {
  const network = (await docker.listNetworks({ labels: { [Label.run]: runId } })).find((n) => n.name === name);
  const result = network
    ? await guard(runId, network.id, { daemonIsLocal: docker.endpoint.startsWith('/') })
    : { applied: false, bridge: '', reason: `network ${name} does not carry the run's label` };
  emit({ type: 'network.guarded', network: name, bridge: result.bridge, applied: result.applied, ...(result.reason ? { reason: result.reason } : {}) });
  return result.applied;
}
