/**
 * Finding the dockerd process that serves a socket, so that the monitor can sample the
 * daemon a run talks to (and not, say, the private daemon of another test).
 */
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, resolve } from 'node:path';

/** The socket a dockerd serves when neither `--host` nor daemon.json's `hosts` names one. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** Where dockerd reads its configuration when `--config-file` is not given. */
const DEFAULT_CONFIG_FILE = '/etc/docker/daemon.json';

/** `/var/run` is a symlink to `/run` on most systems: compare resolved paths. */
function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** The value of a flag given as `--name value`, `--name=value`, `-H value`, `-H=value` or `-Hvalue`. */
function flagValues(args: readonly string[], long: string, short?: string): string[] {
  const values: string[] = [];
  for (let i = 1; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === long || (short !== undefined && arg === short)) {
      const next = args[i + 1];
      if (next !== undefined) values.push(next);
      i += 1;
    } else if (arg.startsWith(`${long}=`)) {
      values.push(arg.slice(long.length + 1));
    } else if (short !== undefined && arg.startsWith(short) && !arg.startsWith('--')) {
      values.push(arg.slice(short.length).replace(/^=/, ''));
    }
  }
  return values;
}

/**
 * The unix socket paths a dockerd with these arguments serves: its `--host`/`-H` values,
 * else daemon.json's `hosts`, else the default socket. `fd://` (systemd socket
 * activation) is counted as the default socket, which is what the stock unit passes it.
 */
export function socketsServedBy(args: readonly string[], readConfig: (path: string) => string = (p) => readFileSync(p, 'utf8')): string[] {
  let hosts = flagValues(args, '--host', '-H');
  if (hosts.length === 0) {
    const configFile = flagValues(args, '--config-file').at(-1) ?? DEFAULT_CONFIG_FILE;
    try {
      const config = JSON.parse(readConfig(configFile)) as { hosts?: unknown };
      if (Array.isArray(config.hosts)) hosts = config.hosts.filter((h): h is string => typeof h === 'string');
    } catch {
      // No daemon.json (the usual case) or one we cannot read: dockerd's own default holds.
    }
  }
  if (hosts.length === 0) return [DEFAULT_DOCKER_SOCKET];
  const sockets: string[] = [];
  for (const host of hosts) {
    if (host.startsWith('unix://')) sockets.push(host.slice('unix://'.length) || DEFAULT_DOCKER_SOCKET);
    else if (host.startsWith('fd://')) sockets.push(DEFAULT_DOCKER_SOCKET);
    else if (host.startsWith('/')) sockets.push(host);
    // tcp:// and ssh:// serve no socket file.
  }
  return sockets;
}

/**
 * The pid of the dockerd process serving `socketPath`, found by reading `/proc/<pid>/cmdline`
 * of every process (Linux only). A dockerd without `--host` (and without `hosts` in its
 * daemon.json) serves {@link DEFAULT_DOCKER_SOCKET}. Paths are compared after resolving
 * symlinks (`/var/run` → `/run`).
 *
 * @param socketPath a socket path or a `unix://` URL; @default `/var/run/docker.sock`
 * @returns the pid, or `undefined` when no visible dockerd serves it (another pid
 *   namespace, a remote daemon, no /proc). Never throws.
 */
export function findDockerdPid(socketPath: string = DEFAULT_DOCKER_SOCKET): number | undefined {
  const wanted = canonical(socketPath.replace(/^unix:\/\//, ''));
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      // Arguments are NUL-separated; a process that exited meanwhile throws ENOENT/ESRCH.
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
        .split('\0')
        .filter((a) => a !== '');
    } catch {
      continue;
    }
    if (args.length === 0 || basename(args[0]!) !== 'dockerd') continue;
    if (socketsServedBy(args).some((s) => canonical(s) === wanted)) return Number(entry);
  }
  return undefined;
}
