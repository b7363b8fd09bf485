import { execa } from 'execa';
import { DaemonUnavailableError, Label, ResourceConflictError, ResourceNotFoundError, runHelperContainer, TargetUnavailableError, type DockerClient } from '../docker/index.js';
import type { FaultKind, FaultSpec } from '../scenario/index.js';

/**
 * What each fault kind does, as a registry: {@link FAULT_ACTIONS} holds one
 * {@link FaultAction} per kind, and each action declares the narrow slice of the Docker
 * client it uses (`uses`); {@link applyFault} hands it that slice and nothing more.
 * Host-side faults (a kill of the init pid, tc netem in the container's network namespace)
 * need root on the Docker host. A new kind is one entry here and one in the scenario schema.
 */

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

/**
 * The injector's only Docker call: the label query it lists candidate targets with
 * (`status: 'running'`). The local backend answers it from its table of live attempts.
 */
export type TargetSource = Pick<DockerClient, 'listContainers'>;

/** Runs a command on the host, resolving with its stdout; rejects when it cannot run or exits non-zero. */
export type HostExec = (file: string, args: readonly string[]) => Promise<{ stdout: string }>;

/** Undoes a fault with a duration (unpause, remove netem); safe to call when the target is gone. */
export type Undo = () => Promise<void>;

/**
 * A backend that acts on its own attempts (the local backend's processes) instead of through
 * the Docker client. Rejects with {@link TargetUnavailableError} for a target that exited
 * or is held, as the Docker actions do.
 */
export type BackendApply = (spec: FaultSpec, targetId: string) => Promise<Undo | undefined>;

/** The run's daemon, for daemon faults; only a daemon keelhaul started can be stopped (`canControl`). A `PrivateDaemon` fits it. */
export interface FaultDaemon {
  readonly canControl: boolean;
  stop(): Promise<unknown>;
  kill(): Promise<unknown>;
  start(): Promise<unknown>;
  restart(): Promise<unknown>;
}

/**
 * The run's system under test (scenario `sut`, docs/sut.md), for `sut-kill`: signals its
 * whole process group, then resumes it with its `resume` command when asked.
 */
export interface FaultSut {
  /**
   * @param signal a signal name (`SIGKILL`)
   * @returns once the signal is sent; the resume (when asked) follows in the background after `resumeAfterMs`
   * @throws {FaultActionError} when no SUT process is running to receive it
   */
  kill(signal: string, options: { resume: boolean; resumeAfterMs: number }): Promise<void>;
}

/** What faults need beyond the target and the Docker client: the run's identity for labels, its image, its workspace size. */
export interface FaultEnvironment {
  /** Labels for helper containers (the filler), carrying the run label so cleanup finds them. */
  readonly helperLabels: (role: 'filler' | 'probe') => Record<string, string>;
  /** The run's own network (network: internal), the default a partition cuts. */
  readonly networkName?: string;
  /** Receives what a partition's probe saw, at the cut and after the reconnect. */
  readonly onPartitionCheck?: (check: PartitionCheck) => void;
  /** The image helper containers run (the filler's `dd`, the partition probe's `nc`): keelhaul's own `keelhaul/worker:<version>`, never the user's worker image. */
  readonly image: string;
  /** The workspace volume's size (scenario `workspace.size`), bytes. */
  readonly workspaceSizeBytes?: number;
  /** The run's daemon, for daemon faults. */
  readonly daemon?: FaultDaemon;
  /** The run's system under test, for `sut-kill`. */
  readonly sut?: FaultSut;
  /** Runs a command on the host (tests may fake it). @default {@link runOnHost} */
  readonly exec?: HostExec;
  /**
   * Resolves once nothing of the controller's is executing inside the container (a `docker
   * exec`; the controller passes none since the isolation probe became a helper container of
   * its own, so it is kept for any future exec). A pause waits for it: a process exec'd into a
   * container frozen mid-exec leaves `runc exec` stuck in dockerd holding the container's
   * lock, and every later list, kill, unpause or removal of it hangs until the cgroup is
   * thawed by hand (seen here, Docker 20.10, cgroup v1 freezer).
   */
  readonly quiesce?: (containerId: string) => Promise<void>;
}

