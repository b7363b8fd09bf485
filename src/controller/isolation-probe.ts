import { createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { HelperContainerError, ResourceConflictError, runHelperContainer, type DockerClient } from '../docker/index.js';

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

/** What one probe saw from inside an attempt container's network namespace. */
export interface IsolationProbe {
  /** `<task>#<attempt>`, the token its connections carry. */
  readonly probe: string;
  /** Every network interface in the container's namespace (`/sys/class/net`), with or without an address. */
  readonly interfaces: readonly string[];
  /** `ip:port` targets the probe connected to from inside. */
  readonly reached: readonly string[];
  /** `ip:port` targets it could not connect to. */
  readonly unreachable: readonly string[];
  /** Why the probe did not run (the container had exited, the helper could not start), if it did not. */
  readonly error?: string;
}

/** Each connect attempt's bound inside the namespace, s: an address a firewall drops silently costs the probe this long. */
const CONNECT_TIMEOUT_S = 2;

/** The slice of the Docker client a probe uses: an inspect, and one helper container's life. */
export type ProbeClient = Pick<DockerClient, 'inspectContainer' | 'createContainer' | 'startContainer' | 'waitContainer' | 'containerLogs' | 'removeContainer'>;

/** What {@link probeIsolation} needs besides the client and the attempt's container. */
export interface ProbeOptions {
  /** `<task>#<attempt>`: the token sent to the canary, and the probe's name in events. */
  readonly probe: string;
  /** The host canary's TCP port. */
  readonly port: number;
  /** Host IPv4 addresses to try (anything else is dropped). */
  readonly targets: readonly string[];
  /** keelhaul's image, with busybox `sh`, `timeout` and `nc` (`keelhaul/worker:<version>`); never the worker's. */
  readonly image: string;
  /** The helper's container name ({@link isolationProbeName}). */
  readonly name: string;
  /** The run's labels for the helper (role `probe`, the attempt's task and attempt). */
  readonly labels: Readonly<Record<string, string>>;
  /** Bound on the whole probe, ms. @default 15000 */
  readonly timeoutMs?: number;
  /** An inspect of the container already under way (the controller's audit): reused rather than repeated. */
  readonly inspected?: Promise<{ state: { paused: boolean; running: boolean } }>;
}

/**
 * Probes a running attempt container's network isolation from inside its network namespace,
 * with a helper container of keelhaul's own image that joins it (`HostConfig.NetworkMode:
 * container:<id>`, https://docs.docker.com/engine/reference/run/#network-settings) — so the
 * worker's image needs no shell or tools, and a distroless worker is probed like any other.
 * The helper lists `/sys/class/net` (sysfs is mounted after the namespace is joined, so it
 * shows the worker's interfaces) and tries a TCP connection to the host canary on each of
 * `targets` (all at once, each bounded by 2 s), sending the probe's token. A target counts as
 * reached when `nc` connected; the canary's own record is the host-side evidence of it.
 *
 * The helper is hardened as an attempt is (no capability, read-only root, no-new-privileges,
 * 32 MiB, 64 pids, user nobody), labelled with the run and `dev.keelhaul.skip=true` (never a
 * fault target, never an attempt: role `probe`) and removed as soon as it exits. A paused
 * container is probed too: the helper is a process of its own, outside the frozen cgroup
 * (unlike `docker exec`, which waited in it). Never throws: a probe that could not run says why
 * in `error` (the container exited first, keelhaul's image is missing, the daemon refused).
 */
export async function probeIsolation(docker: ProbeClient, containerId: string, options: ProbeOptions): Promise<IsolationProbe> {
  const skipped = (error: string): IsolationProbe => ({ probe: options.probe, interfaces: [], reached: [], unreachable: [], error });
  let state: { paused: boolean; running: boolean };
  try {
    state = (await (options.inspected ?? docker.inspectContainer(containerId))).state;
  } catch (error) {
    return skipped(`cannot inspect the container: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!state.running) return skipped('the container is not running (it exited before the probe)');
  const targets = options.targets.filter((t) => /^\d{1,3}(\.\d{1,3}){3}$/.test(t));
  try {
    const { exitCode, stdout, stderr } = await runHelperContainer(
      docker,
      {
        name: options.name,
        image: options.image,
        labels: options.labels,
        networkMode: `container:${containerId}`,
        command: ['/bin/sh', '-c', probeScript(options.probe, options.port, targets)],
      },
      // A hard bound on the whole probe: a run must never wait on one.
      { timeoutMs: options.timeoutMs ?? (CONNECT_TIMEOUT_S + 13) * 1000 },
    );
    return parseProbeOutput(options.probe, options.port, targets.length, exitCode, `${stdout}${stderr ? `\n${stderr}` : ''}`);
  } catch (error) {
    // The daemon refuses to join the namespace of a container that is no longer running (409).
    if (error instanceof HelperContainerError && error.stage === 'start' && error.cause instanceof ResourceConflictError) {
      return skipped(`the container is not running (it exited before the probe): ${error.cause.message}`);
    }
    return skipped(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The probe's shell script (busybox `sh`): one line per interface (`if <name>`), then one per
 * target, `reached <ip>` or `unreachable <ip>`; `missing <tool>` and exit 3 when the image
 * lacks `nc` or `timeout`. The token is reduced to `[A-Za-z0-9_.#:-]` so it cannot break out
 * of its quotes; targets must already be dotted IPv4.
 */
export function probeScript(probe: string, port: number, targets: readonly string[]): string {
  const token = probe.replace(/[^A-Za-z0-9_.#:-]/g, '_');
  return [
    // Without nc or timeout every target would read "unreachable": a probe that proved nothing.
    'for t in nc timeout; do command -v $t >/dev/null 2>&1 || { echo "missing $t"; exit 3; }; done',
    'for i in /sys/class/net/*; do echo "if ${i##*/}"; done',
    ...targets.map(
      (ip) => `( if echo '${token}' | timeout ${CONNECT_TIMEOUT_S} nc ${ip} ${port} >/dev/null 2>&1; then echo "reached ${ip}"; else echo "unreachable ${ip}"; fi ) &`,
    ),
    'wait',
  ].join('\n');
}

/**
 * Reads {@link probeScript}'s output into a probe (pure). An output with no interface line, a
 * `missing` line, or fewer answers than `targetCount` is a probe that proved nothing: it
 * comes back with `error` and empty lists, never as "nothing reached".
 */
export function parseProbeOutput(probe: string, port: number, targetCount: number, exitCode: number, output: string): IsolationProbe {
  const none = (error: string): IsolationProbe => ({ probe, interfaces: [], reached: [], unreachable: [], error });
  const lines = output.split('\n').map((l) => l.trim());
  const missing = lines.find((l) => l.startsWith('missing '));
  if (missing) return none(`keelhaul's probe image has no ${missing.slice(8)}`);
  const interfaces = lines
    .filter((l) => l.startsWith('if '))
    .map((l) => l.slice(3))
    .sort();
  if (interfaces.length === 0) return none(`the probe printed no interface (exit ${exitCode}): ${output.slice(0, 200)}`);
  const at = (ip: string): string => `${ip}:${port}`;
  const answered = lines.filter((l) => l.startsWith('reached ') || l.startsWith('unreachable ')).length;
  if (answered < targetCount) {
    return { probe, interfaces, reached: [], unreachable: [], error: `the probe answered for ${answered} of ${targetCount} host addresses (exit ${exitCode}; cut short?)` };
  }
  return {
    probe,
    interfaces,
    reached: lines.filter((l) => l.startsWith('reached ')).map((l) => at(l.slice(8))),
    unreachable: lines.filter((l) => l.startsWith('unreachable ')).map((l) => at(l.slice(12))),
  };
}
