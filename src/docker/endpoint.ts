/**
 * Which Docker daemon to reach, and how, decided the way the docker CLI decides it — a pure
 * function over an environment and a file reader, so every rule is unit-tested without a
 * daemon. No dockerode here (client.ts turns a {@link DockerEndpoint} into dockerode's
 * options), and no `process.env`: host.ts is the one reader of the real environment.
 *
 * Precedence (docker CLI, `cli/command/cli.go` `resolveContextName`, and
 * https://docs.docker.com/engine/manage-resources/contexts/):
 * 1. an explicit host (`connectDocker({host})`, like `docker -H`) or context (like
 *    `docker --context`); both at once is refused, as the CLI refuses `-H` with `--context`;
 * 2. `DOCKER_HOST`;
 * 3. `DOCKER_CONTEXT`;
 * 4. `currentContext` in `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`);
 * 5. the `default` context: `unix:///var/run/docker.sock`.
 *
 * TLS for a host from 1, 2 or 5 comes from the environment, as the CLI's flags default it
 * (https://docs.docker.com/engine/security/protect-access/, "Secure by default"):
 * `DOCKER_TLS_VERIFY` non-empty → TLS, the daemon's certificate verified against
 * `ca.pem`; `DOCKER_TLS` non-empty → TLS without verification; the files are `ca.pem`,
 * `cert.pem` and `key.pem` in `DOCKER_CERT_PATH`, default the config directory
 * (`~/.docker`). A missing client pair means no client certificate (the CLI drops them too);
 * half a pair is an error. TLS for a context comes from the context's own store:
 * `contexts/tls/<sha256 of name>/docker/{ca,cert,key}.pem`, on when any file is there or the
 * context sets `SkipTLSVerify` (docker CLI `context/docker/load.go`).
 */
import { createHash, createHmac } from 'node:crypto';
import { join } from 'node:path';
import { DockerError } from './errors.js';

/** The daemon's default socket, as a `unix://` URL (the `default` context on Linux). */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** The variables the resolution reads; any other key is ignored. */
export interface EndpointEnv {
  readonly DOCKER_HOST?: string | undefined;
  readonly DOCKER_CONTEXT?: string | undefined;
  readonly DOCKER_CONFIG?: string | undefined;
  readonly DOCKER_TLS_VERIFY?: string | undefined;
  readonly DOCKER_TLS?: string | undefined;
  readonly DOCKER_CERT_PATH?: string | undefined;
  /** ssh-agent's socket, for `ssh://` endpoints (docker-modem authenticates through the agent). */
  readonly SSH_AUTH_SOCK?: string | undefined;
}

/** How the resolution reads files: plain reads, so a unit test passes a map. */
export interface EndpointFiles {
  /** The file's text, or `undefined` when it does not exist. Other read errors throw. */
  readText(path: string): string | undefined;
  /** Whether a file exists at `path`. */
  exists(path: string): boolean;
}

/** What the caller asked for, if anything; at most one of the two. */
export interface EndpointRequest {
  /** `unix:///path`, a bare absolute socket path, `tcp://host[:port]`, `host:port`, `ssh://[user@]host[:port]`. */
  readonly host?: string | undefined;
  /** A Docker context's name; `default` is the default socket. */
  readonly context?: string | undefined;
}

/**
 * How the endpoint was chosen:
 * - `option`: the caller named the host (`connectDocker({host})`; a private daemon, a run's recorded host);
 * - `env`: `DOCKER_HOST`;
 * - `context`: a Docker context, named by the caller (`option`), `DOCKER_CONTEXT`, or `currentContext` of config.json;
 * - `default`: nothing was set: the default socket.
 */
export type EndpointSource =
  | { readonly kind: 'option' }
  | { readonly kind: 'env' }
  | { readonly kind: 'default' }
  | {
      readonly kind: 'context';
      readonly context: string;
      readonly via: 'option' | 'DOCKER_CONTEXT' | 'currentContext';
      /** The context's meta.json; `null` for the built-in `default` context. */
      readonly metaFile: string | null;
    };