/**
 * What the injector is given: the environment, and either a Docker client that answers the
 * label query and every registry action's slice ({@link FaultClient}; a `DockerClient`
 * does), or — for a backend that acts itself — only the label query and `apply`.
 */
export type FaultContext = FaultEnvironment & ({ readonly docker: FaultClient; readonly apply?: undefined } | { readonly docker: TargetSource; readonly apply: BackendApply });

/** The params of fault kind `K`, as the scenario schema defines them. */
export type FaultParams<K extends FaultKind> = Extract<FaultSpec, { kind: K }>['params'];

/** What an action receives besides params and target: the environment, `docker` narrowed to the slice it declared. */
export interface FaultActionContext<M extends keyof DockerClient> extends Omit<FaultEnvironment, 'exec'> {
  readonly docker: Pick<DockerClient, M>;
  readonly exec: HostExec;
}

/** A scenario setting a fault cannot honour on this host (see {@link preflightFaults}): which part of the fault, and why. */
export interface FaultPreflightProblem {
  readonly field: 'kind' | 'params';
  readonly message: string;
}

/**
 * One fault kind: what it acts on, the Docker client methods it calls, and the action.
 *
 * @typeParam K the fault kind
 * @typeParam M the Docker client methods the action may call; `ctx.docker` has only these
 */
export interface FaultAction<K extends FaultKind = FaultKind, M extends keyof DockerClient = keyof DockerClient> {
  readonly kind: K;
  /**
   * `container`: the injector chooses targets by label query and calls `apply` once per
   * target; `daemon`: acts on the run's daemon, `target` ignored, the record has no targets;
   * `sut`: acts on the run's system under test (its process group), likewise without targets.
   */
  readonly acts: 'container' | 'daemon' | 'sut';
  /** The Docker client methods `apply` calls, and the only ones {@link applyFault} hands it. */
  readonly uses: readonly M[];
  /** The target's container exits and starts again while it acts: the backend follows it on instead of judging the exit (restart). */
  readonly restartsTarget?: boolean;
  /** After how many ms the injector calls the undo `apply` returned; none: the undo is not scheduled. */
  undoAfterMs?(params: FaultParams<K>): number | undefined;
  /** Whether this host can apply it, checked before a run creates anything; undefined: it can. */
  preflight?(params: FaultParams<K>, host: { readonly root: boolean; readonly exec: HostExec }): Promise<FaultPreflightProblem | undefined>;
  /**
   * Applies the fault to one target (a container id, or `daemon`). Returns an undo for a
   * fault with a duration.
   *
   * @throws {TargetUnavailableError} when the target exited or is held (another candidate is drawn)
   * @throws {FaultActionError} when the target is not in a state the fault can act on
   * @throws {DockerError} when the daemon refuses
   */
  apply(params: FaultParams<K>, targetId: string, ctx: FaultActionContext<M>): Promise<Undo | undefined>;
}

/** Every kind's action, keyed by kind: a kind the scenario schema adds without an entry fails to compile. */
export type FaultRegistry = { readonly [K in FaultKind]: FaultAction<K, keyof DockerClient> };

/** Declares one registry entry, inferring its kind and its client slice from `kind` and `uses`. */
function defineFault<K extends FaultKind, M extends keyof DockerClient = never>(action: FaultAction<K, M>): FaultAction<K, M> {
  return action;
}

/** A fault could not act on its target; `target` is the container id. */
export class FaultActionError extends Error {
  override name = 'FaultActionError';
  readonly kind: string;
  readonly target: string;
  constructor(kind: string, target: string, message: string, options: { cause?: unknown } = {}) {
    super(target === 'sut' ? `${kind} on the system under test: ${message}` : `${kind} on container ${target.slice(0, 12)}: ${message}`, options);
    this.kind = kind;
    this.target = target;
  }
}

