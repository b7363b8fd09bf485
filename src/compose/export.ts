import { stringify } from 'yaml';
import type { ComposeTopology, TopologyService } from './load.js';
import { topologyImage } from './launch.js';

/**
 * One attempt's container as `keelhaul repro --export compose` writes it: what the Docker
 * backend gave it (src/backends/docker-backend.ts), rebuilt from state.json.
 */
export interface AttemptContainerDescription {
  readonly runId: string;
  readonly task: string;
  readonly attempt: number;
  readonly seed: number;
  /** The image id (`sha256:…`) when recorded, else the reference the run used. */
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly user: string;
  /** `none`, `bridge`, `internal` (the run's per-run internal network), or a Compose network name (the topology's worker network). */
  readonly network: string;
  /** Workspace mount path in the container. */
  readonly workspacePath: string;
  /** Bytes; a tmpfs volume of this size when given. */
  readonly workspaceSizeBytes?: number;
  readonly memoryBytes: number;
  readonly pidsLimit: number;
  readonly cpus?: number;
  /** Bytes. */
  readonly tmpfsBytes: number;
  /** What the original attempt ended with and what hit it, for the reader (an `x-keelhaul` extension). */
  readonly original: Readonly<Record<string, unknown>>;
}

/** Compose interpolates `$`: a literal one is written `$$` (https://docs.docker.com/compose/compose-file/#interpolation). */
function escapeDollars(value: string): string {
  return value.replaceAll('$', () => '$$');
}

function escapeMap(map: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, escapeDollars(v)]));
}

/** A Compose service name for an attempt: `<task>-a<n>`, in the characters Compose allows. */
export function attemptServiceName(task: string, attempt: number): string {
  return `${task}-a${attempt}`.replace(/[^a-zA-Z0-9_.-]/g, '_');
}

function serviceToCompose(service: TopologyService, version: string): Record<string, unknown> {
  return {
    image: topologyImage(service, version),
    ...(service.entrypoint ? { entrypoint: service.entrypoint.map(escapeDollars) } : {}),
    ...(service.command ? { command: service.command.map(escapeDollars) } : {}),
    ...(Object.keys(service.environment).length ? { environment: escapeMap(service.environment) } : {}),
    ...(Object.keys(service.labels).length ? { labels: escapeMap(service.labels) } : {}),
    ...(service.networkMode ? { network_mode: service.networkMode } : {}),
    ...(service.networks.length ? { networks: Object.fromEntries(service.networks.map((n) => [n.name, n.aliases.length > 1 ? { aliases: n.aliases.slice(1) } : null])) } : {}),
    ...(service.mounts.some((m) => m.type !== 'tmpfs')
      ? { volumes: service.mounts.flatMap((m) => (m.type === 'tmpfs' ? [] : [`${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`])) }
      : {}),
    ...(service.mounts.some((m) => m.type === 'tmpfs')
      ? {
          tmpfs: service.mounts.flatMap((m) => {
            if (m.type !== 'tmpfs') return [];
            const options = [...(m.sizeBytes !== undefined ? [`size=${m.sizeBytes}`] : []), ...(m.mode !== undefined ? [`mode=${m.mode.toString(8)}`] : [])];
            return [`${m.target}${options.length ? `:${options.join(',')}` : ''}`];
          }),
        }
      : {}),
    ...(service.memoryBytes !== undefined ? { mem_limit: service.memoryBytes } : {}),
    ...(service.readOnly ? { read_only: true } : {}),
    ...(service.capDrop.length ? { cap_drop: service.capDrop } : {}),
    ...(service.user !== undefined ? { user: service.user } : {}),
    ...(service.dependsOn.length ? { depends_on: service.dependsOn } : {}),
    ...(service.privileged ? { privileged: true } : {}),
  };
}

/**
 * Writes one attempt (and the run's topology, if it had one) as a Compose file in the 2.4
 * format, which Debian's docker-compose 1.29 accepts (`docker-compose -f FILE config`) and
 * which holds every limit the attempt had: `mem_limit`, `memswap_limit`, `pids_limit`,
 * `cpus`, `read_only`, `cap_drop`, `security_opt`, `user`, `tmpfs`, the workspace volume (a
 * tmpfs volume with its size when the run had `workspace.size`). Faults have no Compose
 * form: the `x-keelhaul` extension records what hit the attempt, when, and how it ended;
 * `keelhaul repro` re-runs it with them.
 */
export function attemptToCompose(attempt: AttemptContainerDescription, topology: ComposeTopology | undefined, version: string): string {
  const name = attemptServiceName(attempt.task, attempt.attempt);
  const workspace = 'workspace';
  const worker: Record<string, unknown> = {
    image: attempt.image,
    environment: escapeMap(attempt.env),
    labels: escapeMap(attempt.labels),
    user: attempt.user,
    ...(attempt.network === 'none' || attempt.network === 'bridge' ? { network_mode: attempt.network } : { networks: [attempt.network] }),
    volumes: [`${workspace}:${attempt.workspacePath}`],
    tmpfs: [`/tmp:size=${attempt.tmpfsBytes},mode=1777`],
    read_only: true,
    cap_drop: ['ALL'],
    security_opt: ['no-new-privileges'],
    mem_limit: attempt.memoryBytes,
    memswap_limit: attempt.memoryBytes,
    pids_limit: attempt.pidsLimit,
    ...(attempt.cpus !== undefined ? { cpus: attempt.cpus } : {}),
    ...(topology?.services.length ? { depends_on: topology.services.map((s) => s.name) } : {}),
  };
  const services: Record<string, unknown> = {};
  for (const service of topology?.services ?? []) services[service.name] = serviceToCompose(service, version);
  services[name] = worker;
  const volumes: Record<string, unknown> = {
    [workspace]:
      attempt.workspaceSizeBytes !== undefined
        ? { driver: 'local', driver_opts: { type: 'tmpfs', device: 'tmpfs', o: `size=${attempt.workspaceSizeBytes},uid=1000,gid=1000,mode=0750` } }
        : null,
  };
  for (const v of topology?.volumes ?? []) {
    volumes[v.name] =
      Object.keys(v.driverOpts).length || Object.keys(v.labels).length
        ? { ...(Object.keys(v.driverOpts).length ? { driver_opts: v.driverOpts } : {}), ...(Object.keys(v.labels).length ? { labels: v.labels } : {}) }
        : null;
  }
  const networks: Record<string, unknown> | undefined = topology?.networks.length
    ? Object.fromEntries(topology.networks.map((n) => [n.name, { ...(n.internal ? { internal: true } : {}), ...(Object.keys(n.labels).length ? { labels: n.labels } : {}) }]))
    : attempt.network === 'internal'
      ? { internal: { internal: true } }
      : undefined;
  const doc = {
    version: '2.4',
    services,
    volumes,
    ...(networks ? { networks } : {}),
    'x-keelhaul': { run: attempt.runId, task: attempt.task, attempt: attempt.attempt, seed: attempt.seed, ...attempt.original },
  };
  const header = [
    `# keelhaul ${version}: attempt ${attempt.attempt} of task ${attempt.task} in run ${attempt.runId} (seed ${attempt.seed}), as a Compose file.`,
    '# `docker-compose -f THIS up` starts it without its faults; `keelhaul repro` re-runs it with them (docs/repro.md).',
  ];
  return `${header.join('\n')}\n${stringify(doc, { lineWidth: 0 })}`;
}