/** TLS towards a `tcp://` daemon. Paths are absolute; `undefined` means "not used". */
export interface EndpointTls {
  /** Whether the daemon's certificate is verified (`DOCKER_TLS_VERIFY`; a context without `SkipTLSVerify`). */
  readonly verify: boolean;
  /** The CA the daemon's certificate is checked against; `undefined`: the system's CAs (a context without ca.pem). */
  readonly caFile: string | undefined;
  /** The client certificate and its key, both or neither. */
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  /** The directory the files were looked for in: `DOCKER_CERT_PATH`, the config directory, or the context's TLS store. */
  readonly dir: string;
}

/** A daemon endpoint, resolved: where, how (TLS, ssh), and why this one. */
export interface DockerEndpoint {
  /** Normalised: `unix:///path`, `tcp://host:port`, `ssh://[user@]host[:port]`. */
  readonly host: string;
  readonly scheme: 'unix' | 'tcp' | 'ssh';
  /** The socket path of a `unix://` endpoint. */
  readonly socketPath: string | undefined;
  /** Host name or IP of a `tcp://` or `ssh://` endpoint. */
  readonly hostname: string | undefined;
  /** TCP port; `tcp://` without one gets 2376 with TLS, 2375 without (Docker's conventions); ssh without one: 22. */
  readonly port: number | undefined;
  /** The ssh user, when the URL names one. */
  readonly username: string | undefined;
  /** TLS settings of a `tcp://` endpoint; `undefined`: plain HTTP (or unix, ssh). */
  readonly tls: EndpointTls | undefined;
  /**
   * The host keys known for an `ssh://` endpoint (base64 key blobs, from `~/.ssh/known_hosts`
   * and `/etc/ssh/ssh_known_hosts`), which the daemon's ssh server must present; `undefined`
   * for other schemes. Never empty: an unknown host is refused at resolution.
   */
  readonly sshHostKeys?: readonly string[];
  readonly source: EndpointSource;
  /** For messages and `DockerClient.endpoint`: the socket path for unix (other parts test `startsWith('/')`), else `host`. */
  readonly display: string;
}

/** Why an endpoint cannot be used; callers branch on this, never on the message. */
export type EndpointProblem =
  'invalid-host' | 'unsupported-scheme' | 'conflicting-options' | 'unknown-context' | 'bad-context' | 'bad-config' | 'missing-file' | 'unknown-host-key';

/**
 * The endpoint named cannot be resolved or its TLS material is missing: nothing was
 * contacted. Carries the endpoint (when known), how it was chosen (`via`, e.g.
 * `DOCKER_HOST`), and the file or context at fault. A {@link DockerError} with reason
 * `invalid-host`, so the CLI exits 3 (the environment cannot run it).
 */
export class EndpointError extends DockerError {
  override name = 'EndpointError';
  readonly problem: EndpointProblem;
  /** The endpoint as given, when there was one. */
  readonly endpoint: string | undefined;
  /** How it was chosen, in words: `DOCKER_HOST`, `context "ci" (DOCKER_CONTEXT)`. */
  readonly via: string;
  /** The file at fault (a missing ca.pem, an unparsable config.json, a context's absent meta.json). */
  readonly path: string | undefined;
  /** The context at fault. */
  readonly context: string | undefined;
  constructor(message: string, options: { problem: EndpointProblem; via: string; endpoint?: string; path?: string; context?: string; cause?: unknown }) {
    super(message, { operation: 'connect', reason: 'invalid-host', cause: options.cause });
    this.problem = options.problem;
    this.endpoint = options.endpoint;
    this.via = options.via;
    this.path = options.path;
    this.context = options.context;
  }
}

