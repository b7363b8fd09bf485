import PQueue from 'p-queue';
import { Label, type DockerClient, ResourceNotFoundError } from '../docker/index.js';
import { removeRunHostRules } from '../backends/internal-network-guard.js';

/** What a cleanup removed, and what it could not. */
export interface CleanupResult {
  readonly containers: number;
  readonly networks: number;
  readonly volumes: number;
  /** One message per resource that could not be removed. */
  readonly errors: readonly string[];
}

/** Resources left with a run's label: the leak query every check of cleanup uses. */
export interface LeakReport {
  readonly containers: readonly string[];
  readonly networks: readonly string[];
  readonly volumes: readonly string[];
}

/**
 * Removes every container, network and volume carrying `dev.keelhaul.run=<runId>`, in
 * that order (a volume or network in use cannot be removed), and with the networks the
 * host iptables rules carrying the run's mark (an internal network's guard; root and a
 * local daemon only, never an error). Containers are force-removed
 * (SIGKILL, then removal), at most 8 at a time: the daemon's throughput is flat beyond
 * that on 2 cores (issue 7's measurements). A resource already gone counts as removed.
 *
 * @throws {DaemonUnavailableError} when the daemon cannot be listed at all
 */
export async function removeRunResources(docker: DockerClient, runId: string): Promise<CleanupResult> {
  return removeLabelledResources(docker, { [Label.run]: runId }, async (networks) => {
    // An internal network's guard (host iptables rules with the run's mark) goes with it.
    if (networks > 0 && docker.endpoint?.startsWith('/')) await removeRunHostRules(runId);
  });
}

/**
 * Removes every container, network and volume carrying all of `labels` (value `*`: any),
 * as {@link removeRunResources} does for a run's label; a system under test's leftovers
 * (its selector) go the same way. `afterNetworks` runs once the networks are removed.
 *
 * @throws {DaemonUnavailableError} when the daemon cannot be listed at all
 */
export async function removeLabelledResources(docker: DockerClient, labels: Record<string, string>, afterNetworks?: (removed: number) => Promise<void>): Promise<CleanupResult> {
  const errors: string[] = [];
  const queue = new PQueue({ concurrency: 8 });
  const removeAll = async (ids: readonly string[], remove: (id: string) => Promise<void>, what: string): Promise<number> => {
    let removed = 0;
    await queue.addAll(
      ids.map((id) => async () => {
        try {
          await remove(id);
          removed += 1;
        } catch (error) {
          if (error instanceof ResourceNotFoundError) removed += 1;
          else errors.push(`${what} ${id}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }),
    );
    return removed;
  };

  const containers = await docker.listContainers({ labels, all: true });
  const containerCount = await removeAll(
    containers.map((c) => c.id),
    (id) => docker.removeContainer(id, { force: true }),
    'container',
  );
  const networks = await docker.listNetworks({ labels });
  const networkCount = await removeAll(
    networks.map((n) => n.id),
    (id) => docker.removeNetwork(id),
    'network',
  );
  await afterNetworks?.(networks.length);
  const volumes = await docker.listVolumes({ labels });
  const volumeCount = await removeAll(
    volumes.map((v) => v.name),
    (name) => docker.removeVolume(name, { force: true }),
    'volume',
  );
  return { containers: containerCount, networks: networkCount, volumes: volumeCount, errors };
}

/** Lists what still carries the run's label (names, or ids for containers). */
export async function findRunResources(docker: DockerClient, runId: string): Promise<LeakReport> {
  const labels = { [Label.run]: runId };
  const [containers, networks, volumes] = await Promise.all([docker.listContainers({ labels, all: true }), docker.listNetworks({ labels }), docker.listVolumes({ labels })]);
  return {
    containers: containers.map((c) => c.names[0]?.replace(/^\//, '') ?? c.id),
    networks: networks.map((n) => n.name),
    volumes: volumes.map((v) => v.name),
  };
}
