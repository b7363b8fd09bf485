/**
 * Which daemon keelhaul talks to when nobody says: the one place that reads `DOCKER_HOST`,
 * `DOCKER_CONTEXT`, `DOCKER_CONFIG` and the TLS variables from the process environment. The
 * rules themselves are the pure {@link resolveDockerEndpoint} (endpoint.ts). No dockerode
 * (only endpoint.ts and errors.ts, which import none), so any part may import this file
 * directly (the scenario's socket-mount rule does) without loading the Docker client.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { DEFAULT_DOCKER_HOST, resolveDockerEndpoint, type DockerEndpoint, type EndpointEnv, type EndpointFiles, type EndpointRequest } from './endpoint.js';

export { DEFAULT_DOCKER_HOST } from './endpoint.js';

/**
 * `DOCKER_HOST` as the environment has it now, or undefined when it is unset. Read at each
 * call (never cached), so a test or a tool that sets it before connecting is heard.
 */
export function dockerHostFromEnv(): string | undefined {
  return process.env['DOCKER_HOST'];
}

/** The variables {@link resolveDockerEndpoint} reads, from the process environment now. */
export function endpointEnv(): EndpointEnv {
  const env = process.env;
  return {
    DOCKER_HOST: env['DOCKER_HOST'],
    DOCKER_CONTEXT: env['DOCKER_CONTEXT'],
    DOCKER_CONFIG: env['DOCKER_CONFIG'],
    DOCKER_TLS_VERIFY: env['DOCKER_TLS_VERIFY'],
    DOCKER_TLS: env['DOCKER_TLS'],
    DOCKER_CERT_PATH: env['DOCKER_CERT_PATH'],
    SSH_AUTH_SOCK: env['SSH_AUTH_SOCK'],
  };
}

/** The file system as {@link resolveDockerEndpoint} reads it: a missing file is `undefined`, other errors throw. */
export const nodeEndpointFiles: EndpointFiles = {
  readText(path: string): string | undefined {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  },
  exists: (path: string) => existsSync(path),
};

/**
 * The endpoint the docker CLI would use, from this process's environment and files:
 * `request` (a host or a context) first, then `DOCKER_HOST`, `DOCKER_CONTEXT`, config.json's
 * `currentContext`, the default socket. Read at each call, never cached.
 * @throws {EndpointError} see {@link resolveDockerEndpoint}
 */
export function resolveEndpoint(request: EndpointRequest = {}): DockerEndpoint {
  return resolveDockerEndpoint(request, endpointEnv(), nodeEndpointFiles, homedir());
}

/**
 * The daemon to use when the caller names none, as a host string: the resolved endpoint's
 * host (`DOCKER_HOST`, a context's host, else {@link DEFAULT_DOCKER_HOST}). Falls back to
 * `DOCKER_HOST` or the default socket when the resolution fails (a bad context): connecting
 * then reports that failure.
 */
export function defaultDockerHost(): string {
  try {
    return resolveEndpoint().host;
  } catch {
    return dockerHostFromEnv() || DEFAULT_DOCKER_HOST;
  }
}

/**
 * The unix socket path of the daemon the environment names (`DOCKER_HOST`, a context, the
 * default socket), or undefined when that daemon is reached over tcp or ssh or cannot be
 * resolved. For rules about this host's socket (the scenario's socket-mount refusal); never throws.
 */
export function localDaemonSocket(): string | undefined {
  try {
    return resolveEndpoint().socketPath;
  } catch {
    const host = dockerHostFromEnv();
    return host?.startsWith('unix://') ? host.slice('unix://'.length) : undefined;
  }
}