/** The source in words, for messages and `keelhaul doctor`. */
export function describeSource(source: EndpointSource): string {
  switch (source.kind) {
    case 'option':
      return 'given by the caller';
    case 'env':
      return 'DOCKER_HOST';
    case 'default':
      return 'the default socket (no DOCKER_HOST, DOCKER_CONTEXT or current context)';
    case 'context':
      return `context "${source.context}" (${source.via === 'option' ? 'given by the caller' : source.via === 'DOCKER_CONTEXT' ? 'DOCKER_CONTEXT' : 'currentContext in config.json'})`;
  }
}

/**
 * What to pass to `connectDocker` to reach the same daemon the same way from another
 * process (the reaper, `resume`, `status`): the context's name for a context (its TLS
 * material lives in the context store, not in the host string), else the host (TLS then
 * comes from that process's environment, which a child inherits).
 */
export function reconnectRequest(endpoint: DockerEndpoint): { host: string } | { context: string } {
  return endpoint.source.kind === 'context' && endpoint.source.context !== 'default' ? { context: endpoint.source.context } : { host: endpoint.host };
}

/** `$DOCKER_CONFIG`, else `<home>/.docker` (docker CLI `config.Dir()`). */
export function dockerConfigDir(env: EndpointEnv, home: string): string {
  return nonEmpty(env.DOCKER_CONFIG) ?? join(home, '.docker');
}

