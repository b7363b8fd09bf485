/**
 * Teardown: what the run's end removes and what it finds left behind, before the checks
 * judge it. Cleanup by the run's label, the naming of containers a half-failed launch left,
 * and the search for shaping rules netem faults left.
 */
import type { FaultRecord } from '../chaos/index.js';
import { Label, type DockerClient } from '../docker/index.js';
import { findRunResources, removeRunResources, type CleanupResult, type LeakReport } from './cleanup.js';
import type { RunEventInput } from './events.js';
import { findRulesInContainers, findRulesOnHost } from './rule-leaks.js';
import type { TaskRecord } from './state.js';

/** A worker container as the label query returns it: its id and labels. */
export interface WorkerContainer {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * A launch the daemon failed part-way (created, then the daemon went away before the start
 * or attach) left a container state.json could not name: its attempt is `lost` with no id.
 * Names each such attempt by the container's task and attempt labels (writing `containerId`
 * into its record), so that cleanup and the report know it.
 *
 * @returns the other worker containers' ids: those state.json is expected to know (state-matches-daemon)
 */
export function nameOrphanAttempts(workers: readonly WorkerContainer[], tasks: Readonly<Record<string, TaskRecord>>): string[] {
  const orphans = new Set<string>();
  for (const c of workers) {
    const record = tasks[c.labels[Label.task] ?? '']?.attempts.find((a) => a.attempt === Number(c.labels[Label.attempt]));
    if (record && !record.containerId && record.outcome === 'lost') {
      record.containerId = c.id;
      orphans.add(c.id);
    }
  }
  return workers.filter((c) => !orphans.has(c.id)).map((c) => c.id);
}

/**
 * Shaping rules netem faults left inside their targets still running, looked for once the
 * injector stopped (it undoes them) and before cleanup takes the namespaces away.
 *
 * @returns the rules found, or `undefined` when none could be checked (not root, no target running)
 */
export async function netemRulesLeft(docker: Pick<DockerClient, 'inspectContainer'>, runId: string, records: readonly FaultRecord[]): Promise<string[] | undefined> {
  const ids = [...new Set(records.filter((r) => r.kind === 'netem').flatMap((r) => r.targets.map((t) => t.containerId)))];
  const running: { containerId: string; pid: number }[] = [];
  for (const id of ids) {
    const info = await docker.inspectContainer(id).catch(() => undefined);
    if (info?.state.running && info.state.pid > 0) running.push({ containerId: id, pid: info.state.pid });
  }
  const found = await findRulesInContainers(runId, running);
  return found.checked ? found.rules : undefined;
}

/** What {@link cleanUpByLabel} works with. */
export interface LabelCleanupInput {
  readonly docker: DockerClient;
  readonly runId: string;
  /** state.json's tasks: orphaned attempts are named in them. */
  readonly tasks: Readonly<Record<string, TaskRecord>>;
  /** The run gave up on its daemon: no label query for the workers (it would not answer). */
  readonly daemonGone: boolean;
  /** Removals behind still in flight; awaited (settled) first. */
  readonly removals: Iterable<Promise<void>>;
  /** What removal behind already removed, reported with `cleanup.finished`. */
  readonly removedBehind: { readonly containers: number; readonly volumes: number };
  /** Rules netem left inside containers ({@link netemRulesLeft}), when checked. */
  readonly rulesInContainers: readonly string[] | undefined;
  /** Whether the internal network's guard rules were put on the host. */
  readonly guardedNetwork: boolean;
  readonly emit: (event: RunEventInput) => void;
}

/** What a cleanup by label removed and found; fields stay unset when it failed before them. */
export interface LabelCleanup {
  cleanup: CleanupResult | null;
  leaks: LeakReport;
  /** Worker containers on the daemon before cleanup, orphans aside; unset when the daemon was gone. */
  workersOnDaemon: string[] | undefined;
  /** Shaping and guard rules left; unset when none were looked for. */
  injectedRules: string[] | undefined;
  /** Why the cleanup failed part-way: the leaks are then unknown. */
  error: string | undefined;
}

/**
 * Removes every container, network and volume with the run's label (after the removals
 * behind settle), emits `cleanup.finished`, then queries what is left (leaks) and, when
 * faults or the network guard put rules on the host, the rules left. Never throws: a daemon
 * that cannot be queried makes `error` set and the leaks unknown.
 */
export async function cleanUpByLabel(input: LabelCleanupInput): Promise<LabelCleanup> {
  const { docker, runId } = input;
  const out: LabelCleanup = { cleanup: null, leaks: { containers: [], networks: [], volumes: [] }, workersOnDaemon: undefined, injectedRules: undefined, error: undefined };
  try {
    await Promise.allSettled([...input.removals]);
    if (!input.daemonGone) {
      const workers = await docker.listContainers({ labels: { [Label.run]: runId, [Label.role]: 'worker' }, all: true });
      out.workersOnDaemon = nameOrphanAttempts(workers, input.tasks);
    }
    const cleanup = await removeRunResources(docker, runId);
    out.cleanup = cleanup;
    input.emit({ type: 'cleanup.finished', ...cleanup, errors: [...cleanup.errors], removedBehind: { ...input.removedBehind } });
    out.leaks = await findRunResources(docker, runId);
    // removeRunResources took the guard's rules with the network; one left now is a leak.
    if (input.rulesInContainers || input.guardedNetwork) {
      const onHost = await findRulesOnHost(runId);
      out.injectedRules = [...(input.rulesInContainers ?? []), ...onHost.rules];
    }
  } catch (error) {
    out.error = `cleanup failed: ${error instanceof Error ? error.message : String(error)}`;
    out.leaks = { containers: ['<unknown: the daemon could not be queried>'], networks: [], volumes: [] };
  }
  return out;
}
