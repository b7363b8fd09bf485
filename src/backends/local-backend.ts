import { existsSync, mkdirSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { once } from 'node:events';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { ANY_VALUE, attemptName, TargetUnavailableError, type ContainerSummary, type DockerClient } from '../docker/index.js';
import type { FaultSpec } from '../scenario/index.js';
import { packageRoot } from '../version.js';
import { consumeAttemptOutput } from './attempt-output.js';
import type { AttemptExit, AttemptHandle, AttemptObserver, AttemptSpec, BackendCapabilities, BackendCleanup, FaultTargets, WorkerBackend } from './types.js';

/** How local workers run. */
export interface LocalBackendOptions {
  readonly runId: string;
  /** The run directory: each task's workspace is `<runDir>/workspaces/<task>`. */
  readonly runDir: string;
  /**
   * `none`: each worker runs in a network namespace of its own (`unshare --net`, needs
   * root), so it sees only `lo` as a container with `--network none` does. Other modes
   * have no local equivalent and are refused by {@link localBackendProblems}.
   */
  readonly network: 'none' | 'internal' | 'bridge' | 'host';
  /** The scenario's `env`, given to every worker besides the contract's variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** A filter the attempt logs pass through (secret env values → `[REDACTED:NAME]`, docs/security.md). */
  readonly redactStream?: () => NodeJS.ReadWriteStream;
  /**
   * Size of each task's workspace, bytes: the directory is a size-limited tmpfs mount
   * (`mount -t tmpfs -o size=`, needs root), so writes past it fail with ENOSPC as on the
   * docker backend's tmpfs volume. Unset: a plain directory.
   */
  readonly workspaceSizeBytes?: number;
  /**
   * The worker's entry script.
   * @default the compiled reference worker of this package, `dist/src/worker/main.js`
   */
  readonly workerScript?: string;
  /** @default process.execPath (the node running keelhaul) */
  readonly nodePath?: string;
  /**
   * A worker of the user's own (scenario `local.command`): this argv runs instead of
   * `nodePath workerScript`, under the same prefix (parent-death signal, `unshare --net`).
   */
  readonly command?: readonly string[];
}

/**
 * A network namespace of its own for a `network: none` worker, and a mount namespace in which
 * /sys is mounted afresh: sysfs shows the network namespace it was mounted from, so without
 * it a worker reading /sys/class/net (a shell worker's way to list its interfaces) saw the
 * host's interfaces from inside its own empty namespace (found by the local.command parity
 * test). The remount is private to the worker (unshare makes the new mount namespace's
 * propagation private); if it fails the worker still runs, as before.
 */
const NET_NAMESPACE_PREFIX: readonly string[] = ['unshare', '--net', '--mount', '--', '/bin/sh', '-c', 'mount -t sysfs sysfs /sys 2>/dev/null; exec "$0" "$@"'];

/**
 * A fault the local backend cannot act on (a kind with no process equivalent, no
 * size-limited workspace); message names the kind and process. A target that exited or is
 * paused is a {@link TargetUnavailableError} instead, as on the docker backend.
 */
export class LocalFaultError extends Error {
  override name = 'LocalFaultError';
  readonly kind: string;
  /** The attempt's id, `pid:<n>`. */
  readonly target: string;
  constructor(kind: string, target: string, message: string, options: { cause?: unknown } = {}) {
    super(`${kind} on process ${target}: ${message}`, options);
    this.kind = kind;
    this.target = target;
  }
}

/** A worker process could not be started (node or unshare missing, no permission). */
export class LocalLaunchError extends Error {
  override name = 'LocalLaunchError';
  readonly taskId: string;
  readonly attempt: number;
  readonly command: readonly string[];
  constructor(taskId: string, attempt: number, command: readonly string[], options: { cause?: unknown } = {}) {
    super(
      `cannot start ${attempt > 0 ? `attempt ${attempt} of task ${taskId}` : 'local workers'} as \`${command.join(' ')}\`: ${(options.cause as Error | undefined)?.message ?? 'unknown error'}`,
      options,
    );
    this.taskId = taskId;
    this.attempt = attempt;
    this.command = command;
  }
}

/** Fault kinds the local backend can apply, and how (docs/parity.md). */
export const LOCAL_FAULT_KINDS: readonly FaultSpec['kind'][] = ['kill', 'stop', 'pause', 'fill-disk'];

/** A scenario setting the local backend cannot honour: the field and why. */
export interface BackendProblem {
  /** The scenario field, e.g. `faults[2].kind` or `network`. */
  readonly field: string;
  readonly message: string;
}

/** The part of a scenario {@link localBackendProblems} looks at. */
export interface LocalBackendScenario {
  readonly network: 'none' | 'internal' | 'bridge' | 'host';
  /** A Compose topology is containers: the local backend has none (docs/compose.md). */
  readonly topology?: unknown;
  readonly mounts?: readonly unknown[];
  readonly privileged?: boolean;
  readonly faults: readonly FaultSpec[];
  readonly workspace: { readonly size?: number | undefined };
  readonly daemon: { readonly mode: 'external' | 'private' };
  /** The tasks: the reference worker the local backend runs needs each one's `steps`. */
  readonly tasks?: readonly { readonly id: string; readonly steps?: readonly unknown[] | undefined }[];
  /** A worker of the user's own (`local.command`): it needs no `steps`. */
  readonly local?: { readonly command?: readonly string[] } | undefined;
}

/**
 * What in a scenario the local backend cannot apply: fault kinds with no process
 * equivalent (restart, netem, partition, daemon faults), network modes other than `none`,
 * a private daemon, and what needs root (`unshare --net` for network `none`, a tmpfs mount
 * for `workspace.size`). An empty list means the scenario runs as processes as it would as
 * containers, resource limits aside (memory, pids, cpus and /tmp size are not applied to
 * processes: that difference is what `keelhaul parity` is there to show).
 *
 * @param isRoot whether this process runs as root @default `process.getuid() === 0`
 */
export function localBackendProblems(scenario: LocalBackendScenario, isRoot = process.getuid?.() === 0): BackendProblem[] {
  const problems: BackendProblem[] = [];
  if (scenario.network !== 'none') {
    problems.push({ field: 'network', message: `network ${scenario.network} has no equivalent on the local backend (only none, as a network namespace of its own)` });
  } else if (!isRoot) {
    problems.push({ field: 'network', message: 'network none on the local backend runs each worker under `unshare --net`, which needs root' });
  }
  if (scenario.topology !== undefined) {
    problems.push({ field: 'topology', message: 'a Compose topology is launched as containers; the local backend runs processes only' });
  }
  if ((scenario.mounts?.length ?? 0) > 0) {
    problems.push({ field: 'mounts', message: 'bind mounts are a container setting; a local worker sees the host filesystem anyway' });
  }
  if (scenario.privileged === true) {
    problems.push({ field: 'privileged', message: 'privileged is a container setting with no process equivalent' });
  }
  if (scenario.daemon.mode === 'private') {
    problems.push({ field: 'daemon.mode', message: 'a private daemon has no meaning on the local backend (workers are processes)' });
  }
  if (scenario.workspace.size !== undefined && !isRoot) {
    problems.push({ field: 'workspace.size', message: 'a size-limited workspace on the local backend is a tmpfs mount, which needs root' });
  }
  // The local backend runs keelhaul's reference worker, which runs a task's steps (a task for a worker of the user's own may have none).
  const stepless = scenario.local?.command !== undefined ? -1 : (scenario.tasks ?? []).findIndex((task) => task.steps === undefined);
  if (stepless >= 0) {
    problems.push({
      field: `tasks[${stepless}].steps`,
      message: `task "${scenario.tasks?.[stepless]?.id ?? ''}" has no steps, and the local backend runs keelhaul's reference worker, which runs a task's steps`,
    });
  }
  scenario.faults.forEach((fault, i) => {
    const name = fault.name ? ` (${fault.name})` : '';
    if (!LOCAL_FAULT_KINDS.includes(fault.kind)) {
      problems.push({ field: `faults[${i}].kind`, message: `fault ${fault.kind}${name} cannot be applied on the local backend (it applies ${LOCAL_FAULT_KINDS.join(', ')})` });
    } else if (fault.kind === 'fill-disk' && scenario.workspace.size === undefined) {
      problems.push({ field: `faults[${i}].kind`, message: `fault fill-disk${name} on the local backend needs workspace.size (the tmpfs it fills)` });
    }
  });
  return problems;
}

interface LocalAttempt {
  readonly id: string;
  readonly pid: number;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  state: 'running' | 'paused' | 'exited';
  /** Resolves at the process's exit (never rejects). */
  readonly exited: Promise<{ exitCode: number; endedAt: string }>;
}

/** 128 + the signal's number, as a shell and Docker report a death by signal. */
function signalExitCode(signal: string): number {
  const n = (osConstants.signals as Record<string, number | undefined>)[signal];
  return 128 + (n ?? 0);
}

/**
 * Runs each attempt as a process of the same reference worker the image holds
 * (`dist/src/worker/main.js`, run by this node), with the same environment contract
 * (docs/worker-contract.md): `KEELHAUL_WORKSPACE` is the task's directory under the run
 * directory, reused by its attempts as the docker backend reuses a task's volume. Events
 * are parsed from stdout as they are for containers. Faults act by signal: kill → the
 * signal, pause → SIGSTOP / SIGCONT, stop → SIGTERM then SIGKILL after the grace period.
 * {@link listAttempts} answers label queries over the live attempts, so the injector picks
 * targets as it does among containers.
 */
export class LocalBackend implements WorkerBackend {
  readonly kind = 'local' as const;
  readonly capabilities: BackendCapabilities = { containers: false, processes: true, workspaceVolumes: false };
  readonly #options: LocalBackendOptions;
  readonly #attempts = new Map<string, LocalAttempt>();
  readonly #workspaces = new Map<string, Promise<string>>();
  readonly #generation = new Map<string, number>();
  /** tmpfs mount points still mounted. */
  readonly #mounts = new Set<string>();

  constructor(options: LocalBackendOptions) {
    this.#options = options;
  }

  /** The per-run network: none on the local backend. */
  get networkName(): string | undefined {
    return undefined;
  }

  /**
   * Never possible: local attempts are processes of the controller that started them and
   * die with it (execa `cleanup`, `setpriv --pdeathsig`), so a resume finds none to take over.
   * @throws always
   */
  reattach(attemptId: string): Promise<AttemptHandle> {
    return Promise.reject(new Error(`the local backend cannot re-attach to ${attemptId}: its attempts end with the controller that started them`));
  }

  /** Workspaces are directories of the run, snapshotted and judged there: nothing is removed before the run's end. */
  releaseWorkspace(): Promise<boolean> {
    return Promise.resolve(false);
  }

  /**
   * Workspaces are directories, not volumes a helper container could mount.
   * @throws always
   */
  workspaceVolume(taskId: string): Promise<string> {
    return Promise.reject(new Error(`the local backend has no workspace volume for task ${taskId}: its workspaces are directories`));
  }

  /** No daemon carries local attempts' output: nothing to replay. */
  noteDaemonOutage(): void {}

  /** Targets from the live attempts' labels ({@link localFaultClient}); faults act through {@link applyFault}. */
  faultTargets(): FaultTargets {
    return { docker: localFaultClient(this), apply: (spec, id) => this.applyFault(spec, id) };
  }

  /** {@link close}, then {@link leaks}: the processes and tmpfs mounts are the backend's own. */
  async cleanup(): Promise<BackendCleanup> {
    const removed = await this.close();
    return { removed, leaks: this.leaks() };
  }

  /** The worker's entry script: the option, else the compiled reference worker of this package. */
  #script(): string {
    return this.#options.workerScript ?? join(packageRoot, 'dist', 'src', 'worker', 'main.js');
  }

  /**
   * Makes the run's `workspaces/` directory; workspaces come with their task's first launch.
   * @throws {LocalLaunchError} when the worker script does not exist (keelhaul not built)
   */
  async prepare(): Promise<void> {
    const script = this.#script();
    // A worker of the user's own needs no build of keelhaul's; a missing program fails its launch, named.
    if (this.#options.command === undefined && !existsSync(script)) {
      throw new LocalLaunchError('', 0, [script], { cause: new Error(`the worker script ${script} does not exist; build keelhaul first (npm run build)`) });
    }
    await mkdir(join(this.#options.runDir, 'workspaces'), { recursive: true });
  }

  /** The next attempt of the task gets a new, empty workspace (after a disk-full failure); the old one stays. */
  freshWorkspace(taskId: string): void {
    this.#workspaces.delete(taskId);
    this.#generation.set(taskId, (this.#generation.get(taskId) ?? 1) + 1);
  }

  /** Each task's current workspace directory, for snapshots before cleanup. */
  async workspaceDirectories(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const [task, dir] of this.#workspaces) out.set(task, await dir);
    return out;
  }

  #workspace(taskId: string): Promise<string> {
    let dir = this.#workspaces.get(taskId);
    if (!dir) {
      const generation = this.#generation.get(taskId) ?? 1;
      const path = join(this.#options.runDir, 'workspaces', generation > 1 ? `${taskId}.w${generation}` : taskId);
      dir = (async () => {
        await mkdir(path, { recursive: true });
        const size = this.#options.workspaceSizeBytes;
        if (size !== undefined) {
          // The worker is a process of this user (no setuid: setpriv only sets pdeathsig), and
          // owns the workspace as it would a container's: the directory above is its own by
          // mkdir, and a tmpfs root is given to it by `uid=`/`gid=` (tmpfs(5)) rather than left
          // to whoever mounts it (issue 16: the workspace is the worker user's, on every backend).
          const owner = `uid=${process.getuid?.() ?? 0},gid=${process.getgid?.() ?? 0}`;
          await execa('mount', ['-t', 'tmpfs', '-o', `size=${size},${owner},mode=0755`, 'tmpfs', path]);
          this.#mounts.add(path);
        }
        return path;
      })();
      dir.catch(() => this.#workspaces.delete(taskId));
      this.#workspaces.set(taskId, dir);
    }
    return dir;
  }

  /** @throws {LocalLaunchError} when the process cannot be started */
  async launch(spec: AttemptSpec, observer: AttemptObserver): Promise<AttemptHandle> {
    const workspace = await this.#workspace(spec.taskId);
    const script = this.#script();
    const node = this.#options.nodePath ?? process.execPath;
    const worker = this.#options.command ?? [node, script];
    const command = [...(await parentDeathPrefix()), ...(this.#options.network === 'none' ? NET_NAMESPACE_PREFIX : []), ...worker];
    const name = attemptName(spec.runId, spec.taskId, spec.attempt);
    mkdirSync(spec.logDir, { recursive: true });
    const child = execa(command[0]!, command.slice(1), {
      cwd: workspace,
      // Only the contract's variables (and PATH), as a container sees only its own.
      extendEnv: false,
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        ...this.#options.env,
        KEELHAUL_RUN_ID: spec.runId,
        KEELHAUL_TASK_ID: spec.taskId,
        KEELHAUL_ATTEMPT: String(spec.attempt),
        KEELHAUL_SEED: String(spec.seed),
        KEELHAUL_TASK: JSON.stringify(spec.task),
        KEELHAUL_WORKSPACE: workspace,
      },
      stdin: 'ignore',
      buffer: false,
      reject: false,
      // execa kills the worker when keelhaul's own process exits, whatever the path.
      cleanup: true,
    });
    try {
      await Promise.race([once(child, 'spawn'), once(child, 'error').then(([e]) => Promise.reject(e as Error))]);
    } catch (error) {
      await (child as Promise<unknown>).catch(() => undefined);
      throw new LocalLaunchError(spec.taskId, spec.attempt, command, { cause: error });
    }
    const pid = child.pid!;
    // Not running from the exit on, as a container is, though its output may still drain.
    child.once('exit', () => {
      const entry = this.#attempts.get(`pid:${pid}`);
      if (entry) entry.state = 'exited';
    });
    const drained = this.#consume(child, spec.logDir, observer);
    const exited = (async () => {
      const result = await child;
      await drained;
      const signal = (result as { signal?: string }).signal;
      const exitCode = typeof result.exitCode === 'number' ? result.exitCode : signal ? signalExitCode(signal) : 1;
      const entry = this.#attempts.get(`pid:${pid}`);
      if (entry) entry.state = 'exited';
      return { exitCode, endedAt: new Date().toISOString() };
    })();
    const attempt: LocalAttempt = { id: `pid:${pid}`, pid, name, labels: spec.labels, state: 'running', exited };
    this.#attempts.set(attempt.id, attempt);
    const startedAt = new Date().toISOString();
    return {
      id: attempt.id,
      name,
      startedAt,
      async wait(): Promise<AttemptExit> {
        const { exitCode, endedAt } = await exited;
        return { exitCode, oomKilled: false, endedAt };
      },
      kill: async (signal: string): Promise<void> => {
        if (attempt.state === 'exited') return;
        this.#signal(attempt, signal);
      },
    };
  }

  /** Writes stdout.log / stderr.log and parses stdout line by line, as the docker backend does for a container. */
  #consume(child: ResultPromise, logDir: string, observer: AttemptObserver): Promise<unknown> {
    return consumeAttemptOutput({ stdout: child.stdout!, stderr: child.stderr! }, logDir, observer, { redactStream: this.#options.redactStream }).drained;
  }

  /**
   * Sends a signal; a stopped (paused) process is continued after any signal but
   * SIGKILL/SIGSTOP, as `docker kill` unpauses. A process that already exited is skipped,
   * or, for a fault (`forFault`: its kind), refused with {@link TargetUnavailableError}
   * (`not-running`: the injector then draws another target).
   */
  #signal(attempt: LocalAttempt, signal: string, forFault?: FaultSpec['kind']): void {
    if (attempt.state === 'exited') {
      if (forFault) throw new TargetUnavailableError(forFault, attempt.id, { targetState: 'not-running', detail: 'is not running (exited)' });
      return;
    }
    try {
      process.kill(attempt.pid, signal as NodeJS.Signals);
      if (attempt.state === 'paused' && signal !== 'SIGKILL' && signal !== 'SIGSTOP') {
        process.kill(attempt.pid, 'SIGCONT');
        attempt.state = 'running';
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      if (forFault) throw new TargetUnavailableError(forFault, attempt.id, { targetState: 'not-running', detail: `is not running (${signal}: ESRCH)`, cause: error });
    }
  }

  /**
   * The live attempts matching a label query, shaped as the Docker client's container rows
   * (`names` carry the name the attempt's container would have). `status: 'running'`
   * leaves out paused (SIGSTOPped) attempts, as Docker's filter does; a label value of
   * `*` matches any value.
   */
  listAttempts(query: { labels: Record<string, string>; status?: string; all?: boolean }): ContainerSummary[] {
    return [...this.#attempts.values()]
      .filter((a) => (query.all ? true : a.state !== 'exited'))
      .filter((a) => (query.status === undefined ? true : a.state === query.status))
      .filter((a) => Object.entries(query.labels).every(([k, v]) => (v === ANY_VALUE ? k in a.labels : a.labels[k] === v)))
      .map((a) => ({ id: a.id, names: [`/${a.name}`], image: 'local', state: a.state, labels: a.labels }));
  }

  /** The attempt a fault acts on. @throws {TargetUnavailableError} when there is none (`not-found`) or it exited (`not-running`) */
  #target(kind: string, id: string): LocalAttempt {
    const attempt = this.#attempts.get(id);
    if (!attempt) throw new TargetUnavailableError(kind, id, { targetState: 'not-found', detail: 'does not exist' });
    if (attempt.state === 'exited') throw new TargetUnavailableError(kind, id, { targetState: 'not-running', detail: 'is not running (exited)' });
    return attempt;
  }

  /**
   * Applies one fault to one attempt process. kill: the signal (`mode: host` is the same
   * thing here). stop: SIGTERM, then SIGKILL once `graceMs` — rounded up to whole seconds,
   * as the Docker API's stop timeout is — has passed; resolves at the exit. pause: SIGSTOP,
   * and the returned undo sends SIGCONT. fill-disk: writes `.keelhaul-fill` into the task's
   * tmpfs workspace up to `percent` of `workspace.size` (stops at ENOSPC).
   *
   * @throws {TargetUnavailableError} for a target that is gone, exited (`not-running`) or
   *   paused already (`paused`): the injector draws another target, as for containers
   * @throws {LocalFaultError} for a kind with no local equivalent (refused at plan time by
   *   {@link localBackendProblems}) or fill-disk without a size-limited workspace
   */
  async applyFault(spec: FaultSpec, id: string): Promise<(() => Promise<void>) | undefined> {
    const attempt = this.#target(spec.kind, id);
    switch (spec.kind) {
      case 'kill':
        this.#signal(attempt, spec.params.signal, spec.kind);
        return undefined;
      case 'stop': {
        this.#signal(attempt, 'SIGTERM', spec.kind);
        const graceMs = Math.ceil(spec.params.graceMs / 1000) * 1000;
        const ended = await Promise.race([attempt.exited.then(() => true), sleep(graceMs).then(() => false)]);
        if (!ended) this.#signal(attempt, 'SIGKILL');
        await attempt.exited;
        return undefined;
      }
      case 'pause': {
        if (attempt.state === 'paused') throw new TargetUnavailableError(spec.kind, id, { targetState: 'paused', detail: 'is paused already' });
        process.kill(attempt.pid, 'SIGSTOP');
        attempt.state = 'paused';
        return async () => {
          if (attempt.state !== 'paused') return;
          attempt.state = 'running';
          try {
            process.kill(attempt.pid, 'SIGCONT');
          } catch {
            // exited meanwhile
          }
        };
      }
      case 'fill-disk': {
        const size = this.#options.workspaceSizeBytes;
        const task = attempt.labels['dev.keelhaul.task'];
        const dir = task !== undefined ? await this.#workspaces.get(task) : undefined;
        if (size === undefined || dir === undefined) throw new LocalFaultError(spec.kind, id, 'has no size-limited workspace (workspace.size)');
        await fillFile(join(dir, '.keelhaul-fill'), Math.floor((size * spec.params.percent) / 100));
        return undefined;
      }
      default:
        throw new LocalFaultError(spec.kind, id, 'cannot be applied on the local backend');
    }
  }

  /**
   * Ends every attempt still alive (SIGCONT, then SIGKILL) and waits for it, then unmounts
   * the tmpfs workspaces. Safe to call more than once. Returns what it removed in the
   * shape of the Docker cleanup: attempt processes as `containers`, tmpfs mounts as `volumes`.
   */
  async close(): Promise<{ containers: number; networks: number; volumes: number; errors: string[] }> {
    const errors: string[] = [];
    const live = [...this.#attempts.values()].filter((a) => a.state !== 'exited');
    for (const a of live) {
      try {
        process.kill(a.pid, 'SIGCONT');
        process.kill(a.pid, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') errors.push(`process ${a.id} (${a.name}): ${(error as Error).message}`);
      }
    }
    await Promise.all(live.map((a) => a.exited));
    let unmounted = 0;
    for (const path of [...this.#mounts]) {
      try {
        await execa('umount', [path]);
        this.#mounts.delete(path);
        unmounted += 1;
      } catch (error) {
        errors.push(`tmpfs ${path}: ${(error as Error).message}`);
      }
    }
    return { containers: live.length, networks: 0, volumes: unmounted, errors };
  }

  /** What the run left: live attempt processes (`containers`) and tmpfs workspaces still mounted (`volumes`). */
  leaks(): { containers: string[]; networks: string[]; volumes: string[] } {
    return {
      containers: [...this.#attempts.values()].filter((a) => a.state !== 'exited').map((a) => `process ${a.id} (${a.name})`),
      networks: [],
      volumes: [...this.#mounts].map((m) => `tmpfs ${m}`),
    };
  }
}

let deathPrefix: Promise<string[]> | undefined;

/**
 * `setpriv --pdeathsig SIGKILL --` when util-linux's setpriv has it: the kernel SIGKILLs
 * the worker when keelhaul's process dies by any means, even SIGKILL, where execa's
 * `cleanup` (an exit handler) cannot run. The death signal survives the exec of unshare
 * and node (prctl(2) PR_SET_PDEATHSIG). Empty when setpriv is missing.
 */
function parentDeathPrefix(): Promise<string[]> {
  deathPrefix ??= execa('setpriv', ['--pdeathsig', 'SIGKILL', '--', 'true']).then(
    () => ['setpriv', '--pdeathsig', 'SIGKILL', '--'],
    () => [],
  );
  return deathPrefix;
}

/** Writes `bytes` zero bytes in 64 KiB blocks; a full disk (ENOSPC) ends it early, as `dd` does in the docker filler. */
async function fillFile(path: string, bytes: number): Promise<void> {
  const handle = await open(path, 'w');
  const block = Buffer.alloc(65_536);
  try {
    for (let written = 0; written < bytes;) {
      const n = Math.min(block.length, bytes - written);
      await handle.write(block, 0, n);
      written += n;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * The injector's view of a local run: its one Docker call, the label query, answered by
 * {@link LocalBackend.listAttempts}, so targets are chosen exactly as among containers.
 * Faults themselves go through {@link LocalBackend.applyFault} (FaultContext `apply`).
 */
export function localFaultClient(backend: LocalBackend): Pick<DockerClient, 'listContainers'> {
  return { listContainers: async (query) => backend.listAttempts(query) };
}