/** The directory name of a context in the store: the hex SHA-256 of its name (docker CLI `store.contextdirOf`). */
export function contextId(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Resolves the endpoint: see this file's header for the precedence and the TLS rules.
 *
 * @param home the user's home directory (for `~/.docker`)
 * @throws {EndpointError} `conflicting-options` (host and context both asked for),
 *   `invalid-host` / `unsupported-scheme` (a host that is not unix, tcp or ssh),
 *   `unknown-context` (no meta.json for the name; the path looked at is named),
 *   `bad-context` / `bad-config` (unparsable JSON, no docker endpoint), `missing-file`
 *   (a CA or half a client pair that TLS needs; the path is named), `unknown-host-key`
 *   (an ssh host in no known_hosts file).
 */
export function resolveDockerEndpoint(request: EndpointRequest, env: EndpointEnv, files: EndpointFiles, home: string): DockerEndpoint {
  const configDir = dockerConfigDir(env, home);
  if (request.host !== undefined && request.context !== undefined) {
    throw new EndpointError(`Both a host (${request.host}) and a context (${request.context}) were given: name one (the docker CLI refuses -H with --context too)`, {
      problem: 'conflicting-options',
      via: 'the caller',
      endpoint: request.host,
      context: request.context,
    });
  }
  const endpoint = resolveUnchecked(request, env, files, configDir);
  if (endpoint.scheme !== 'ssh') return endpoint;
  // ssh2 (docker-modem's transport) accepts any host key unless told which: check it as
  // OpenSSH would, against known_hosts (the docker CLI runs `ssh`, which does).
  return { ...endpoint, sshHostKeys: sshHostKeysOf(endpoint, files, home, describeSource(endpoint.source)) };
}

function resolveUnchecked(request: EndpointRequest, env: EndpointEnv, files: EndpointFiles, configDir: string): DockerEndpoint {
  if (request.host !== undefined) return fromHost(request.host, { kind: 'option' }, env, files, configDir);
  if (request.context !== undefined) return fromContext(request.context, 'option', env, files, configDir);
  const envHost = nonEmpty(env.DOCKER_HOST);
  if (envHost !== undefined) return fromHost(envHost, { kind: 'env' }, env, files, configDir);
  const envContext = nonEmpty(env.DOCKER_CONTEXT);
  if (envContext !== undefined) return fromContext(envContext, 'DOCKER_CONTEXT', env, files, configDir);
  const current = currentContext(files, configDir);
  if (current !== undefined) return fromContext(current, 'currentContext', env, files, configDir);
  return fromHost(DEFAULT_DOCKER_HOST, { kind: 'default' }, env, files, configDir);
}

/** `currentContext` of config.json, when the file exists and sets one. */
function currentContext(files: EndpointFiles, configDir: string): string | undefined {
  const path = join(configDir, 'config.json');
  const text = files.readText(path);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new EndpointError(`${path} is not valid JSON, so its currentContext cannot be read: fix or remove the file (or set DOCKER_HOST)`, {
      problem: 'bad-config',
      via: 'currentContext in config.json',
      path,
      cause: error,
    });
  }
  const value = (parsed as { currentContext?: unknown } | null)?.currentContext;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function fromContext(name: string, via: 'option' | 'DOCKER_CONTEXT' | 'currentContext', env: EndpointEnv, files: EndpointFiles, configDir: string): DockerEndpoint {
  const viaWords = via === 'option' ? 'given by the caller' : via === 'DOCKER_CONTEXT' ? 'DOCKER_CONTEXT' : `currentContext in ${join(configDir, 'config.json')}`;
  if (name === 'default') {
    // The built-in context: DOCKER_HOST (only reachable here when the caller named the context) or the default socket.
    const host = nonEmpty(env.DOCKER_HOST) ?? DEFAULT_DOCKER_HOST;
    return fromHost(host, { kind: 'context', context: 'default', via, metaFile: null }, env, files, configDir);
  }
  const id = contextId(name);
  const metaFile = join(configDir, 'contexts', 'meta', id, 'meta.json');
  const text = files.readText(metaFile);
  if (text === undefined) {
    const undo = via === 'DOCKER_CONTEXT' ? 'unset DOCKER_CONTEXT' : via === 'currentContext' ? 'run `docker context use default`' : 'name another context';
    throw new EndpointError(
      `Docker context "${name}" (${viaWords}) does not exist: no ${metaFile}. List contexts with \`docker context ls\` (with DOCKER_CONFIG=${configDir}), create it with \`docker context create ${name} --docker host=…\`, or ${undo}.`,
      { problem: 'unknown-context', via: viaWords, context: name, path: metaFile },
    );
  }
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (error) {
    throw new EndpointError(`Docker context "${name}" (${viaWords}): ${metaFile} is not valid JSON; recreate the context with \`docker context create\``, {
      problem: 'bad-context',
      via: viaWords,
      context: name,
      path: metaFile,
      cause: error,
    });
  }
  const docker = (meta as { Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } } | null)?.Endpoints?.docker;
  if (typeof docker?.Host !== 'string' || docker.Host === '') {
    throw new EndpointError(
      `Docker context "${name}" (${viaWords}) has no docker endpoint (Endpoints.docker.Host in ${metaFile}); recreate it with \`docker context create ${name} --docker host=…\``,
      {
        problem: 'bad-context',
        via: viaWords,
        context: name,
        path: metaFile,
      },
    );
  }
  const source: EndpointSource = { kind: 'context', context: name, via, metaFile };
  const parsed = parseHost(docker.Host, describeSource(source));
  const skipVerify = docker.SkipTLSVerify === true;
  let tls: EndpointTls | undefined;
  if (parsed.scheme === 'tcp') {
    const dir = join(configDir, 'contexts', 'tls', id, 'docker');
    const present = (file: string): string | undefined => (files.exists(join(dir, file)) ? join(dir, file) : undefined);
    const caFile = present('ca.pem');
    const certFile = present('cert.pem');
    const keyFile = present('key.pem');
    if (caFile !== undefined || certFile !== undefined || keyFile !== undefined || skipVerify) {
      const pair = clientPair(
        certFile,
        keyFile,
        dir,
        parsed.host,
        describeSource(source),
        `recreate the context with \`docker context create ${name} --docker host=…,ca=…,cert=…,key=…\``,
      );
      tls = { verify: !skipVerify, caFile, ...pair, dir };
    }
  }
  return finish(parsed, tls, source);
}

