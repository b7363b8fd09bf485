import { DockerBackend, LocalBackend, type WorkerBackend } from '../backends/index.js';
import type { ScenarioTopology } from '../compose/index.js';
import { topologyResourceName, type DockerClient, type RunIdentity } from '../docker/index.js';
import type { Scenario } from '../scenario/index.js';

/** What the selected backend is built from, besides the scenario. */
export interface BackendDeps {
  readonly docker: DockerClient;
  readonly identity: RunIdentity;
  /** The worker image reference. */
  readonly image: string;
  readonly runDir: string;
  /** A fresh redaction filter for each attempt log (docs/security.md). */
  readonly redactStream: () => NodeJS.ReadWriteStream;
  /** Rides out a daemon outage (the run's outage phase); throws past `daemon.outageLimitMs`. */
  readonly waitForDaemon: () => Promise<void>;
  /** Whether a restart fault is restarting the container now (its exit then is not the attempt's end). */
  readonly isRestarting: (containerId: string) => boolean;
  /** The container's exit from the daemon's `die` event, or `undefined` after `timeoutMs` ms without one. */
  readonly exitFromEvents: (containerId: string, timeoutMs: number) => Promise<{ exitCode: number; oomKilled: boolean; time: string } | undefined>;
  readonly topology?: ScenarioTopology | undefined;
}

/**
 * Constructs the one backend the scenario's `backend` asks for: attempts as hardened
 * containers (docker) or as processes (local, docs/parity.md). The only place that names
 * a backend class; the run talks to what it returns through {@link WorkerBackend}.
 */
export function selectBackend(scenario: Scenario, deps: BackendDeps): WorkerBackend {
  const workspaceSize = scenario.workspace.size !== undefined ? { workspaceSizeBytes: scenario.workspace.size } : {};
  if (scenario.backend === 'local') {
    return new LocalBackend({
      runId: deps.identity.runId,
      runDir: deps.runDir,
      network: scenario.network,
      env: scenario.env,
      redactStream: deps.redactStream,
      ...workspaceSize,
      ...(scenario.local?.command ? { command: scenario.local.command } : {}),
    });
  }
  return new DockerBackend(deps.docker, {
    run: deps.identity,
    image: deps.image,
    network: scenario.network,
    env: scenario.env,
    redactStream: deps.redactStream,
    privileged: scenario.privileged,
    bindMounts: scenario.mounts,
    memoryBytes: scenario.resources.memory,
    pidsLimit: scenario.resources.pidsLimit,
    tmpfsBytes: scenario.resources.tmpfs,
    ...(scenario.resources.cpus !== undefined ? { cpus: scenario.resources.cpus } : {}),
    ...workspaceSize,
    waitForDaemon: deps.waitForDaemon,
    isRestarting: deps.isRestarting,
    // Workers join the topology's network, which launchTopology creates with the run label.
    ...(deps.topology?.workerNetwork !== undefined ? { useNetwork: topologyResourceName(deps.identity.runId, deps.topology.workerNetwork) } : {}),
    exitFromEvents: deps.exitFromEvents,
  });
}
