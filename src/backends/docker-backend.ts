import { setTimeout as sleep } from 'node:timers/promises';
import {
  attemptName,
  DaemonUnavailableError,
  Label,
  labelsFor,
  runNetworkName,
  workspaceOwnerName,
  workspaceVolumeName,
  type ContainerInfo,
  type ContainerOutput,
  type ContainerSpec,
  type DockerClient,
  type RunIdentity,
} from '../docker/index.js';
import { consumeAttemptOutput, type ConsumedOutput } from './attempt-output.js';
import { giveWorkspaceToWorker, parseWorkerUser, WORKSPACE_MODE, type WorkerIds } from './workspace-owner.js';
import type { AttemptExit, AttemptHandle, AttemptObserver, AttemptSpec, BackendCapabilities, BackendCleanup, FaultTargets, WorkerBackend } from './types.js';

/** How worker containers are isolated and limited. Defaults follow DESIGN.md "Defaults that matter". */
export interface DockerBackendOptions {
  readonly run: RunIdentity;
  /** Image reference, e.g. `keelhaul/worker:0.1.0`. */
  readonly image: string;
  /**
   * `none`: only `lo`. `internal`: one labelled per-run network with `Internal: true`.
   * `bridge`: Docker's default bridge, only when a scenario asks for it. `host`: the host's
   * network stack (only with `dangerouslyAllow.hostNetwork`).
   */
  readonly network: 'none' | 'internal' | 'bridge' | 'host';
  /**
   * Extra environment for every worker (the scenario's `env`); the contract's `KEELHAUL_*`
   * variables win over it.
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * A filter each attempt's stdout.log and stderr.log are written through (secret
   * redaction, docs/security.md); none when absent.
   */
  readonly redactStream?: () => NodeJS.ReadWriteStream;
  /** `HostConfig.Privileged`; the scenario refuses it without `dangerouslyAllow.privileged`. */
  readonly privileged?: boolean;
  /** Host paths bind-mounted into every worker (the scenario's `mounts`). */
  readonly bindMounts?: readonly { readonly source: string; readonly target: string; readonly readOnly: boolean }[];
  /**
   * Size of each task's workspace volume, bytes: a tmpfs volume with `size=` (writes past
   * it fail with ENOSPC, DOCKER-NOTES "Disk full"). Unset: an ordinary local volume.
   */
  readonly workspaceSizeBytes?: number;
  /** Memory limit, bytes (`HostConfig.Memory`; swap is pinned to the same value). */
  readonly memoryBytes: number;
  readonly pidsLimit: number;
  /** CPUs, e.g. 0.5 → `NanoCpus` 5e8. */
  readonly cpus?: number;
  /** Size of the `/tmp` tmpfs, bytes. */
  readonly tmpfsBytes: number;
  /**
   * Numeric `uid:gid` the worker runs as; never root. Always set on the container, so the
   * image's own `Config.User` never applies; the workspace root is owned by it
   * (src/backends/workspace-owner.ts). @default `1000:1000`
   */
  readonly user?: string;
  /**
   * Called when the daemon stops answering while an attempt is followed; resolves once it
   * answers again, throws `DaemonUnavailableError` past the outage limit. Without it an
   * outage fails the attempt at once.
   */
  readonly waitForDaemon?: () => Promise<void>;
  /** Whether a restart fault is restarting this container now: its exit then is not the attempt's end. */
  readonly isRestarting?: (containerId: string) => boolean;
  /**
   * With `network: internal`: an existing network to join instead of creating a per-run one
   * (a Compose topology's `workerNetwork`, created by src/compose/ with the run label).
   */
  readonly useNetwork?: string;
  /**
   * The container's exit from the daemon's `die` event, which the controller already
   * follows (`ContainerExitTracker.waitForExit` in src/docker/events.ts): resolves with
   * it, or `undefined` when no `die` came within `timeoutMs` (ms). When given, an
   * attempt's exit is read from it instead of an inspect after the output stream ended —
   * the inspect cost 7–28 ms on a busy daemon (issue 7's detection target). Without it, or
   * when it gives nothing, the backend inspects as before.
   */
  readonly exitFromEvents?: (containerId: string, timeoutMs: number) => Promise<{ exitCode: number; oomKilled: boolean; time: string } | undefined>;
}