function fromHost(value: string, source: EndpointSource, env: EndpointEnv, files: EndpointFiles, configDir: string): DockerEndpoint {
  const via = describeSource(source);
  const parsed = parseHost(value, via);
  let tls: EndpointTls | undefined;
  const verify = nonEmpty(env.DOCKER_TLS_VERIFY) !== undefined;
  if (parsed.scheme === 'tcp' && (verify || nonEmpty(env.DOCKER_TLS) !== undefined)) {
    const dir = nonEmpty(env.DOCKER_CERT_PATH) ?? configDir;
    const dirWords = env.DOCKER_CERT_PATH ? 'DOCKER_CERT_PATH' : `the config directory (no DOCKER_CERT_PATH)`;
    const caPath = join(dir, 'ca.pem');
    const caFile = files.exists(caPath) ? caPath : undefined;
    if (verify && caFile === undefined) {
      throw new EndpointError(
        `DOCKER_TLS_VERIFY is set, so the daemon at ${parsed.host} (${via}) is verified against ${caPath}, which does not exist (${dirWords}). ` +
          'Put the CA certificate there, point DOCKER_CERT_PATH at the directory holding ca.pem, cert.pem and key.pem, or unset DOCKER_TLS_VERIFY for a daemon without TLS.',
        { problem: 'missing-file', via, endpoint: parsed.host, path: caPath },
      );
    }
    const pair = clientPair(
      files.exists(join(dir, 'cert.pem')) ? join(dir, 'cert.pem') : undefined,
      files.exists(join(dir, 'key.pem')) ? join(dir, 'key.pem') : undefined,
      dir,
      parsed.host,
      via,
      'put both cert.pem and key.pem there (or neither, for a daemon that asks for no client certificate)',
    );
    tls = { verify, caFile, ...pair, dir };
  }
  // A tcp:// endpoint without a port: 2376 with TLS, 2375 without (Docker's registered ports).
  return finish(parsed, tls, source);
}

/** Both or neither of the client certificate and key; half a pair is refused, naming the missing file. */
function clientPair(
  certFile: string | undefined,
  keyFile: string | undefined,
  dir: string,
  endpoint: string,
  via: string,
  fix: string,
): { certFile: string | undefined; keyFile: string | undefined } {
  if ((certFile === undefined) === (keyFile === undefined)) return { certFile, keyFile };
  const missing = join(dir, certFile === undefined ? 'cert.pem' : 'key.pem');
  const present = certFile ?? keyFile ?? '';
  throw new EndpointError(`The client certificate for ${endpoint} (${via}) is half there: ${present} exists but ${missing} does not; ${fix}.`, {
    problem: 'missing-file',
    via,
    endpoint,
    path: missing,
  });
}

interface ParsedHost {
  readonly scheme: 'unix' | 'tcp' | 'ssh';
  /** Normalised, without the default port filled in for tcp. */
  readonly host: string;
  readonly socketPath?: string;
  readonly hostname?: string;
  readonly port?: number;
  readonly username?: string;
}

/**
 * A host string as the docker CLI accepts it (`opts.ParseHost`): `unix:///path` (empty path:
 * the default socket), `tcp://host[:port]`, a bare `host:port` (tcp), `ssh://[user@]host[:port]`;
 * and, as keelhaul always did, a bare absolute socket path and `http://host:port`.
 */
