import { expandImageVersion } from '../version.js';
import { Label, labelsFor, topologyResourceName, type ContainerSpec, type DockerClient, type MountSpec, type RunIdentity } from '../docker/index.js';
import type { ComposeTopology, TopologyService } from './load.js';

/** A service container launched for a run. */
export interface LaunchedService {
  readonly service: string;
  readonly containerId: string;
  readonly containerName: string;
  /** The image id (`sha256:…`) the container runs. */
  readonly imageId: string;
}

/** What {@link launchTopology} created (or found from an earlier controller of the same run). */
export interface LaunchedTopology {
  /** Compose network name → daemon network name. */
  readonly networks: Readonly<Record<string, string>>;
  readonly services: readonly LaunchedService[];
}

/** A topology service's image with `{version}` expanded. */
export function topologyImage(service: Pick<TopologyService, 'image'>, version: string): string {
  return expandImageVersion(service.image, version);
}

/** The labels of one service container: the service's own, then keelhaul's (run, role=service, scenario, version, controller, service). */
export function serviceLabels(run: RunIdentity, service: TopologyService): Record<string, string> {
  return { ...service.labels, ...labelsFor(run, 'service'), [Label.service]: service.name };
}

/** The container a service becomes (Engine API create body fields, src/docker/client.ts). */
export function serviceContainerSpec(run: RunIdentity, service: TopologyService, networks: Readonly<Record<string, string>>, version: string): ContainerSpec {
  const first = service.networks[0];
  const mounts: MountSpec[] = service.mounts.map((m) => (m.type === 'volume' ? { ...m, source: topologyResourceName(run.runId, m.source) } : m));
  return {
    name: topologyResourceName(run.runId, service.name),
    image: topologyImage(service, version),
    labels: serviceLabels(run, service),
    env: service.environment,
    ...(service.entrypoint ? { entrypoint: service.entrypoint } : {}),
    ...(service.command ? { cmd: service.command } : {}),
    ...(service.user !== undefined ? { user: service.user } : {}),
    networkMode: service.networkMode ?? (first ? (networks[first.name] ?? first.name) : 'none'),
    ...(first ? { networkAliases: first.aliases } : {}),
    mounts,
    readonlyRootfs: service.readOnly,
    capDrop: service.capDrop,
    securityOpt: [],
    ...(service.memoryBytes !== undefined ? { memoryBytes: service.memoryBytes } : {}),
    ...(service.privileged ? { privileged: true } : {}),
  };
}

/**
 * Creates a run's topology on the daemon: its networks and volumes, then each service's
 * container (dependencies first), attached to its further networks with its aliases, and
 * started. Every resource carries the run label, so the run's cleanup removes it with the
 * rest; resources an earlier controller of the same run created (resume) are reused by name.
 * A failure part-way leaves what exists to that same cleanup.
 *
 * @throws {ImageNotFoundError} when a service's image is absent (checked by the controller before anything is created)
 * @throws {DockerError} when the daemon refuses a resource
 */
export async function launchTopology(docker: DockerClient, topology: ComposeTopology, run: RunIdentity, version: string): Promise<LaunchedTopology> {
  const byRun = { [Label.run]: run.runId };
  const [existingNetworks, existingVolumes, existingContainers] = await Promise.all([
    docker.listNetworks({ labels: byRun }),
    docker.listVolumes({ labels: byRun }),
    docker.listContainers({ labels: { ...byRun, [Label.role]: 'service' }, all: true }),
  ]);
  const networks: Record<string, string> = {};
  for (const n of topology.networks) {
    const name = topologyResourceName(run.runId, n.name);
    networks[n.name] = name;
    if (existingNetworks.some((e) => e.name === name)) continue;
    await docker.createNetwork({ name, internal: n.internal, labels: { ...n.labels, ...labelsFor(run, 'network') } });
  }
  for (const v of topology.volumes) {
    const name = topologyResourceName(run.runId, v.name);
    if (existingVolumes.some((e) => e.name === name)) continue;
    await docker.createVolume({ name, labels: { ...v.labels, ...labelsFor(run, 'volume') }, ...(Object.keys(v.driverOpts).length ? { driverOpts: v.driverOpts } : {}) });
  }
  const services: LaunchedService[] = [];
  for (const service of topology.services) {
    const spec = serviceContainerSpec(run, service, networks, version);
    const found = existingContainers.find((c) => c.labels[Label.service] === service.name);
    let id = found?.id;
    if (!id) {
      id = await docker.createContainer(spec);
      for (const extra of service.networks.slice(1)) {
        await docker.connectNetwork(networks[extra.name] ?? extra.name, id, { aliases: extra.aliases });
      }
    }
    const info = await docker.inspectContainer(id);
    if (!info.state.running) await docker.startContainer(id);
    services.push({ service: service.name, containerId: id, containerName: spec.name, imageId: info.imageId });
  }
  return { networks, services };
}
