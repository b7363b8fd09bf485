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
} from './errors.js';
export { ContainerExitTracker, subscribeEvents, type DaemonEvent } from './events.js';
export { defaultDockerHost } from './host.js';
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
