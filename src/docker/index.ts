/**
 * The Docker part of keelhaul: the only folder that imports dockerode.
 * Public entry: the client factory and its plain types, label keys, typed errors.
 */
export {
  connectDocker,
  type ConnectOptions,
  type ContainerInfo,
  type ContainerOutput,
  type ContainerSpec,
  type ContainerSummary,
  type DaemonVersion,
  type DockerClient,
  type ImageInfo,
  type MountSpec,
  type NetworkSummary,
  type VolumeSummary,
} from './client.js';
export {
  DaemonTlsError,
  DaemonUnavailableError,
  DockerError,
  fromDockerodeError,
  ImageBuildError,
  ImageNotFoundError,
  ResourceConflictError,
  ResourceNotFoundError,
  ResourceNotModifiedError,
  TargetUnavailableError,
  type DockerErrorReason,
  type TargetUnavailableReason,
  type TlsProblem,
} from './errors.js';
export { ContainerExitTracker, subscribeEvents, type DaemonEvent } from './events.js';
export { defaultDockerHost, localDaemonSocket, resolveEndpoint } from './host.js';
export {
  contextId,
  DEFAULT_DOCKER_HOST,
  describeSource,
  EndpointError,
  knownHostKeys,
  reconnectRequest,
  resolveDockerEndpoint,
  type DockerEndpoint,
  type EndpointEnv,
  type EndpointFiles,
  type EndpointProblem,
  type EndpointRequest,
  type EndpointSource,
  type EndpointTls,
} from './endpoint.js';
export { transferImage, type ImageTransfer, type TransferImageOptions } from './image-transfer.js';
export { ANY_VALUE, expandLabelKey, Label, labelsFor, type Role, type RunIdentity } from './labels.js';
export { HELPER_DEFAULTS, HelperContainerError, helperContainerSpec, runHelperContainer, type HelperResult, type HelperSpec, type HelperStage } from './helper-container.js';
export {
  attemptName,
  isolationProbeName,
  runNetworkName,
  topologyResourceName,
  workspaceGeneration,
  workspaceListerName,
  workspaceOwnerName,
  workspaceSnapshotName,
  workspaceVolumeName,
} from './names.js';
export { ContainerNotRunningError } from './stats.js';