/** {@link HostExec} with execa, bounded at 10 s (iptables, tc, nsenter, ip: each answers in milliseconds). */
export const runOnHost: HostExec = async (file, args) => {
  const result = await execa(file, [...args], { timeout: 10_000 });
  return { stdout: result.stdout };
};
const defaultExec = runOnHost;

/** The host pid of a running container's init, from `State.Pid`. @throws {TargetUnavailableError} when it is not running */
async function initPid(docker: Pick<DockerClient, 'inspectContainer'>, id: string, kind: string): Promise<number> {
  const info = await docker.inspectContainer(id);
  if (!info.state.running || info.state.pid <= 0) {
    throw new TargetUnavailableError(kind, id, { targetState: 'not-running', detail: `not running (state ${info.state.status})`, operation: 'inspect container' });
  }
  return info.state.pid;
}

/** netem arguments in tc(8)'s syntax, e.g. `delay 100ms 10ms loss 1% rate 1000kbit`. */
export function netemArgs(params: FaultParams<'netem'>): string[] {
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

type NetemParams = FaultParams<'netem'>;

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
export function netemSupported(exec: HostExec = defaultExec): Promise<boolean> {
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
      const rule = [
        'OUTPUT',
        '-o',
        dev,
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        String(params.lossPercent / 100),
        '-m',
        'comment',
        '--comment',
        mark,
        '-j',
        'DROP',
      ];
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

/** Disconnect-and-reconnect of one container, with a probe that checks the cut both ways (see {@link partition}). */
const PARTITION_USES = [
  'inspectContainer',
  'createContainer',
  'startContainer',
  'removeContainer',
  'disconnectNetwork',
  'connectNetwork',
  'execInContainer',
  'listContainers',
  'waitContainer',
  'containerLogs',
] as const satisfies readonly (keyof DockerClient)[];

/** The run's daemon when keelhaul may stop it. @throws {FaultActionError} for a daemon keelhaul did not start */
function controllableDaemon(kind: FaultKind, daemon: FaultDaemon | undefined): FaultDaemon {
  if (!daemon?.canControl) throw new FaultActionError(kind, 'daemon', 'keelhaul only stops or kills a daemon it started (daemon: { mode: private })');
  return daemon;
}

const registry = {
  kill: defineFault({
    kind: 'kill',
    acts: 'container',
    uses: ['killContainer', 'inspectContainer'],
    async preflight(params, host) {
      return params.mode === 'host' && !host.root ? { field: 'kind', message: 'kill (mode host) acts from the host and needs root' } : undefined;
    },
    async apply(params, id, { docker }) {
      if (params.mode !== 'host') {
        await docker.killContainer(id, params.signal);
        return undefined;
      }
      // A signal to the init pid from the host: Docker does not see a manual stop, so
      // restart policies apply (unlike an API kill, moby#47792).
      const pid = await initPid(docker, id, 'kill');
      try {
        process.kill(pid, params.signal as NodeJS.Signals);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ESRCH') {
          // The init exited between the inspection and the signal.
          throw new TargetUnavailableError('kill', id, { targetState: 'not-running', detail: `kill(${pid}, ${params.signal}): no such process (ESRCH)`, cause: error });
        }
        throw new FaultActionError('kill', id, `kill(${pid}, ${params.signal}) failed: ${(error as Error).message}`, { cause: error });
      }
      return undefined;
    },
  }),
  stop: defineFault({
    kind: 'stop',
    acts: 'container',
    uses: ['stopContainer'],
    async apply(params, id, { docker }) {
      await docker.stopContainer(id, { timeoutSeconds: Math.ceil(params.graceMs / 1000) });
      return undefined;
    },
  }),
  restart: defineFault({
    kind: 'restart',
    acts: 'container',
    uses: ['restartContainer'],
    // The same container starts again: the backend sees its output stream end, finds it
    // running and follows it; the attempt goes on (the worker starts its task over).
    restartsTarget: true,
    async apply(params, id, { docker }) {
      await docker.restartContainer(id, { timeoutSeconds: Math.ceil(params.graceMs / 1000) });
      return undefined;
    },
  }),
  pause: defineFault({
    kind: 'pause',
    acts: 'container',
    uses: ['pauseContainer', 'unpauseContainer', 'inspectContainer'],
    undoAfterMs: (params) => params.durationMs,
    async apply(_params, id, { docker, quiesce }) {
      await quiesce?.(id);
      await docker.pauseContainer(id);
      return async () => {
        const info = await docker.inspectContainer(id).catch(() => undefined);
        if (info?.state.paused) await docker.unpauseContainer(id);
      };
    },
  }),
  netem: defineFault({
    kind: 'netem',
    acts: 'container',
    uses: ['inspectContainer'],
    undoAfterMs: (params) => params.durationMs,
    async preflight(params, host) {
      if (!host.root) return { field: 'kind', message: 'netem acts from the host and needs root' };
      if (await netemSupported(host.exec)) return undefined;
      const problem = netemFallbackProblem(params);
      return problem ? { field: 'params', message: problem } : undefined;
    },
    async apply(params, id, { docker, exec, helperLabels }) {
      const pid = await initPid(docker, id, 'netem');
      const ns = ['-t', String(pid), '-n'];
      let devices: string[];
      if (params.device) {
        devices = [params.device];
      } else {
        const { stdout } = await exec('nsenter', [...ns, 'ip', '-o', 'link', 'show']);
        const names = stdout
          .split('\n')
          .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
          .filter((n): n is string => n !== undefined);
        const outside = names.filter((n) => n !== 'lo');
        devices = outside.length > 0 ? outside : names.filter((n) => n === 'lo');
      }
      if (devices.length === 0) throw new FaultActionError('netem', id, 'no network interface to shape');
      const commands = (await netemSupported(exec)) ? netemCommands(params, devices) : fallbackCommands(params, devices, ruleMark(helperLabels('probe')[Label.run] ?? 'unknown'));
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
    },
  }),
  partition: defineFault({
    kind: 'partition',
    acts: 'container',
    uses: PARTITION_USES,
    undoAfterMs: (params) => params.durationMs,
    apply: (params, id, ctx) => partition(id, params, ctx),
  }),
  'fill-disk': defineFault({
    kind: 'fill-disk',
    acts: 'container',
    uses: ['inspectContainer', 'createContainer', 'startContainer', 'waitContainer', 'removeContainer'],
    async apply(params, id, { docker, workspaceSizeBytes, image, helperLabels }) {
      if (workspaceSizeBytes === undefined) {
        throw new FaultActionError('fill-disk', id, 'the scenario sets no workspace.size, so there is no size to fill to');
      }
      const info = await docker.inspectContainer(id);
      const volume = info.mounts.find((m) => m.destination === '/workspace' && m.type === 'volume');
      if (!volume) throw new FaultActionError('fill-disk', id, 'has no workspace volume at /workspace');
      const bytes = Math.floor((workspaceSizeBytes * params.percent) / 100);
      const blocks = Math.max(1, Math.ceil(bytes / 65_536));
      const fillerId = await docker.createContainer({
        name: `${info.name}-filler-${Date.now().toString(36)}`,
        image,
        labels: { ...helperLabels('filler'), [Label.task]: info.labels[Label.task] ?? '' },
        env: {},
        entrypoint: ['/bin/sh', '-c'],
        // dd stops at ENOSPC by itself; `true` so a full disk is the expected outcome, not an error.
        cmd: [`dd if=/dev/zero of=/workspace/.keelhaul-fill bs=65536 count=${blocks} 2>/dev/null; sync; true`],
        user: '1000:1000',
        networkMode: 'none',
        // NoCopy: the image's /workspace copied up would reset the workspace root's owner (backends/workspace-owner.ts).
        mounts: [{ type: 'volume', source: volume.name, target: '/workspace', noCopy: true }],
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
    },
  }),
  'daemon-stop': defineFault({
    kind: 'daemon-stop',
    acts: 'daemon',
    uses: [],
    undoAfterMs: (params) => params.downMs,
    async apply(_params, _target, ctx) {
      const daemon = controllableDaemon('daemon-stop', ctx.daemon);
      await daemon.stop();
      return async () => {
        await daemon.start();
      };
    },
  }),
  'daemon-kill': defineFault({
    kind: 'daemon-kill',
    acts: 'daemon',
    uses: [],
    undoAfterMs: (params) => params.downMs,
    async apply(_params, _target, ctx) {
      const daemon = controllableDaemon('daemon-kill', ctx.daemon);
      await daemon.kill();
      return async () => {
        await daemon.start();
      };
    },
  }),
  'daemon-restart': defineFault({
    kind: 'daemon-restart',
    acts: 'daemon',
    uses: [],
    async apply(_params, _target, ctx) {
      await controllableDaemon('daemon-restart', ctx.daemon).restart();
      return undefined;
    },
  }),
  'sut-kill': defineFault({
    kind: 'sut-kill',
    acts: 'sut',
    uses: [],
    async apply(params, _target, ctx) {
      if (!ctx.sut) throw new FaultActionError('sut-kill', 'sut', 'the run has no system under test (scenario `sut`) to signal');
      await ctx.sut.kill(params.signal, { resume: params.resume, resumeAfterMs: params.resumeAfterMs });
      return undefined;
    },
  }),
} as const satisfies FaultRegistry;

/**
 * The fault registry: one {@link FaultAction} per kind. The injector asks it what a kind
 * acts on (`acts`), whether it restarts its target, when to undo it; {@link applyFault}
 * runs it with its declared client slice.
 */
export const FAULT_ACTIONS: FaultRegistry = registry;

/** The registry's entry for `kind`. */
export function faultAction<K extends FaultKind>(kind: K): FaultAction<K> {
  return FAULT_ACTIONS[kind];
}

/** Every Docker client method some registry action declares. */
type RegistryMethod = { [K in FaultKind]: (typeof registry)[K]['uses'][number] }[FaultKind];

/**
 * The Docker client faults on containers need: the injector's label query, every method a
 * registry action declares, and `inspectContainer`, with which {@link applyFault} looks at a
 * target after a failed action. A `DockerClient` is one.
 */
export type FaultClient = TargetSource & Pick<DockerClient, RegistryMethod | 'inspectContainer'>;

/** @deprecated The name before the registry; use {@link FaultClient} (actions) or {@link TargetSource} (the injector). */
export type FaultDockerClient = FaultClient;

/** `client` narrowed, at run time too, to the methods in `uses` (bound to it). */
function sliceOf<M extends keyof DockerClient>(client: FaultClient, uses: readonly M[]): Pick<DockerClient, M> {
  const source = client as unknown as Partial<Pick<DockerClient, M>>;
  const slice: Partial<Pick<DockerClient, M>> = {};
  for (const method of uses) {
    const fn = source[method];
    if (typeof fn === 'function') slice[method] = (fn as (...args: never[]) => unknown).bind(client) as DockerClient[M];
  }
  return slice as Pick<DockerClient, M>;
}

/**
 * Whether a failed action on a container met a target that went away or is held, decided
 * on the error's class and the target's state, never on the message text:
 * a {@link TargetUnavailableError} as it is; a {@link ResourceNotFoundError} (404) or
 * {@link ResourceConflictError} (409: not running, paused, restarting, being removed) about
 * the target itself; any other failure but a daemon outage (a 500 such as a freeze of a
 * container that exited meanwhile, nsenter into a namespace gone with its process) when an
 * inspection then finds the target gone, not running or paused. Undefined: a real failure.
 */
async function unavailableTarget(error: unknown, kind: FaultKind, targetId: string, docker: Pick<DockerClient, 'inspectContainer'>): Promise<TargetUnavailableError | undefined> {
  if (error instanceof TargetUnavailableError) return error;
  if (error instanceof DaemonUnavailableError) return undefined;
  const words = error instanceof Error ? error.message : String(error);
  if ((error instanceof ResourceNotFoundError || error instanceof ResourceConflictError) && error.containerId === targetId) {
    return new TargetUnavailableError(kind, targetId, {
      targetState: error instanceof ResourceNotFoundError ? 'not-found' : 'conflict',
      detail: words,
      operation: error.operation,
      ...(error.status !== undefined ? { status: error.status } : {}),
      cause: error,
    });
  }
  const status = (error as { status?: unknown } | null)?.status;
  const base = { ...(typeof status === 'number' ? { status } : {}), cause: error };
  // The daemon records an exit after runc has seen it: a pause refused by runc with "container
  // not running" was followed by an inspection still saying running (measured in
  // chaos/nightly.yaml, a stop landing on the same container). Ask again, briefly.
  for (let look = 0; look < UNAVAILABLE_LOOKS; look++) {
    if (look > 0) await new Promise((resolve) => setTimeout(resolve, UNAVAILABLE_LOOK_GAP_MS));
    let state;
    try {
      state = (await docker.inspectContainer(targetId)).state;
    } catch (inspectError) {
      if (inspectError instanceof ResourceNotFoundError)
        return new TargetUnavailableError(kind, targetId, { ...base, targetState: 'not-found', detail: `${words} (the container is gone)` });
      return undefined;
    }
    if (!state.running || state.status === 'restarting' || state.status === 'removing') {
      return new TargetUnavailableError(kind, targetId, { ...base, targetState: 'not-running', detail: `${words} (the container is ${state.status} now)` });
    }
    if (state.paused) return new TargetUnavailableError(kind, targetId, { ...base, targetState: 'paused', detail: `${words} (the container is paused)` });
  }
  return undefined;
}

/** How often {@link unavailableTarget} inspects a target after a failure, and the gap between looks, ms (about 1 s in all). */
const UNAVAILABLE_LOOKS = 5;
const UNAVAILABLE_LOOK_GAP_MS = 250;

/**
 * Applies one fault to one target: the backend's own `apply` when the context has one,
 * else the kind's registry entry with only its declared Docker client slice. Returns an
 * undo for faults with a duration (the injector calls it after the entry's `undoAfterMs`,
 * or at the end of the run, whichever comes first).
 *
 * @param targetId a container id (a local attempt's `pid:<n>`), or `daemon` for a daemon fault
 * @throws {TargetUnavailableError} when the target went away or is held ({@link unavailableTarget})
 * @throws {FaultActionError} when the target is not in a state the fault can act on
 * @throws {DockerError} when the daemon refuses
 */
export async function applyFault(spec: FaultSpec, targetId: string, ctx: FaultContext): Promise<Undo | undefined> {
  if (ctx.apply) return ctx.apply(spec, targetId);
  const action = faultAction(spec.kind);
  const { docker, exec, apply: _own, ...environment } = ctx;
  const actionContext: FaultActionContext<keyof DockerClient> = {
    ...environment,
    // The slice holds exactly the methods the entry declared, which is all its type lets it call.
    docker: sliceOf(docker, action.uses) as DockerClient,
    exec: exec ?? defaultExec,
  };
  try {
    return await action.apply(spec.params, targetId, actionContext);
  } catch (error) {
    if (action.acts !== 'container') throw error;
    throw (await unavailableTarget(error, spec.kind, targetId, docker)) ?? error;
  }
}

/**
 * Whether `from` can reach `ip`: a TCP connect to port 1 answered with "Connection
 * refused" proves the path works (nothing listens, but the host answered); a timeout or
 * "Network is unreachable" means it does not. No listener and no ICMP (a non-root worker
 * cannot ping: busybox ping needs a raw socket) are needed.
 */
async function reaches(docker: Pick<DockerClient, 'execInContainer'>, from: string, ip: string): Promise<boolean> {
  if (!ip) return false;
  const { output } = await docker.execInContainer(from, ['/bin/sh', '-c', REACH_SCRIPT(ip)], { timeoutMs: 4000 });
  return /refused/i.test(output);
}

/** The connect {@link reaches} runs: busybox `nc` to port 1, bounded at 1 s; its words say refused or not. */
const REACH_SCRIPT = (ip: string): string => `timeout 1 nc ${ip} 1 </dev/null 2>&1; true`;

/**
 * {@link reaches} from inside a target's network namespace without entering its image: a
 * helper of keelhaul's image joins the namespace (`container:<id>`), connects, and is removed
 * (docs/worker-contract.md: nothing needed inside the worker's image).
 */
async function reachesFromNamespace(
  docker: Pick<DockerClient, 'createContainer' | 'startContainer' | 'waitContainer' | 'containerLogs' | 'removeContainer'>,
  ctx: Pick<FaultEnvironment, 'helperLabels' | 'image'>,
  target: string,
  ip: string,
  name: string,
): Promise<boolean> {
  if (!ip) return false;
  const { stdout, stderr } = await runHelperContainer(
    docker,
    {
      name,
      image: ctx.image,
      labels: ctx.helperLabels('probe'),
      networkMode: `container:${target}`,
      command: ['/bin/sh', '-c', REACH_SCRIPT(ip)],
    },
    { timeoutMs: 8000 },
  );
  return /refused/i.test(`${stdout}${stderr}`);
}

/** Whether another container of the run now holds `ip` on `network`. */
async function addressTakenByAnother(
  docker: Pick<DockerClient, 'listContainers' | 'inspectContainer'>,
  ctx: Pick<FaultEnvironment, 'helperLabels'>,
  network: string,
  ip: string,
  except: string,
): Promise<boolean> {
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

async function partition(containerId: string, params: FaultParams<'partition'>, ctx: FaultActionContext<(typeof PARTITION_USES)[number]>): Promise<Undo> {
  const { docker } = ctx;
  const info = await docker.inspectContainer(containerId);
  const network = params.network ?? ctx.networkName ?? info.networks[0];
  if (!network || !(network in info.networkAddresses)) {
    throw new FaultActionError('partition', containerId, `is not on network ${network ?? '(none)'}; it is on ${info.networks.join(', ') || 'no network'}`);
  }
  const targetIp = info.networkAddresses[network] ?? '';
  // The probe: a labelled, unprivileged helper of keelhaul's image (ctx.image) on the same network.
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
    try {
      await docker.disconnectNetwork(network, containerId);
    } catch (error) {
      // Another partition took it off this network since the inspection above (dockerd
      // answers 404 or 500 then): the target is held, as a paused one is.
      const now = await docker.inspectContainer(containerId).catch(() => undefined);
      if (now?.state.running && !(network in now.networkAddresses)) {
        const status = (error as { status?: unknown } | null)?.status;
        throw new TargetUnavailableError('partition', containerId, {
          targetState: 'not-connected',
          detail: `no longer on network ${network} (another fault disconnected it)`,
          operation: 'disconnect network',
          ...(typeof status === 'number' ? { status } : {}),
          cause: error,
        });
      }
      throw error;
    }
    const check = async (phase: 'cut' | 'restored'): Promise<void> => {
      const running = (await docker.inspectContainer(containerId).catch(() => undefined))?.state.running ?? false;
      const [probeReached, fromTarget] = await Promise.all([
        reaches(docker, probe, targetIp).catch(() => false),
        // From the target's namespace, by a helper: the worker's image may have no shell.
        running ? reachesFromNamespace(docker, ctx, containerId, probeIp, `${info.name}-reach-${phase}-${Date.now().toString(36)}`).catch(() => false) : Promise.resolve(false),
      ]);
      let fromProbe = probeReached;
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
 * scenario, by each kind's registry `preflight`: host-side faults (kill mode host, netem)
 * need root on the Docker host (kill(2) of another user's process, nsenter); netem's delay,
 * jitter, duplicate and corrupt need the kernel's netem qdisc.
 *
 * @throws {FaultSupportError} naming the first field that cannot be honoured (`faults[i].kind` or `faults[i].params`)
 */
export async function preflightFaults(faults: readonly FaultSpec[], exec: HostExec = defaultExec): Promise<void> {
  const host = { root: process.getuid?.() === 0, exec };
  for (const [i, fault] of faults.entries()) {
    const problem = await faultAction(fault.kind).preflight?.(fault.params, host);
    if (problem) throw new FaultSupportError(`faults[${i}].${problem.field}`, problem.message);
  }
}
