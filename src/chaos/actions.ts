import { execa } from 'execa';
import { Label, type DockerClient, type FaultDockerClient } from '../docker/index.js';
import type { FaultSpec } from '../scenario/index.js';

/**
 * What each fault kind does to one target container. Each kind uses only the narrow
 * slice of the Docker client it needs; host-side faults (a kill of the init pid, tc netem
 * in the container's network namespace) need root on the Docker host.
 */

/** The slice of the Docker client faults use (declared in docker/, shared with the local backend). */
export type { FaultDockerClient } from '../docker/index.js';

/** What a partition's probe saw: whether each side could reach the other. */
export interface PartitionCheck {
  readonly containerId: string;
  readonly network: string;
  /** `cut`: right after the disconnect (both should be false); `restored`: after the reconnect (both true). */
  readonly phase: 'cut' | 'restored';
  readonly fromProbe: boolean;
  readonly fromTarget: boolean;
  /** The target ran when checked (a target that exited cannot answer). */
  readonly targetRunning: boolean;
}

/** What a fault needs beyond the target: the run's identity for labels, its image, its workspace size. */
export interface FaultContext {
  readonly docker: FaultDockerClient;
  /** Labels for helper containers (the filler), carrying the run label so cleanup finds them. */
  readonly helperLabels: (role: 'filler' | 'probe') => Record<string, string>;
  /** The run's own network (network: internal), the default a partition cuts. */
  readonly networkName?: string;
  /** Receives what a partition's probe saw, at the cut and after the reconnect. */
  readonly onPartitionCheck?: (check: PartitionCheck) => void;
  /** The run's worker image; the filler runs its busybox. */
  readonly image: string;
  /** The workspace volume's size (scenario `workspace.size`), bytes. */
  readonly workspaceSizeBytes?: number;
  /** The run's daemon, for daemon faults; only a daemon keelhaul started can be stopped (`canControl`). */
  readonly daemon?: {
    readonly canControl: boolean;
    stop(): Promise<unknown>;
    kill(): Promise<unknown>;
    start(): Promise<unknown>;
    restart(): Promise<unknown>;
  };
  /** Runs a command on the host (tests may fake it). @default execa */
  readonly exec?: (file: string, args: readonly string[]) => Promise<{ stdout: string }>;
  /**
   * A backend that acts on its own attempts (the local backend's processes) instead of
   * through the Docker client: every fault goes to it. Unset for containers.
   */
  readonly apply?: (spec: FaultSpec, targetId: string) => Promise<Undo | undefined>;
  /**
   * Resolves once nothing of the controller's is executing inside the container (the
   * isolation probe's `docker exec`). A pause waits for it: a process exec'd into a
   * container frozen mid-exec leaves `runc exec` stuck in dockerd holding the container's
   * lock, and every later list, kill, unpause or removal of it hangs until the cgroup is
   * thawed by hand (seen here, Docker 20.10, cgroup v1 freezer).
   */
  readonly quiesce?: (containerId: string) => Promise<void>;
}

/** Undoes a fault with a duration (unpause, remove netem); safe to call when the target is gone. */
export type Undo = () => Promise<void>;

/** A fault could not act on its target; `target` is the container id. */
export class FaultActionError extends Error {
  override name = 'FaultActionError';
  readonly kind: string;
  readonly target: string;
  constructor(kind: string, target: string, message: string, options: { cause?: unknown } = {}) {
    super(`${kind} on container ${target.slice(0, 12)}: ${message}`, options);
    this.kind = kind;
    this.target = target;
  }
}

/** Runs a command on the host, resolving with its stdout; rejects when it cannot run or exits non-zero. */
export type HostExec = (file: string, args: readonly string[]) => Promise<{ stdout: string }>;

/** {@link HostExec} with execa, bounded at 10 s (iptables, tc, nsenter, ip: each answers in milliseconds). */
export const runOnHost: HostExec = async (file, args) => {
  const result = await execa(file, [...args], { timeout: 10_000 });
  return { stdout: result.stdout };
};
const defaultExec = runOnHost;

