/**
 * Which daemon keelhaul talks to when nobody says: the one place that reads `DOCKER_HOST`.
 * No imports of ours and no dockerode, so any part may import this file directly (the
 * scenario's socket-mount rule does) without loading the Docker client.
 */

/** The daemon's default socket, as a `unix://` URL. */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/**
 * `DOCKER_HOST` as the environment has it now, or undefined when it is unset. Read at each
 * call (never cached), so a test or a tool that sets it before connecting is heard.
 */
export function dockerHostFromEnv(): string | undefined {
  return process.env['DOCKER_HOST'];
}

/** The daemon to use when the caller names none: `DOCKER_HOST`, else {@link DEFAULT_DOCKER_HOST}. */
export function defaultDockerHost(): string {
  return dockerHostFromEnv() ?? DEFAULT_DOCKER_HOST;
}
