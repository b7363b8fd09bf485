/**
 * Options of {@link startPrivateDaemon}, validated at the edge: a bad value throws a
 * `TypeError` that names the option, the value and what was expected.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export interface PrivateDaemonOptions {
  /**
   * Short id used in paths and in the bridge name `kh-<name>`. Linux interface names hold
   * at most 15 characters, so `name` holds at most 12: lowercase letters, digits and `-`.
   * @default 6 random hex digits
   */
  readonly name?: string;
  /**
   * Directory that holds everything of this daemon: `docker.sock`, `docker.pid`,
   * `daemon.json`, `dockerd.log`, `data/` (data-root) and `exec/` (exec-root). It must not
   * exist or be empty; remove() deletes it.
   * @default `<os.tmpdir()>/keelhaul-dockerd-<name>`
   */
  readonly rootDir?: string;
  /**
   * Start with `"live-restore": true` in daemon.json: containers keep running while dockerd
   * is down (DOCKER-NOTES.md, "Daemon stop and kill"). Can be flipped later with
   * `setLiveRestore`.
   * @default false
   */
  readonly liveRestore?: boolean;
  /**
   * How long to wait for the daemon to answer a ping after it is spawned, in ms. Each ping
   * has its own timeout (at most 1000 ms) because a daemon restoring containers accepts
   * connections but does not answer (DOCKER-NOTES.md).
   * @default 30000
   */
  readonly readyTimeoutMs?: number;
  /**
   * The `N` of the bridge's subnet `10.212.N.0/24` (gateway `10.212.N.1`), or `auto` to take
   * the first N that no address or route on the host overlaps.
   * @default 'auto'
   */
  readonly subnet?: number | 'auto';
  /**
   * The dockerd binary: a command looked up on PATH, or a path.
   * @default 'dockerd'
   */
  readonly dockerd?: string;
  /**
   * Also listen on `tcp://127.0.0.1:<port>`, with TLS and client verification
   * (`--tlsverify --tlscacert --tlscert --tlskey`): a daemon reached the way a CI's
   * Docker-in-Docker service is (port 2376 there). Only the loopback address, and only with
   * TLS: a plain TCP socket would be root for anyone on the host. The unix socket stays, and
   * the handle's own calls use it. Paths are absolute PEM files.
   * @default no TCP listener
   */
  readonly tcp?: PrivateDaemonTcp;
}

/** See {@link PrivateDaemonOptions.tcp}. */
export interface PrivateDaemonTcp {
  /** 1–65535; a free one, the caller's choice. */
  readonly port: number;
  /** The CA that signed the clients' certificates (`--tlscacert`). */
  readonly caFile: string;
  /** The daemon's certificate (`--tlscert`); its subjectAltName must hold IP:127.0.0.1. */
  readonly certFile: string;
  /** The daemon's private key (`--tlskey`). */
  readonly keyFile: string;
}

/** {@link PrivateDaemonOptions} with defaults applied. */
export interface ResolvedPrivateDaemonOptions {
  readonly name: string;
  readonly rootDir: string;
  readonly liveRestore: boolean;
  readonly readyTimeoutMs: number;
  readonly subnet: number | 'auto';
  readonly dockerd: string;
  readonly tcp: PrivateDaemonTcp | undefined;
}

/** Longest root dir, in bytes: 107 (sun_path) minus `/exec/containerd/containerd.sock.ttrpc`. */
const MAX_ROOT_DIR_BYTES = 107 - '/exec/containerd/containerd.sock.ttrpc'.length;

/** Default of {@link PrivateDaemonOptions.readyTimeoutMs}, in ms. */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;

function describe(value: unknown): string {
  return `\`${typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))}\` (${typeof value})`;
}

export function resolveOptions(options: PrivateDaemonOptions = {}): ResolvedPrivateDaemonOptions {
  const name = options.name ?? randomBytes(3).toString('hex');
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,11}$/.test(name)) {
    throw new TypeError(`Expected \`name\` to be 1–12 characters of a-z, 0-9 and "-" (it becomes the bridge name kh-<name>, at most 15 characters), got ${describe(name)}`);
  }
  const rootDir = options.rootDir ?? join(tmpdir(), `keelhaul-dockerd-${name}`);
  if (typeof rootDir !== 'string' || rootDir === '' || !isAbsolute(rootDir) || resolve(rootDir) === '/') {
    throw new TypeError(`Expected \`rootDir\` to be an absolute path other than /, got ${describe(rootDir)}`);
  }
  // A unix socket path holds at most 107 bytes (sun_path); the longest one under the root is
  // containerd's `<root>/exec/containerd/containerd.sock.ttrpc`.
  if (Buffer.byteLength(resolve(rootDir)) > MAX_ROOT_DIR_BYTES) {
    throw new TypeError(
      `Expected \`rootDir\` to be at most ${MAX_ROOT_DIR_BYTES} bytes long (dockerd and containerd put unix sockets under it, and a socket path holds at most 107), got ${describe(rootDir)}`,
    );
  }
  const liveRestore = options.liveRestore ?? false;
  if (typeof liveRestore !== 'boolean') {
    throw new TypeError(`Expected \`liveRestore\` to be a boolean, got ${describe(liveRestore)}`);
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  if (typeof readyTimeoutMs !== 'number' || !Number.isFinite(readyTimeoutMs) || readyTimeoutMs <= 0) {
    throw new TypeError(`Expected \`readyTimeoutMs\` to be a number of ms > 0, got ${describe(readyTimeoutMs)}`);
  }
  const subnet = options.subnet ?? 'auto';
  if (subnet !== 'auto' && (typeof subnet !== 'number' || !Number.isInteger(subnet) || subnet < 0 || subnet > 255)) {
    throw new TypeError(`Expected \`subnet\` to be 'auto' or an integer 0–255 (the N of 10.212.N.0/24), got ${describe(subnet)}`);
  }
  const dockerd = options.dockerd ?? 'dockerd';
  if (typeof dockerd !== 'string' || dockerd === '') {
    throw new TypeError(`Expected \`dockerd\` to be a command or a path, got ${describe(dockerd)}`);
  }
  const tcp = options.tcp;
  if (tcp !== undefined) {
    if (typeof tcp.port !== 'number' || !Number.isInteger(tcp.port) || tcp.port < 1 || tcp.port > 65535) {
      throw new TypeError(`Expected \`tcp.port\` to be an integer 1–65535, got ${describe(tcp.port)}`);
    }
    for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
      if (typeof tcp[key] !== 'string' || !isAbsolute(tcp[key])) throw new TypeError(`Expected \`tcp.${key}\` to be an absolute path, got ${describe(tcp[key])}`);
    }
  }
  return { name, rootDir: resolve(rootDir), liveRestore, readyTimeoutMs, subnet, dockerd, tcp };
}
