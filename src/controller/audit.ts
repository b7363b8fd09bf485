import { Label, type ContainerInfo } from '../docker/index.js';
import { isDockerSocketPath, type Scenario } from '../scenario/index.js';

/**
 * Checks an attempt container against its label set and the hardening defaults (non-root,
 * `CapDrop: ALL`, no-new-privileges, read-only root, memory and pids limits, the expected
 * network mode, no Docker socket, not privileged, not the host's network), except what the
 * scenario's `dangerouslyAllow` lets it have. The controller labels (`pid`, `start`) need
 * only be present: a resumed run adopts containers an earlier controller labelled. Pure.
 *
 * @returns one message per problem; empty when the container is as expected
 */
export function auditContainer(info: ContainerInfo, expectedLabels: Readonly<Record<string, string>>, networkMode: string, allow: Scenario['dangerouslyAllow'] = {}): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(expectedLabels)) {
    // A resumed run adopts containers an earlier controller labelled with its own identity.
    if (key === Label.controllerPid || key === Label.controllerStart) {
      if (!info.labels[key]) problems.push(`label ${key} is missing`);
      continue;
    }
    if (info.labels[key] !== value) problems.push(`label ${key} is ${JSON.stringify(info.labels[key])}, expected ${JSON.stringify(value)}`);
  }
  if (!info.user || info.user === 'root' || info.user === '0' || info.user.startsWith('0:')) problems.push(`runs as user ${JSON.stringify(info.user)}, expected non-root`);
  if (!info.hostConfig.capDrop.map((c) => c.toUpperCase()).includes('ALL')) problems.push(`CapDrop is [${info.hostConfig.capDrop.join(', ')}], expected ALL`);
  if (!info.hostConfig.securityOpt.some((o) => o.startsWith('no-new-privileges'))) problems.push('no-new-privileges is not set');
  if (!info.hostConfig.readonlyRootfs) problems.push('the root filesystem is writable');
  if (info.hostConfig.memoryBytes <= 0) problems.push('no memory limit');
  if (info.hostConfig.pidsLimit <= 0) problems.push('no pids limit');
  if (info.hostConfig.networkMode !== networkMode) problems.push(`NetworkMode is ${info.hostConfig.networkMode}, expected ${networkMode}`);
  if (!allow.dockerSocket && info.mounts.some((m) => (m.type === 'bind' ? isDockerSocketPath(m.source) : m.source.endsWith('docker.sock'))))
    problems.push('the Docker socket is mounted');
  if (!allow.privileged && info.hostConfig.privileged) problems.push('runs privileged');
  if (!allow.hostNetwork && info.hostConfig.networkMode === 'host') problems.push("shares the host's network stack (NetworkMode host)");
  return problems;
}
