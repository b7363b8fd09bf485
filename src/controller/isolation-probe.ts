import { createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { DockerClient } from '../docker/index.js';

/** One connection the host canary accepted: a worker reached a service on the controller's host. */
export interface CanaryContact {
  /** The token the probe sent: `<task>#<attempt>`; `?` when the peer sent none (not one of our probes). */
  readonly probe: string;
  /** The peer's address as the host saw it (the container's address on the path it found). */
  readonly from: string;
  /** The host address the peer connected to. */
  readonly to: string;
  /** ISO-8601, when the canary accepted it. */
  readonly at: string;
}

/**
 * A TCP listener on every address of the controller's host (0.0.0.0, an ephemeral port):
 * the stand-in for the host's own services that an isolated worker must not reach. It
 * answers nothing; it records who connected and which probe token they sent, so a hole is
 * proven from the host's side and not only by the probe's exit status.
 */
export interface HostCanary {
  readonly port: number;
  /** The host's IPv4 addresses, loopback excluded, as of now (`os.networkInterfaces()`); read at each probe, so an interface added mid-run is probed too. */
  addresses(): string[];
  /** Every connection so far, oldest first (at most 1000 kept). */
  contacts(): readonly CanaryContact[];
  close(): Promise<void>;
}

const MAX_CONTACTS = 1000;
/** How long the canary waits for a probe's token after accepting, ms: a probe sends it at once. */
const TOKEN_WAIT_MS = 1000;

/**
 * Opens the host canary.
 * @throws {Error} when no TCP port can be bound on 0.0.0.0 (listen's EADDRINUSE/EACCES)
 */
export async function startHostCanary(): Promise<HostCanary> {
  const contacts: CanaryContact[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const at = new Date().toISOString();
    const from = socket.remoteAddress?.replace(/^::ffff:/, '') ?? '?';
    const to = socket.localAddress?.replace(/^::ffff:/, '') ?? '?';
    let token = '';
    let recorded = false;
    const done = (): void => {
      if (recorded) return;
      recorded = true;
      clearTimeout(timer);
      if (contacts.length < MAX_CONTACTS) contacts.push({ probe: token.trim() || '?', from, to, at });
      socket.destroy();
    };
    const timer = setTimeout(done, TOKEN_WAIT_MS);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      token += chunk;
      if (token.includes('\n') || token.length > 200) {
        token = token.slice(0, token.indexOf('\n') >= 0 ? token.indexOf('\n') : 200);
        done();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      done();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '0.0.0.0', port: 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // The canary must never keep the controller's process alive.
  server.unref();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    addresses: () =>
      Object.values(networkInterfaces())
        .flatMap((infos) => infos ?? [])
        .filter((i) => i.family === 'IPv4' && !i.internal)
        .map((i) => i.address),
    contacts: () => contacts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** What one probe saw from inside an attempt container. */
export interface IsolationProbe {
  /** `<task>#<attempt>`, the token its connections carry. */
  readonly probe: string;
  /** Every network interface in the container's namespace (`/sys/class/net`), with or without an address. */
  readonly interfaces: readonly string[];
  /** `ip:port` targets the probe connected to from inside. */
  readonly reached: readonly string[];
  /** `ip:port` targets it could not connect to. */
  readonly unreachable: readonly string[];
  /** Why the probe did not run (the container had exited, exec was refused), if it did not. */
  readonly error?: string;
}

/** Each connect attempt's bound inside the container, s: an address a firewall drops silently costs the probe this long. */
const CONNECT_TIMEOUT_S = 2;

/**
 * Probes a running attempt container's network isolation from inside it, with `docker exec`
 * (the image's busybox `sh`, `ls`, `timeout`, `nc`; as the worker's own user): lists
 * `/sys/class/net` and tries a TCP connection to the host canary on each of `targets`
 * (`ip`s, all at once, each bounded by 2 s), sending the probe's token. A target counts as
 * reached when `nc` connected; the canary's own record is the host-side evidence of it.
 *
 * A paused or stopped container is not exec'd into (inspected first); the whole probe is
 * bounded by `timeoutMs` (default 15 s). Never throws: a probe that could not run says why
 * in `error` (a container that exited or was paused first, a daemon that refused it).
 */
export async function probeIsolation(
  docker: Pick<DockerClient, 'execInContainer' | 'inspectContainer'>,
  containerId: string,
  options: {
    probe: string;
    port: number;
    targets: readonly string[];
    user?: string;
    timeoutMs?: number;
    /** An inspect of the container already under way (the controller's audit): reused rather than repeated. */
    inspected?: Promise<{ state: { paused: boolean; running: boolean } }>;
    /** Asked just before the exec: a reason not to exec now (a pause fault has chosen the container), or undefined. */
    holdOff?: () => string | undefined;
  },
): Promise<IsolationProbe> {
  const skipped = (error: string): IsolationProbe => ({ probe: options.probe, interfaces: [], reached: [], unreachable: [], error });
  // Never exec into a paused container: runc exec then waits in the frozen cgroup and holds
  // the container's lock in dockerd until someone thaws it (see FaultContext.quiesce).
  let state: { paused: boolean; running: boolean };
  try {
    state = (await (options.inspected ?? docker.inspectContainer(containerId))).state;
  } catch (error) {
    return skipped(`cannot inspect the container: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (state.paused) return skipped('the container is paused');
  if (!state.running) return skipped('the container is not running (it exited before the probe)');
  const hold = options.holdOff?.();
  if (hold) return skipped(hold);
  // A hard bound on the whole exec: a run must never wait on a probe.
  const limitMs = options.timeoutMs ?? (CONNECT_TIMEOUT_S + 13) * 1000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<IsolationProbe>((resolve) => {
    timer = setTimeout(() => resolve(skipped(`the probe did not finish within ${limitMs} ms`)), limitMs);
  });
  try {
    return await Promise.race([execProbe(docker, containerId, options), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function execProbe(
  docker: Pick<DockerClient, 'execInContainer'>,
  containerId: string,
  options: { probe: string; port: number; targets: readonly string[]; user?: string },
): Promise<IsolationProbe> {
  const token = options.probe.replace(/[^A-Za-z0-9_.#:-]/g, '_');
  const targets = options.targets.filter((t) => /^\d{1,3}(\.\d{1,3}){3}$/.test(t));
  // One line per interface, then one per target: "reached <ip>" or "unreachable <ip>".
  const script = [
    // Without nc or timeout every target would read "unreachable": a probe that proved nothing.
    'for t in nc timeout; do command -v $t >/dev/null 2>&1 || { echo "missing $t"; exit 3; }; done',
    'for i in /sys/class/net/*; do echo "if ${i##*/}"; done',
    ...targets.map(
      (ip) => `( if echo '${token}' | timeout ${CONNECT_TIMEOUT_S} nc ${ip} ${options.port} >/dev/null 2>&1; then echo "reached ${ip}"; else echo "unreachable ${ip}"; fi ) &`,
    ),
    'wait',
  ].join('\n');
  try {
    const { exitCode, output } = await docker.execInContainer(containerId, ['/bin/sh', '-c', script], {
      timeoutMs: (CONNECT_TIMEOUT_S + 8) * 1000,
      ...(options.user ? { user: options.user } : {}),
    });
    const lines = output.split('\n').map((l) => l.trim());
    const missing = lines.find((l) => l.startsWith('missing '));
    if (missing)
      return { probe: options.probe, interfaces: [], reached: [], unreachable: [], error: `the image has no ${missing.slice(8)} (set expect.isolationProbe: false for it)` };
    const interfaces = lines
      .filter((l) => l.startsWith('if '))
      .map((l) => l.slice(3))
      .sort();
    if (interfaces.length === 0) {
      return { probe: options.probe, interfaces: [], reached: [], unreachable: [], error: `the probe printed no interface (exit ${exitCode}): ${output.slice(0, 200)}` };
    }
    const at = (ip: string): string => `${ip}:${options.port}`;
    const answered = lines.filter((l) => l.startsWith('reached ') || l.startsWith('unreachable ')).length;
    if (answered < targets.length) {
      return {
        probe: options.probe,
        interfaces,
        reached: [],
        unreachable: [],
        error: `the probe answered for ${answered} of ${targets.length} host addresses (exit ${exitCode}; cut short?)`,
      };
    }
    return {
      probe: options.probe,
      interfaces,
      reached: lines.filter((l) => l.startsWith('reached ')).map((l) => at(l.slice(8))),
      unreachable: lines.filter((l) => l.startsWith('unreachable ')).map((l) => at(l.slice(12))),
    };
  } catch (error) {
    return { probe: options.probe, interfaces: [], reached: [], unreachable: [], error: error instanceof Error ? error.message : String(error) };
  }
}
