/**
 * Registry credentials for a pull, from the Docker config file as `docker login` writes it
 * (https://docs.docker.com/reference/cli/docker/login/, "Credential stores"): the `auths`
 * map of `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), keyed by registry
 * host, each entry an `auth` (base64 `user:password`), or `username`/`password`, or an
 * `identitytoken`. Docker Hub's key is `https://index.docker.io/v1/`.
 *
 * Not supported: credential helpers (`credsStore`, `credHelpers`) — a registry named there
 * and not in `auths` is pulled anonymously, and {@link registryAuthFor} says so in `note`.
 * Pure over an environment and a file reader, like endpoint.ts.
 */
import { join } from 'node:path';
import { dockerConfigDir, EndpointError, type EndpointEnv, type EndpointFiles } from './endpoint.js';

/** The Engine API's `X-Registry-Auth` body (https://docs.docker.com/engine/api/v1.41/#section/Authentication). */
export interface RegistryAuth {
  readonly username?: string;
  readonly password?: string;
  readonly identitytoken?: string;
  readonly serveraddress: string;
}

/** Docker Hub's key in `auths`, as `docker login` writes it. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

/**
 * The registry host of an image reference (`docker.io` for a name without one): the part
 * before the first `/` when it has a `.` or `:` or is `localhost` (the reference grammar of
 * github.com/distribution/reference).
 */
export function registryOf(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = ref.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io';
}

/**
 * The credentials config.json holds for `ref`'s registry, or `undefined` (anonymous pull).
 * @returns `auth` when found; `note` when a credential helper would have been asked (unsupported)
 * @throws {EndpointError} `bad-config` when config.json is not valid JSON (the path named)
 */
export function registryAuthFor(ref: string, env: EndpointEnv, files: EndpointFiles, home: string): { auth: RegistryAuth | undefined; note: string | undefined } {
  const path = join(dockerConfigDir(env, home), 'config.json');
  const text = files.readText(path);
  if (text === undefined) return { auth: undefined, note: undefined };
  let config: {
    auths?: Record<string, { auth?: unknown; username?: unknown; password?: unknown; identitytoken?: unknown }>;
    credsStore?: unknown;
    credHelpers?: Record<string, unknown>;
  };
  try {
    config = JSON.parse(text) as typeof config;
  } catch (error) {
    throw new EndpointError(`${path} is not valid JSON, so registry credentials cannot be read from it: fix or remove the file`, {
      problem: 'bad-config',
      via: 'DOCKER_CONFIG',
      path,
      cause: error,
    });
  }
  const registry = registryOf(ref);
  const keys =
    registry === 'docker.io'
      ? [DOCKER_HUB_KEY, 'docker.io', 'index.docker.io', 'https://index.docker.io/v1']
      : [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
  const entry = keys.map((k) => config.auths?.[k]).find((e) => e !== undefined);
  if (!entry) {
    const helper = typeof config.credHelpers?.[registry] === 'string' || typeof config.credsStore === 'string';
    return {
      auth: undefined,
      note: helper
        ? `${path} names a credential helper for ${registry}; keelhaul does not run credential helpers, so the pull is anonymous (add an "auths" entry, e.g. with \`docker login\` and no credsStore)`
        : undefined,
    };
  }
  const serveraddress = registry === 'docker.io' ? DOCKER_HUB_KEY : registry;
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') return { auth: { identitytoken: entry.identitytoken, serveraddress }, note: undefined };
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { auth: { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress }, note: undefined };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string')
    return { auth: { username: entry.username, password: entry.password, serveraddress }, note: undefined };
  return { auth: undefined, note: undefined };
}
