/**
 * Host-level plumbing of a private daemon: commands (`ip`, `iptables`, `umount`), the mount
 * table, the process table, free subnets. Linux only; every function here needs root.
 *
 * Kept apart from the daemon handle so the handle reads as a lifecycle and this file as the
 * list of things on the host a private daemon touches (and remove() must undo).
 */
import { access, constants, open, readdir, readFile, rmdir, stat } from 'node:fs/promises';
import { basename, delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';

/** Commands a private daemon needs on PATH, besides dockerd itself. */
export const REQUIRED_COMMANDS = ['containerd', 'ip', 'iptables', 'umount'] as const;

/** Absolute path of `command` found on PATH, or `undefined`. A path with a `/` is checked as is. */
export async function findOnPath(command: string): Promise<string | undefined> {
  const candidates = command.includes('/')
    ? [command]
    : (process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
        .split(delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs a host command; throws an Error carrying its stderr when it fails. */
export async function run(command: string, args: readonly string[], timeoutMs = 15_000): Promise<string> {
  const result = await execa(command, args, { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  if (result.failed) {
    const detail = String(result.stderr || result.stdout || result.shortMessage || '').trim();
    throw new Error(`\`${command} ${args.join(' ')}\` failed (exit ${String(result.exitCode)}): ${detail}`);
  }
  return result.stdout;
}

/** Runs a host command and reports only whether it succeeded. */
export async function succeeds(command: string, args: readonly string[], timeoutMs = 15_000): Promise<boolean> {
  const result = await execa(command, args, { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  return !result.failed;
}

// ---------------------------------------------------------------------------------------
// Links and subnets

/** Names of the host's network interfaces (`ip -o link show`). */
export async function listLinks(): Promise<string[]> {
  const out = await run('ip', ['-o', 'link', 'show']);
  const names: string[] = [];
  for (const line of out.split('\n')) {
    // "49: br-f5026f05c6a7: <…>" or "12: veth1a2b@if11: <…>"
    const match = /^\d+:\s+([^:@\s]+)[@:]/.exec(line);
    if (match?.[1]) names.push(match[1]);
  }
  return names;
}

export async function linkExists(name: string): Promise<boolean> {
  return (await listLinks()).includes(name);
}

/** An IPv4 range in use on the host: an interface address or a route. */
interface UsedRange {
  readonly network: number;
  readonly prefix: number;
  /** Interface it is on, when known. */
  readonly dev: string | undefined;
  readonly text: string;
}

function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    const n = Number(part);
    if (!/^\d{1,3}$/.test(part) || n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

function parseCidr(text: string, dev: string | undefined): UsedRange | undefined {
  const [address, prefixText] = text.split('/');
  const network = parseIpv4(address ?? '');
  const prefix = prefixText === undefined ? 32 : Number(prefixText);
  if (network === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  return { network, prefix, dev, text };
}

/** Whether two IPv4 ranges share any address. */
function overlaps(a: { network: number; prefix: number }, b: { network: number; prefix: number }): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const size = 2 ** (32 - prefix);
  return Math.floor(a.network / size) === Math.floor(b.network / size);
}

/** Every IPv4 address (with its prefix) and every route of the main table on the host. */
async function usedIpv4Ranges(): Promise<UsedRange[]> {
  const ranges: UsedRange[] = [];
  // "4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\ …"
  for (const line of (await run('ip', ['-o', '-4', 'addr', 'show'])).split('\n')) {
    const match = /^\d+:\s+(\S+)\s+inet\s+(\S+)/.exec(line);
    const range = match ? parseCidr(match[2] ?? '', match[1]) : undefined;
    if (range) ranges.push(range);
  }
  // "10.0.0.0/8 via 192.0.2.1 dev eth0", "172.17.0.0/16 dev docker0 proto kernel …"; skip "default".
  for (const line of (await run('ip', ['-4', 'route', 'show'])).split('\n')) {
    const [first] = line.trim().split(/\s+/);
    if (!first || first === 'default') continue;
    const dev = /\bdev\s+(\S+)/.exec(line)?.[1];
    const range = parseCidr(first, dev);
    if (range) ranges.push(range);
  }
  return ranges;
}

/** `10.212.<index>.0/24`. */
export function subnetOf(index: number): { subnet: string; gateway: string; network: number } {
  return { subnet: `10.212.${index}.0/24`, gateway: `10.212.${index}.1`, network: parseIpv4(`10.212.${index}.0`) ?? 0 };
}

/**
 * What on the host overlaps `10.212.<index>.0/24`, ignoring interface `exceptDev`;
 * `undefined` when nothing does.
 */
export async function subnetConflict(index: number, exceptDev?: string): Promise<string | undefined> {
  const mine = { network: subnetOf(index).network, prefix: 24 };
  for (const range of await usedIpv4Ranges()) {
    if (exceptDev !== undefined && range.dev === exceptDev) continue;
    if (overlaps(mine, range)) return `${range.text}${range.dev ? ` on ${range.dev}` : ''}`;
  }
  return undefined;
}

/** The first index in 0…255 whose /24 nothing on the host overlaps and that is not in `skip`. */
export async function findFreeSubnetIndex(skip: ReadonlySet<number>): Promise<number | undefined> {
  const used = await usedIpv4Ranges();
  for (let index = 0; index < 256; index++) {
    if (skip.has(index)) continue;
    const mine = { network: subnetOf(index).network, prefix: 24 };
    if (!used.some((range) => overlaps(mine, range))) return index;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// iptables

/**
 * `iptables -w … FORWARD -i <bridge> -o <bridge> -j ACCEPT`. `-w` waits for the xtables
 * lock, which the main daemon takes whenever it creates a network or a container.
 */
function forwardRule(bridge: string): string[] {
  return ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
}

/**
 * Lets containers on `bridge` reach each other: with the FORWARD policy DROP and a daemon
 * run with `--iptables=false`, bridged traffic is dropped until this rule exists
 * (DOCKER-NOTES.md, "A private second daemon"). Inserted at position 1, once.
 */
export async function insertForwardRule(bridge: string): Promise<void> {
  if (await succeeds('iptables', ['-w', '-C', ...forwardRule(bridge)])) return;
  await run('iptables', ['-w', '-I', 'FORWARD', '1', ...forwardRule(bridge).slice(1)]);
}

/** Deletes every copy of the rule {@link insertForwardRule} adds; absent is fine. */
export async function deleteForwardRule(bridge: string): Promise<void> {
  for (let i = 0; i < 16; i++) {
    if (!(await succeeds('iptables', ['-w', '-D', ...forwardRule(bridge)]))) return;
  }
}

// ---------------------------------------------------------------------------------------
// Mounts

/** Decodes the octal escapes of /proc/self/mountinfo (`\040` is a space, `\134` a backslash). */
function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * Mount points at or under `root`, most recent first (so children come before the mounts
 * they sit on), from /proc/self/mountinfo (field 5 is the mount point, see proc(5)).
 */
export async function mountsUnder(root: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const point = unescapeMountPath(field);
    if (point === root || point.startsWith(`${root}/`)) points.push(point);
  }
  return points.reverse();
}

/**
 * Unmounts everything at or under `root`: containers' overlay `merged` dirs, `shm` mounts,
 * network namespaces under the exec-root, and the data-root itself, which dockerd
 * bind-mounts onto itself and leaves mounted after a stop (DOCKER-NOTES.md). A busy mount
 * is detached lazily (`umount -l`). Returns the mount points still there afterwards.
 */
export async function unmountAllUnder(root: string): Promise<string[]> {
  for (let pass = 0; pass < 5; pass++) {
    const points = await mountsUnder(root);
    if (points.length === 0) return [];
    for (const point of points) {
      if (!(await succeeds('umount', [point]))) await succeeds('umount', ['-l', point]);
    }
  }
  return mountsUnder(root);
}

// ---------------------------------------------------------------------------------------
// Processes

/** One row of the process table. */
export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  /** Single-letter state from /proc/<pid>/stat: R, S, D, Z (zombie), … */
  readonly state: string;
  readonly cmdline: string;
}

/** /proc/<pid>/stat → state and ppid; `undefined` when the process is gone. */
async function readStat(pid: number): Promise<{ state: string; ppid: number } | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '?', ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/** True while `pid` exists and is not a zombie (a zombie holds no resources and ignores signals). */
export async function isAlive(pid: number): Promise<boolean> {
  const stat = await readStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** The command line of `pid` with NULs turned into spaces; `undefined` when gone. */
export async function readCmdline(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}

/** Every live (non-zombie) process on the host. */
export async function listProcesses(): Promise<ProcessInfo[]> {
  const rows: ProcessInfo[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const [stat, cmdline] = await Promise.all([readStat(pid), readCmdline(pid)]);
    if (stat === undefined || cmdline === undefined || stat.state === 'Z') continue;
    rows.push({ pid, ppid: stat.ppid, state: stat.state, cmdline });
  }
  return rows;
}

/** Programs of a Docker engine; only these are matched by command line (a shell that merely mentions the root is left alone). */
const DAEMON_PROGRAMS = new Set(['dockerd', 'containerd', 'containerd-shim', 'containerd-shim-runc-v1', 'containerd-shim-runc-v2', 'docker-proxy', 'runc']);

/**
 * Processes that belong to the daemon rooted at `root`: every engine program (dockerd,
 * containerd, shims, docker-proxy) whose command line names a path under it (dockerd: `--data-root <root>/data`; containerd: `--config
 * <root>/exec/containerd/containerd.toml`; each shim: `-address <root>/exec/containerd/…`),
 * and all their descendants (the containers' processes, children of the shims).
 */
export async function processesOfRoot(root: string): Promise<ProcessInfo[]> {
  const all = await listProcesses();
  const owned = new Set(all.filter((p) => DAEMON_PROGRAMS.has(basename(p.cmdline.split(' ')[0] ?? '')) && p.cmdline.includes(`${root}/`)).map((p) => p.pid));
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (!owned.has(p.pid) && owned.has(p.ppid)) {
        owned.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => owned.has(p.pid));
}

/** Polls until every pid is gone (or a zombie), or `timeoutMs` passes; returns those left. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = [...pids];
  for (;;) {
    const alive = await Promise.all(left.map(async (pid) => ((await isAlive(pid)) ? pid : undefined)));
    left = alive.filter((pid): pid is number => pid !== undefined);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await sleep(50);
  }
}

/** Sends `signal` and swallows ESRCH (the process is already gone). */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

// ---------------------------------------------------------------------------------------
// Leftovers of a daemon that did not clean up after itself

/**
 * Network ids recorded in the daemon's libnetwork store (`<data>/network/files/local-kv.db`,
 * a bolt file). A user network's bridge is named `br-<first 12 hex of its id>`, and dockerd
 * leaves those bridges on the host when it stops; this is how remove() finds them when the
 * daemon can no longer be asked. The ids are random, so a match never names a bridge of
 * another daemon.
 */
export async function networkIdsInStore(dataRoot: string): Promise<string[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dataRoot, 'network', 'files', 'local-kv.db'));
  } catch {
    return [];
  }
  return [...new Set(bytes.toString('latin1').match(/[0-9a-f]{64}/g) ?? [])];
}

/** Container ids of the daemon: the directory names under `<data>/containers`. */
export async function containerIdsOnDisk(dataRoot: string): Promise<string[]> {
  try {
    return (await readdir(join(dataRoot, 'containers'))).filter((name) => /^[0-9a-f]{64}$/.test(name));
  } catch {
    return [];
  }
}

/**
 * Removes the (empty) cgroup directories of containers whose processes were killed behind
 * dockerd's back: with the cgroupfs driver each container gets `/sys/fs/cgroup/<controller>
 * /docker/<id>` (v1) or `/sys/fs/cgroup/docker/<id>` (v2). Best effort.
 */
export async function removeContainerCgroups(ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  let controllers: string[];
  try {
    controllers = (await readdir('/sys/fs/cgroup')).map((c) => join('/sys/fs/cgroup', c));
  } catch {
    return;
  }
  const parents = ['/sys/fs/cgroup', ...controllers].map((dir) => join(dir, 'docker'));
  await Promise.all(
    parents.flatMap((parent) =>
      ids.map(async (id) => {
        try {
          await rmdir(join(parent, id));
        } catch {
          // absent, or still busy: nothing more to do here
        }
      }),
    ),
  );
}

/** The last `lines` lines of a text file (reads at most its last 64 KiB); `[]` when absent. */
export async function tailFile(path: string, lines = 30): Promise<string[]> {
  let handle;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const all = buffer
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '');
    return all.slice(-lines);
  } catch {
    return [];
  } finally {
    await handle?.close();
  }
}

/** Bytes of `path` from `offset` on, as text; `''` when absent. */
export async function readFrom(path: string, offset: number): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    if (size <= offset) return '';
    const buffer = Buffer.alloc(size - offset);
    await handle.read(buffer, 0, buffer.length, offset);
    return buffer.toString('utf8');
  } catch {
    return '';
  } finally {
    await handle?.close();
  }
}

/** Size of a file in bytes; 0 when absent. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