/** Where the worker's workspace is mounted (docs/worker-contract.md). */
export const WORKSPACE_PATH = '/workspace';

/**
 * The environment of an attempt's container (docs/worker-contract.md): run, task, attempt,
 * seed, the task as JSON, the workspace path. `keelhaul repro` rebuilds it from state.json.
 */
export function workerEnvironment(spec: Pick<AttemptSpec, 'runId' | 'taskId' | 'attempt' | 'seed' | 'task'>): Record<string, string> {
  return {
    KEELHAUL_RUN_ID: spec.runId,
    KEELHAUL_TASK_ID: spec.taskId,
    KEELHAUL_ATTEMPT: String(spec.attempt),
    KEELHAUL_SEED: String(spec.seed),
    KEELHAUL_TASK: JSON.stringify(spec.task),
    KEELHAUL_WORKSPACE: WORKSPACE_PATH,
  };
}

/**
 * How long to wait for a container's `die` event once its output stream ended, ms, before
 * inspecting it instead. The event follows the stream's end by ~1 ms (bench/ measured 0.9–1.1 ms
 * median, tens of ms under load); a stream that ended for another reason (a daemon outage,
 * the events stream down) costs this much more before the inspect that sorts it out.
 */
const DIE_EVENT_WAIT_MS = 250;

/**
 * Runs each attempt as one hardened, labelled container: non-root, `CapDrop: ALL`,
 * `no-new-privileges`, read-only root filesystem, a tmpfs `/tmp`, a per-task labelled
 * volume at `/workspace`, memory and pids limits, and never the Docker socket: bind mounts,
 * `privileged` and `host` networking only as the scenario's `dangerouslyAllow` lets it ask.
 */
export class DockerBackend implements WorkerBackend {
  readonly kind = 'docker' as const;
  readonly capabilities: BackendCapabilities = { containers: true, processes: false, workspaceVolumes: true };
  readonly #docker: DockerClient;
  readonly #options: DockerBackendOptions;
  #networkName: string | undefined;
  readonly #volumes = new Map<string, Promise<string>>();
  /** Bumped at every daemon outage; an attempt that lived through one catches up from the daemon's log at its exit. */
  #outages = 0;
  readonly #generation = new Map<string, number>();
  readonly #user: string;
  readonly #owner: WorkerIds;

  /** @throws {WorkerUserError} when `options.user` is not a numeric `uid[:gid]` */
  constructor(docker: DockerClient, options: DockerBackendOptions) {
    this.#docker = docker;
    this.#options = options;
    this.#user = options.user ?? '1000:1000';
    this.#owner = parseWorkerUser(this.#user);
  }

  /**
   * Tells the backend the daemon stopped answering: output sent while it was down may have
   * missed the attached stream, so attempts alive now replay the daemon's log at their exit.
   */
  noteDaemonOutage(): void {
    this.#outages += 1;
  }

