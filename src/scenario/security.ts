import { existsSync, realpathSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { localDaemonSocket } from '../docker/host.js';
import type { Scenario } from './schema.js';

/**
 * The rules that keep a worker in its box unless the scenario opts out loudly
 * (docs/security.md): the Docker socket, `network: host` and `privileged: true` are
 * refused at validation — exit 2, nothing created — unless `dangerouslyAllow` names them.
 */

/** Socket paths a Docker daemon listens on by default, plus the socket of the daemon in use (`DOCKER_HOST`'s or a context's) when it is a unix socket. */
function knownSocketPaths(): string[] {
  const paths = ['/var/run/docker.sock', '/run/docker.sock'];
  const socket = localDaemonSocket();
  if (socket !== undefined) paths.push(socket);
  return paths;
}

/**
 * Whether a bind mount of `source` would hand the worker a Docker socket: the path is a
 * `docker.sock` (by name, or a known daemon socket), or a directory that holds one —
 * `/var/run`, `/run`, `/` — which gives the same power. Symlinks on this host are
 * followed where they exist (`/var/run` → `/run`).
 */
export function isDockerSocketPath(source: string): boolean {
  const normal = posix.normalize(source).replace(/\/+$/, '') || '/';
  const candidates = new Set([normal]);
  try {
    candidates.add(realpathSync(normal));
  } catch {
    // a path that does not exist here may exist on a remote daemon's host: judged by name
  }
  for (const path of candidates) {
    if (basename(path) === 'docker.sock') return true;
    for (const socket of knownSocketPaths()) {
      if (socket === path || socket.startsWith(path === '/' ? '/' : `${path}/`)) return true;
    }
    if (existsSync(join(path, 'docker.sock'))) return true;
  }
  return false;
}

/** One refused field, as load.ts turns it into a ScenarioIssue (with its line). */
export interface SecurityIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/**
 * What the scenario asks for that breaks the worker's isolation without the matching
 * `dangerouslyAllow` key. Empty when the scenario is hardened or opted in.
 */
export function securityIssues(scenario: Scenario): SecurityIssue[] {
  const allow = scenario.dangerouslyAllow;
  const issues: SecurityIssue[] = [];
  if (scenario.network === 'host' && !allow.hostNetwork) {
    issues.push({
      path: ['network'],
      message: "host networking gives the workers the host's network stack (every port, every interface); refused unless the scenario sets dangerouslyAllow: { hostNetwork: true }",
    });
  }
  if (scenario.privileged && !allow.privileged) {
    issues.push({
      path: ['privileged'],
      message: 'a privileged worker has every capability and device of the host; refused unless the scenario sets dangerouslyAllow: { privileged: true }',
    });
  }
  scenario.mounts.forEach((mount, i) => {
    if (isDockerSocketPath(mount.source) && !allow.dockerSocket) {
      issues.push({
        path: ['mounts', i, 'source'],
        message: `${JSON.stringify(mount.source)} is (or holds) the Docker socket, which is root on the daemon's host; refused unless the scenario sets dangerouslyAllow: { dockerSocket: true }`,
      });
    }
  });
  return issues;
}

/**
 * The `dangerouslyAllow` keys a scenario actually uses (an opt-in for something it does not
 * ask for changes nothing and is not reported): `dockerSocket`, `hostNetwork`, `privileged`.
 */
export function unhardenedBy(scenario: Scenario): string[] {
  const keys: string[] = [];
  const allow = scenario.dangerouslyAllow;
  if (allow.dockerSocket && scenario.mounts.some((m) => isDockerSocketPath(m.source))) keys.push('dockerSocket');
  if (allow.hostNetwork && scenario.network === 'host') keys.push('hostNetwork');
  if (allow.privileged && scenario.privileged) keys.push('privileged');
  return keys;
}