/** The host pid of a running container's init, from `State.Pid`. */
async function initPid(docker: FaultDockerClient, id: string, kind: string): Promise<number> {
  const info = await docker.inspectContainer(id);
  if (!info.state.running || info.state.pid <= 0) throw new FaultActionError(kind, id, `not running (state ${info.state.status})`);
  return info.state.pid;
}

/** netem arguments in tc(8)'s syntax, e.g. `delay 100ms 10ms loss 1% rate 1000kbit`. */
export function netemArgs(params: Extract<FaultSpec, { kind: 'netem' }>['params']): string[] {
  const args: string[] = [];
  if (params.delayMs !== undefined) {
    args.push('delay', `${params.delayMs}ms`);
    if (params.jitterMs !== undefined) args.push(`${params.jitterMs}ms`);
  }
  if (params.lossPercent !== undefined) args.push('loss', `${params.lossPercent}%`);
  if (params.duplicatePercent !== undefined) args.push('duplicate', `${params.duplicatePercent}%`);
  if (params.corruptPercent !== undefined) args.push('corrupt', `${params.corruptPercent}%`);
  if (params.rateKbit !== undefined) args.push('rate', `${params.rateKbit}kbit`);
  return args;
}

type NetemParams = Extract<FaultSpec, { kind: 'netem' }>['params'];

/** A host command (run inside the target's network namespace) and the command that undoes it. */
interface ShapingCommand {
  readonly apply: string[];
  readonly undo: string[];
}

let netemProbe: Promise<boolean> | undefined;

/**
 * Whether this kernel has the netem qdisc (CONFIG_NET_SCH_NETEM): probed once in a
 * throw-away network namespace. Some kernels (this project's CI machine among them) ship
 * without it; see {@link netemFallbackProblem}.
 */