function parseHost(value: string, via: string): ParsedHost {
  const invalid = (why: string, problem: EndpointProblem = 'invalid-host', cause?: unknown): EndpointError =>
    new EndpointError(`Docker host "${value}" (${via}) ${why}; expected unix:///path/docker.sock, tcp://host:port or ssh://user@host`, {
      problem,
      via,
      endpoint: value,
      ...(cause !== undefined ? { cause } : {}),
    });
  const trimmed = value.trim();
  if (trimmed === '') throw invalid('is empty');
  if (trimmed.startsWith('/')) return { scheme: 'unix', host: `unix://${trimmed}`, socketPath: trimmed };
  if (trimmed.startsWith('unix://')) {
    const socketPath = trimmed.slice('unix://'.length) || DEFAULT_DOCKER_HOST.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw invalid('names a relative socket path');
    return { scheme: 'unix', host: `unix://${socketPath}`, socketPath };
  }
  const withScheme = trimmed.includes('://') ? trimmed : `tcp://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (error) {
    throw invalid('is not a URL', 'invalid-host', error);
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'npipe' || scheme === 'fd') throw invalid(`uses ${scheme}://, which keelhaul does not support (Linux daemons only)`, 'unsupported-scheme');
  if (scheme !== 'tcp' && scheme !== 'http' && scheme !== 'ssh') throw invalid(`uses an unknown scheme ${scheme}://`, 'unsupported-scheme');
  if (url.hostname === '') throw invalid('names no host');
  if (url.pathname !== '' && url.pathname !== '/') throw invalid(`has a path (${url.pathname}), which a daemon endpoint does not take`);
  const port = url.port === '' ? undefined : Number(url.port);
  if (scheme === 'ssh') {
    const username = url.username === '' ? undefined : decodeURIComponent(url.username);
    if (url.password !== '') throw invalid('carries a password; use ssh-agent (SSH_AUTH_SOCK) instead');
    return {
      scheme: 'ssh',
      host: `ssh://${username !== undefined ? `${url.username}@` : ''}${url.host}`,
      hostname: url.hostname,
      ...(port !== undefined ? { port } : {}),
      ...(username !== undefined ? { username } : {}),
    };
  }
  return { scheme: 'tcp', host: `tcp://${url.host}`, hostname: url.hostname, ...(port !== undefined ? { port } : {}) };
}

/**
 * The key blobs `known_hosts` text lists for `hostname` on `port`, as OpenSSH matches them
 * (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): a plain name (port 22) or `[name]:port`, comma
 * separated, or a hashed entry `|1|salt|HMAC-SHA1(salt, name)`. Lines with a marker
 * (`@cert-authority`, `@revoked`) and wildcard patterns are not used.
 */
export function knownHostKeys(text: string, hostname: string, port: number): string[] {
  const name = port === 22 ? hostname : `[${hostname}]:${port}`;
  const keys: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@')) continue;
    const [hosts = '', , blob] = line.split(/\s+/);
    if (blob === undefined) continue;
    const matches = hosts.split(',').some((pattern) => {
      if (pattern.startsWith('|1|')) {
        const [, , salt = '', hash = ''] = pattern.split('|');
        return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
      }
      return pattern === name;
    });
    if (matches) keys.push(blob);
  }
  return keys;
}

/** The known host keys of an ssh endpoint, or a refusal that says how to add them. */
function sshHostKeysOf(parsed: ParsedHost, files: EndpointFiles, home: string, via: string): string[] {
  const hostname = parsed.hostname ?? '';
  const port = parsed.port ?? 22;
  const sources = [join(home, '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
  const keys = sources.flatMap((path) => knownHostKeys(files.readText(path) ?? '', hostname, port));
  if (keys.length > 0) return keys;
  throw new EndpointError(
    `The ssh host ${port === 22 ? hostname : `[${hostname}]:${port}`} of ${parsed.host} (${via}) is in no known_hosts file (${sources.join(', ')}), so its identity cannot be checked. ` +
      `Connect once with \`ssh -p ${port} ${hostname}\` and accept the key after checking its fingerprint, or add it with \`ssh-keyscan -p ${port} ${hostname} >> ~/.ssh/known_hosts\` (then check it).`,
    { problem: 'unknown-host-key', via, endpoint: parsed.host, path: sources[0] ?? '' },
  );
}

function finish(parsed: ParsedHost, tls: EndpointTls | undefined, source: EndpointSource, sshHostKeys?: readonly string[]): DockerEndpoint {
  const port = parsed.port ?? (parsed.scheme === 'tcp' ? (tls ? 2376 : 2375) : undefined);
  const host = parsed.scheme === 'tcp' && parsed.port === undefined ? `${parsed.host}:${port}` : parsed.host;
  return {
    host,
    scheme: parsed.scheme,
    socketPath: parsed.socketPath,
    hostname: parsed.hostname,
    port,
    username: parsed.username,
    tls,
    source,
    display: parsed.socketPath ?? host,
    ...(sshHostKeys ? { sshHostKeys } : {}),
  };
}