  /** The injector acts on containers through the Docker client itself. */
  faultTargets(): FaultTargets {
    return { docker: this.#docker };
  }

  /** Nothing of its own: every container, network and volume carries the run's label, and the run's cleanup removes them by it. */
  cleanup(): Promise<BackendCleanup | undefined> {
    return Promise.resolve(undefined);
  }

  /** Workspaces are volumes, snapshotted through a helper container: no directories here. */
  workspaceDirectories(): Promise<ReadonlyMap<string, string>> {
    return Promise.resolve(new Map());
  }

  /** The per-run network's name when `network: internal`, once prepared. */
  get networkName(): string | undefined {
    return this.#networkName;
  }

  /**
   * Creates the per-run network when `network: internal`; `existingNetwork`: a resumed
   * run's network, reused when it still exists. The image is checked by the controller,
   * before anything of the run exists (controller.ts `checkImage`), not again here.
   *
   * @throws {DaemonUnavailableError}
   */
  async prepare(options: { existingNetwork?: string } = {}): Promise<void> {
    if (this.#options.network === 'internal' && this.#options.useNetwork !== undefined) {
      this.#networkName = this.#options.useNetwork;
      return;
    }
    if (this.#options.network === 'internal') {
      const name = runNetworkName(this.#options.run.runId);
      if (options.existingNetwork) {
        // Run and role only: the controller labels differ after a resume.
        const existing = await this.#docker.listNetworks({ labels: { [Label.run]: this.#options.run.runId, [Label.role]: 'network' } });
        if (existing.some((n) => n.name === options.existingNetwork)) {
          this.#networkName = options.existingNetwork;
          return;
        }
      }
      await this.#docker.createNetwork({
        name,
        internal: true,
        labels: labelsFor(this.#options.run, 'network'),
      });
      this.#networkName = name;
    }
  }

  /**
   * Gives the task's next attempt a new, empty workspace volume (after a disk-full
   * failure). The old volume stays until the run's cleanup.
   */
  freshWorkspace(taskId: string): void {
    this.#volumes.delete(taskId);
    this.#generation.set(taskId, (this.#generation.get(taskId) ?? 1) + 1);
  }

  /**
   * Removes the task's current workspace volume once its task is finished with it (issue 7,
   * removal behind: a completed task's volume need not wait for the run's cleanup). A task
   * that never created one has nothing to remove; an earlier generation left by a disk-full
   * retry stays for the cleanup. Resolves `true` when it removed a volume; `false` when there
   * was none or the daemon refused (the run's cleanup removes it then). Never throws.
   */
  async releaseWorkspace(taskId: string): Promise<boolean> {
    const volume = this.#volumes.get(taskId);
    if (!volume) return false;
    this.#volumes.delete(taskId);
    try {
      await this.#docker.removeVolume(await volume, { force: true });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The name of the task's current workspace volume, created if it does not exist yet: the
   * one its next attempt mounts (the workspace lister mounts it too).
   * @throws {DockerError} when the daemon refuses to create it
   */
  workspaceVolume(taskId: string): Promise<string> {
    return this.#workspaceVolume(taskId);
  }

  /**
   * One workspace volume per task, reused by its attempts so a retry sees the earlier
   * attempt's files; its root owned by the worker's user (uid:gid, mode 0750) whatever the
   * image holds — a fresh volume after a disk-full failure too:
   * - `workspace.size` set: a tmpfs volume, owned through its mount options `uid=`, `gid=`,
   *   `mode=` (the tmpfs is mounted afresh, with them, at every container's start);
   * - otherwise an ordinary `local` volume, given to the worker's user by a never-started
   *   helper container (`giveWorkspaceToWorker`, src/backends/workspace-owner.ts: the local
   *   driver has no owner option, and a fresh one mounts root-owned 0755).
   * Keelhaul's own mounts of the volume set `NoCopy`, so Docker's copy-up of the image's
   * `/workspace` cannot reset that ownership.
   */
  #workspaceVolume(taskId: string): Promise<string> {
    let volume = this.#volumes.get(taskId);
    if (!volume) {
      const generation = this.#generation.get(taskId) ?? 1;
      const size = this.#options.workspaceSizeBytes;
      const { uid, gid } = this.#owner;
      const name = workspaceVolumeName(this.#options.run.runId, taskId, generation);
      const labels = labelsFor(this.#options.run, 'workspace', { task: taskId });
      volume = (async () => {
        const created = await this.#docker.createVolume({
          name,
          labels,
          ...(size !== undefined
            ? { driverOpts: { type: 'tmpfs', device: 'tmpfs', o: `size=${size},uid=${uid},gid=${gid},mode=${WORKSPACE_MODE.toString(8).padStart(4, '0')}` } }
            : {}),
        });
        if (size === undefined) {
          await giveWorkspaceToWorker(this.#docker, {
            volume: created,
            name: workspaceOwnerName(this.#options.run.runId, taskId, generation),
            image: this.#options.image,
            labels,
            owner: this.#owner,
            mountPath: WORKSPACE_PATH,
          });
        }
        return created;
      })();
      // A failed create must not poison later attempts of the task.
      volume.catch(() => this.#volumes.delete(taskId));
      this.#volumes.set(taskId, volume);
    }
    return volume;
  }

  #networkMode(): string {
    if (this.#options.network === 'internal') {
      if (!this.#networkName) throw new Error('DockerBackend.launch called before prepare(): the internal network does not exist yet');
      return this.#networkName;
    }
    return this.#options.network;
  }

  async launch(spec: AttemptSpec, observer: AttemptObserver): Promise<AttemptHandle> {
    const volume = await this.#workspaceVolume(spec.taskId);
    const name = attemptName(spec.runId, spec.taskId, spec.attempt);
    const containerSpec: ContainerSpec = {
      name,
      image: this.#options.image,
      labels: spec.labels,
      env: { ...this.#options.env, ...workerEnvironment(spec) },
      user: this.#user,
      networkMode: this.#networkMode(),
      mounts: [
        // NoCopy: copy-up of the image's /workspace would reset the root's owner (workspace-owner.ts).
        { type: 'volume', source: volume, target: WORKSPACE_PATH, noCopy: true },
        // noexec is not set: Node's JIT does not need it, but tools a user's worker runs may.
        { type: 'tmpfs', target: '/tmp', sizeBytes: this.#options.tmpfsBytes, mode: 0o1777 },
        ...(this.#options.bindMounts ?? []).map((m) => ({ type: 'bind' as const, source: m.source, target: m.target, readOnly: m.readOnly })),
      ],
      ...(this.#options.privileged ? { privileged: true } : {}),
      readonlyRootfs: true,
      capDrop: ['ALL'],
      securityOpt: ['no-new-privileges'],
      memoryBytes: this.#options.memoryBytes,
      pidsLimit: this.#options.pidsLimit,
      ...(this.#options.cpus !== undefined ? { nanoCpus: Math.round(this.#options.cpus * 1e9) } : {}),
    };

    const id = await this.#docker.createContainer(containerSpec);
    // Attach before start: output written before a later attach would be missed.
    const stream = this.#consume(await this.#docker.attachContainer(id), spec.logDir, observer, { skipLines: 0, skipThroughSeq: 0 });
    try {
      await this.#docker.startContainer(id);
    } catch (error) {
      // The daemon refused to start it (an entrypoint missing from the image, a ulimit above
      // the host's hard limit): the attempt never ran, so its `created` container is removed
      // at once rather than left for cleanup as a worker no attempt recorded. Best effort: a
      // daemon that went away leaves it to the run's cleanup by label.
      await this.#docker.removeContainer(id, { force: true }).catch(() => undefined);
      throw error;
    }
    return this.#handle(id, name, new Date().toISOString(), stream, spec.logDir, observer);
  }

  /**
   * Takes over an attempt container a previous controller launched: replays its output
   * from the daemon's log (events with `seq` ≤ `skipThroughSeq` were already recorded and
   * are not delivered again), follows it while it runs, and returns a handle as
   * {@link launch} does. Works on running and exited containers alike.
   *
   * @throws {ResourceNotFoundError} when the container is gone
   */
  async reattach(containerId: string, spec: Pick<AttemptSpec, 'logDir'>, observer: AttemptObserver, options: { skipThroughSeq?: number } = {}): Promise<AttemptHandle> {
    const info = await this.#docker.inspectContainer(containerId);
    const output = await this.#docker.containerLogs(containerId, { follow: info.state.running });
    const stream = this.#consume(output, spec.logDir, observer, { skipLines: 0, skipThroughSeq: options.skipThroughSeq ?? 0 });
    return this.#handle(containerId, info.name, info.state.startedAt, stream, spec.logDir, observer);
  }

  /**
   * Writes an attempt's output to stdout.log / stderr.log (whole, as the daemon replays it)
   * and parses stdout line by line (`consumeAttemptOutput`). The first `skipLines` lines and
   * events with `seq ≤ skipThroughSeq` were delivered before and are not delivered again.
   * `drained` resolves once both streams ended — at the container's exit, or when the
   * daemon went away.
   */
  #consume(output: ContainerOutput, logDir: string, observer: AttemptObserver, skip: { skipLines: number; skipThroughSeq: number }): ConsumedOutput {
    return consumeAttemptOutput(output, logDir, observer, { redactStream: this.#options.redactStream, ...skip });
  }

  /**
   * Inspects a container, riding out a daemon outage: while the daemon does not answer it
   * waits through `waitForDaemon` (which gives up past the scenario's outage limit).
   */
  async #inspectThroughOutage(id: string): Promise<ContainerInfo> {
    for (;;) {
      try {
        return await this.#docker.inspectContainer(id);
      } catch (error) {
        if (!(error instanceof DaemonUnavailableError) || !this.#options.waitForDaemon) throw error;
        await this.#options.waitForDaemon();
      }
    }
  }

  #handle(id: string, name: string, startedAt: string, first: ConsumedOutput, logDir: string, observer: AttemptObserver): AttemptHandle {
    const docker = this.#docker;
    let exit: Promise<AttemptExit> | undefined;
    // Not POST /wait: a wait pending while the daemon stops never settles (docker-modem does
    // not turn the dropped connection into an error). The output stream ends at the exit or
    // when the daemon goes away; inspect tells which, and a container that still runs (the
    // daemon came back, live-restore) is followed again.
    const outagesAtStart = this.#outages;
    const follow = async (): Promise<AttemptExit> => {
      let stream = first;
      let delivered = 0;
      for (;;) {
        await stream.drained;
        delivered = Math.max(delivered, stream.lines());
        // The exit code from the `die` event the controller already receives: no inspect on
        // the detection path. Not across an outage (the log may need a replay, below) nor
        // during a restart fault (that `die` is not the attempt's end).
        const fromEvents = this.#options.exitFromEvents;
        if (fromEvents && this.#outages === outagesAtStart && !this.#options.isRestarting?.(id)) {
          const exit = await fromEvents(id, DIE_EVENT_WAIT_MS);
          if (exit && this.#outages === outagesAtStart && !this.#options.isRestarting?.(id)) {
            return { exitCode: exit.exitCode, oomKilled: exit.oomKilled, endedAt: exit.time, outputMayBeLost: false };
          }
        }
        let info = await this.#inspectThroughOutage(id);
        // The stream can close a moment before State.Running turns false at a normal exit:
        // look again briefly before deciding the container still runs.
        for (let i = 0; i < 6 && info.state.running; i++) {
          await sleep(25);
          info = await this.#inspectThroughOutage(id);
        }
        if (!info.state.running && this.#options.isRestarting?.(id)) {
          // docker restart in progress: wait for the same container to run again.
          while (this.#options.isRestarting(id)) await sleep(100);
          info = await this.#inspectThroughOutage(id);
        }
        if (!info.state.running) {
          if (this.#outages !== outagesAtStart) {
            // Lines written while the daemon was away reach its log but not a stream that
            // broke with it: replay the log past what was delivered.
            const replay = this.#consume(await this.#docker.containerLogs(id, { follow: false }), logDir, observer, { skipLines: delivered, skipThroughSeq: 0 });
            await replay.drained;
          }
          // Docker's FinishedAt has nanoseconds; 0001-01-01 means "not finished".
          const finishedMs = Date.parse(info.state.finishedAt);
          const endedAt = finishedMs > 0 ? new Date(finishedMs).toISOString() : new Date().toISOString();
          return { exitCode: info.state.exitCode, oomKilled: info.state.oomKilled, endedAt, outputMayBeLost: this.#outages !== outagesAtStart };
        }
        observer.onReattach?.();
        const output = await this.#logsThroughOutage(id);
        stream = this.#consume(output, logDir, observer, { skipLines: delivered, skipThroughSeq: 0 });
      }
    };
    return {
      id,
      name,
      startedAt,
      wait(): Promise<AttemptExit> {
        exit ??= follow();
        return exit;
      },
      async kill(signal: string): Promise<void> {
        const info = await docker.inspectContainer(id);
        if (!info.state.running) return;
        await docker.killContainer(id, signal);
      },
    };
  }

  async #logsThroughOutage(id: string): Promise<ContainerOutput> {
    for (;;) {
      try {
        return await this.#docker.containerLogs(id, { follow: true });
      } catch (error) {
        if (!(error instanceof DaemonUnavailableError) || !this.#options.waitForDaemon) throw error;
        await this.#options.waitForDaemon();
      }
    }
  }
}