export function netemSupported(
  exec: (file: string, args: readonly string[]) => Promise<{ stdout: string }> = defaultExec,
): Promise<boolean> {
  netemProbe ??= exec('unshare', ['--net', 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']).then(
    () => true,
    () => false,
  );
  return netemProbe;
}

/**
 * Without netem, loss is applied with iptables' statistic match (DROP a random share of
 * outgoing packets) and rate with a tbf qdisc; delay, jitter, duplicate and corrupt have no
 * substitute. Returns the problem in words when `params` need netem, else undefined.
 */
export function netemFallbackProblem(params: NetemParams): string | undefined {
  const needNetem = (['delayMs', 'jitterMs', 'duplicatePercent', 'corruptPercent'] as const).filter((k) => params[k] !== undefined);
  if (needNetem.length === 0) return undefined;
  return `${needNetem.join(', ')} ${needNetem.length > 1 ? 'need' : 'needs'} the netem qdisc, which this kernel lacks (CONFIG_NET_SCH_NETEM); lossPercent and rateKbit work without it`;
}

function netemCommands(params: NetemParams, devices: readonly string[]): ShapingCommand[] {
  return devices.map((dev) => ({
    apply: ['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'netem', ...netemArgs(params)],
    undo: ['tc', 'qdisc', 'del', 'dev', dev, 'root'],
  }));
}

/**
 * The comment an iptables rule a fault adds carries: the run's mark, by which the no-leaks
 * check finds rules left behind (src/controller/rule-leaks.ts).
 */
export function ruleMark(runId: string): string {
  return `keelhaul:${runId}`;
}

function fallbackCommands(params: NetemParams, devices: readonly string[], mark: string): ShapingCommand[] {
  const problem = netemFallbackProblem(params);
  if (problem) throw new FaultActionError('netem', '', problem);
  const commands: ShapingCommand[] = [];
  for (const dev of devices) {
    if (params.lossPercent !== undefined) {
      const rule = ['OUTPUT', '-o', dev, '-m', 'statistic', '--mode', 'random', '--probability', String(params.lossPercent / 100), '-m', 'comment', '--comment', mark, '-j', 'DROP'];
      commands.push({ apply: ['iptables', '-w', '-I', ...rule], undo: ['iptables', '-w', '-D', ...rule] });
    }
    if (params.rateKbit !== undefined) {
      commands.push({
        // burst: at least one MTU-sized packet per tick; latency bounds the queue.
        apply: ['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${params.rateKbit}kbit`, 'burst', '32kbit', 'latency', '400ms'],
        undo: ['tc', 'qdisc', 'del', 'dev', dev, 'root'],
      });
    }
  }
  return commands;
}

/**
 * Applies one fault to one target. Returns an undo for faults with a duration (the
 * injector calls it after `durationMs`, or at the end of the run, whichever comes first).
 *
 * @throws {FaultActionError} when the target is not in a state the fault can act on
 * @throws {DockerError} when the daemon refuses
 */
export async function applyFault(spec: FaultSpec, containerId: string, ctx: FaultContext): Promise<Undo | undefined> {
  if (ctx.apply) return ctx.apply(spec, containerId);
  const { docker } = ctx;
  const exec = ctx.exec ?? defaultExec;
  switch (spec.kind) {
    case 'kill': {
      if (spec.params.mode !== 'host') {
        await docker.killContainer(containerId, spec.params.signal);
        return undefined;
      }
      // A signal to the init pid from the host: Docker does not see a manual stop, so
      // restart policies apply (unlike an API kill, moby#47792).
      const pid = await initPid(docker, containerId, spec.kind);
      try {
        process.kill(pid, spec.params.signal as NodeJS.Signals);
      } catch (error) {
        throw new FaultActionError(spec.kind, containerId, `kill(${pid}, ${spec.params.signal}) failed: ${(error as Error).message}`, { cause: error });
      }
      return undefined;
    }
    case 'stop':
      await docker.stopContainer(containerId, { timeoutSeconds: Math.ceil(spec.params.graceMs / 1000) });
      return undefined;
    case 'restart':
      // The same container starts again: the backend sees its output stream end, finds it
      // running and follows it; the attempt goes on (the worker starts its task over).
      await docker.restartContainer(containerId, { timeoutSeconds: Math.ceil(spec.params.graceMs / 1000) });
      return undefined;
    case 'partition':
      return partition(containerId, spec.params, ctx);
    case 'pause': {
      await ctx.quiesce?.(containerId);
      await docker.pauseContainer(containerId);
      return async () => {
        const info = await docker.inspectContainer(containerId).catch(() => undefined);
        if (info?.state.paused) await docker.unpauseContainer(containerId);
      };
    }
    case 'netem': {
      const pid = await initPid(docker, containerId, spec.kind);
      const ns = ['-t', String(pid), '-n'];
      let devices: string[];
      if (spec.params.device) {
        devices = [spec.params.device];
      } else {
        const { stdout } = await exec('nsenter', [...ns, 'ip', '-o', 'link', 'show']);
        const names = stdout
          .split('\n')
          .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
          .filter((n): n is string => n !== undefined);
        const outside = names.filter((n) => n !== 'lo');
        devices = outside.length > 0 ? outside : names.filter((n) => n === 'lo');
      }
      if (devices.length === 0) throw new FaultActionError(spec.kind, containerId, 'no network interface to shape');
      const commands = (await netemSupported(exec)) ? netemCommands(spec.params, devices) : fallbackCommands(spec.params, devices, ruleMark(ctx.helperLabels('probe')[Label.run] ?? 'unknown'));
      const applied: string[][] = [];
      try {
        for (const c of commands) {
          await exec('nsenter', [...ns, ...c.apply]);
          applied.push(c.undo);
        }
      } catch (error) {
        for (const undo of applied.reverse()) await exec('nsenter', [...ns, ...undo]).catch(() => undefined);
        throw error;
      }
      return async () => {
        // The namespace is gone with the container: nothing left to remove then.
        for (const undo of applied.reverse()) await exec('nsenter', [...ns, ...undo]).catch(() => undefined);
      };
    }
    case 'daemon-stop':
    case 'daemon-kill':
    case 'daemon-restart': {
      const daemon = ctx.daemon;
      if (!daemon?.canControl) throw new FaultActionError(spec.kind, 'daemon', 'keelhaul only stops or kills a daemon it started (daemon: { mode: private })');
      if (spec.kind === 'daemon-restart') {
        await daemon.restart();
        return undefined;
      }
      await (spec.kind === 'daemon-stop' ? daemon.stop() : daemon.kill());
      return async () => {
        await daemon.start();
      };
    }
    case 'fill-disk': {
      if (ctx.workspaceSizeBytes === undefined) {
        throw new FaultActionError(spec.kind, containerId, 'the scenario sets no workspace.size, so there is no size to fill to');
      }
      const info = await docker.inspectContainer(containerId);
      const volume = info.mounts.find((m) => m.destination === '/workspace' && m.type === 'volume');
      if (!volume) throw new FaultActionError(spec.kind, containerId, 'has no workspace volume at /workspace');
      const volumeName = volume.name;
      const bytes = Math.floor((ctx.workspaceSizeBytes * spec.params.percent) / 100);
      const blocks = Math.max(1, Math.ceil(bytes / 65_536));
      const fillerId = await docker.createContainer({
        name: `${info.name}-filler-${Date.now().toString(36)}`,
        image: ctx.image,
        labels: { ...ctx.helperLabels('filler'), [Label.task]: info.labels[Label.task] ?? '' },
        env: {},
        entrypoint: ['/bin/sh', '-c'],
        // dd stops at ENOSPC by itself; `true` so a full disk is the expected outcome, not an error.
        cmd: [`dd if=/dev/zero of=/workspace/.keelhaul-fill bs=65536 count=${blocks} 2>/dev/null; sync; true`],
        user: '1000:1000',
        networkMode: 'none',
        mounts: [{ type: 'volume', source: volumeName, target: '/workspace' }],
        readonlyRootfs: true,
        capDrop: ['ALL'],
        securityOpt: ['no-new-privileges'],
        memoryBytes: 64 * 1024 * 1024,
        pidsLimit: 16,
      });
      try {
        await docker.startContainer(fillerId);
        await docker.waitContainer(fillerId);
      } finally {
        await docker.removeContainer(fillerId, { force: true }).catch(() => undefined);
      }
      return undefined;
    }
  }
}

/**
 * Whether `from` can reach `ip`: a TCP connect to port 1 answered with "Connection
 * refused" proves the path works (nothing listens, but the host answered); a timeout or
 * "Network is unreachable" means it does not. No listener and no ICMP (a non-root worker
 * cannot ping: busybox ping needs a raw socket) are needed.
 */
async function reaches(docker: FaultDockerClient, from: string, ip: string): Promise<boolean> {
  if (!ip) return false;
  const { output } = await docker.execInContainer(from, ['/bin/sh', '-c', `timeout 1 nc ${ip} 1 </dev/null 2>&1; true`], { timeoutMs: 4000 });
  return /refused/i.test(output);
}

/** Whether another container of the run now holds `ip` on `network`. */
async function addressTakenByAnother(docker: FaultDockerClient, ctx: FaultContext, network: string, ip: string, except: string): Promise<boolean> {
  const run = ctx.helperLabels('probe')[Label.run];
  if (!run) return false;
  const running = await docker.listContainers({ labels: { [Label.run]: run }, status: 'running' });
  for (const c of running) {
    if (c.id === except) continue;
    const info = await docker.inspectContainer(c.id).catch(() => undefined);
    if (info?.networkAddresses[network] === ip) return true;
  }
  return false;
}

async function partition(
  containerId: string,
  params: Extract<FaultSpec, { kind: 'partition' }>['params'],
  ctx: FaultContext,
): Promise<Undo> {
  const { docker } = ctx;
  const info = await docker.inspectContainer(containerId);
  const network = params.network ?? ctx.networkName ?? info.networks[0];
  if (!network || !(network in info.networkAddresses)) {
    throw new FaultActionError('partition', containerId, `is not on network ${network ?? '(none)'}; it is on ${info.networks.join(', ') || 'no network'}`);
  }
  const targetIp = info.networkAddresses[network] ?? '';
  // The probe: a labelled, unprivileged container of the run's own image on the same network.
  const probe = await docker.createContainer({
    name: `${info.name}-probe-${Date.now().toString(36)}`,
    image: ctx.image,
    labels: ctx.helperLabels('probe'),
    env: {},
    entrypoint: ['/bin/sh', '-c'],
    cmd: ['sleep 3600'],
    user: '1000:1000',
    networkMode: network,
    mounts: [],
    readonlyRootfs: true,
    capDrop: ['ALL'],
    securityOpt: ['no-new-privileges'],
    memoryBytes: 32 * 1024 * 1024,
    pidsLimit: 16,
  });
  const removeProbe = (): Promise<void> => docker.removeContainer(probe, { force: true }).catch(() => undefined);
  try {
    await docker.startContainer(probe);
    const probeIp = (await docker.inspectContainer(probe)).networkAddresses[network] ?? '';
    await docker.disconnectNetwork(network, containerId);
    const check = async (phase: 'cut' | 'restored'): Promise<void> => {
      const running = (await docker.inspectContainer(containerId).catch(() => undefined))?.state.running ?? false;
      let [fromProbe, fromTarget] = await Promise.all([
        reaches(docker, probe, targetIp).catch(() => false),
        running ? reaches(docker, containerId, probeIp).catch(() => false) : Promise.resolve(false),
      ]);
      if (phase === 'cut' && fromProbe && (await addressTakenByAnother(docker, ctx, network, targetIp, containerId))) {
        // Docker frees a disconnected container's address and may give it to a container
        // launched meanwhile: the probe reached that one, not the target.
        fromProbe = false;
      }
      ctx.onPartitionCheck?.({ containerId, network, phase, fromProbe, fromTarget, targetRunning: running });
    };
    // Checked in the background: the fault's duration runs from the disconnect, not from
    // the end of the check (an unreachable peer costs the probe its connect timeout).
    const cut = check('cut').catch(() => undefined);
    return async () => {
      await cut;
      try {
        const current = await docker.inspectContainer(containerId).catch(() => undefined);
        if (current && !(network in current.networkAddresses)) await docker.connectNetwork(network, containerId);
        if (current?.state.running) await check('restored');
      } finally {
        await removeProbe();
      }
    };
  } catch (error) {
    await removeProbe();
    throw error;
  }
}

/** A fault the scenario asks for cannot run on this host (no netem, not root). Nothing was started. */
export class FaultSupportError extends Error {
  override name = 'FaultSupportError';
  /** The scenario field at fault, e.g. `faults[2].params.delayMs`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/**
 * Checks, before a run creates anything, that this host can apply every fault of the
 * scenario: host-side faults (kill mode host, netem) need root on the Docker host (kill(2)
 * of another user's process, nsenter); netem's delay, jitter, duplicate and corrupt need
 * the kernel's netem qdisc.
 *
 * @throws {FaultSupportError} naming the first field that cannot be honoured
 */
export async function preflightFaults(
  faults: readonly FaultSpec[],
  exec: (file: string, args: readonly string[]) => Promise<{ stdout: string }> = defaultExec,
): Promise<void> {
  const root = process.getuid?.() === 0;
  for (const [i, fault] of faults.entries()) {
    const hostSide = (fault.kind === 'kill' && fault.params.mode === 'host') || fault.kind === 'netem';
    if (hostSide && !root) {
      throw new FaultSupportError(`faults[${i}].kind`, `${fault.kind}${fault.kind === 'kill' ? ' (mode host)' : ''} acts from the host and needs root`);
    }
    if (fault.kind === 'netem' && !(await netemSupported(exec))) {
      const problem = netemFallbackProblem(fault.params);
      if (problem) throw new FaultSupportError(`faults[${i}].params`, problem);
    }
  }
}
