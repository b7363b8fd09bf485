import { join } from 'node:path';
import PQueue from 'p-queue';
import type { AttemptHandle, AttemptObserver, AttemptTask, WorkerBackend } from '../backends/index.js';
import { attemptTaskOf } from '../backends/index.js';
import { createSeededRandom, FAULT_ACTIONS, Injector, type PartitionCheck } from '../chaos/index.js';
import { checkBudget, checkEventsFile, checkStateMatchesDaemon, runChecks, type CheckResult } from '../checks/index.js';
import {
  ContainerExitTracker,
  DaemonUnavailableError,
  DockerError,
  ImageNotFoundError,
  isolationProbeName,
  Label,
  labelsFor,
  workspaceListerName,
  type DaemonVersion,
  type ImageTransfer,
  type Role,
  type RunIdentity,
} from '../docker/index.js';
import { writeReportJson, writeRunReports, type RunReport } from '../report/index.js';
import { summarizeUsage, UsageTally } from '../report/usage.js';
import type { PrivateDaemon } from '../daemon/index.js';
import { launchTopology, type ScenarioTopology } from '../compose/index.js';
import { unhardenedBy, type Scenario } from '../scenario/index.js';
import { snapshotDockerWorkspaces, snapshotLocalWorkspaces, writeWorkspaceSnapshot } from '../backends/workspace-snapshot.js';
import { existsSync } from 'node:fs';
import { findDockerdPid, startMonitor, type MonitorSummary } from '../monitor/index.js';
import { keelhaulVersion } from '../version.js';
import { isWorkerUsage, type WorkerEvent } from '../worker/events.js';
import type { CleanupResult, LeakReport } from './cleanup.js';
import type { RunHooks, RunResult } from './run-options.js';
import { EventLog, readRunEventLines, type RunEvent } from '../events/index.js';
import { CompletionLedger } from './ledger.js';
import { stopReaper } from './reaper.js';
import { ensureReaper, guardRunNetwork } from './run-setup.js';
import { AttemptFailedError, runWithRetry } from './retry.js';
import { judgeAttempt } from './judge.js';
import { RemovalBehind } from './removal-behind.js';
import { auditContainer } from './audit.js';
import { HeartbeatWatch } from './heartbeat.js';
import { watchDaemonEvents } from './daemon-events-watch.js';
import { OomWatch } from './oom-watch.js';
import { assembleReport, attemptFactsOf, attemptRows, faultFactsOf, withContainerChecksNotApplicable } from './run-facts.js';
import { DaemonOutage } from './outage.js';
import { selectBackend } from './select-backend.js';
import { AttemptBook } from './attempt-book.js';
import { applyResumePlan, planResume, type FoundAttempt } from './reconcile.js';
import { DAEMON_FAULT_GRACE_MS, decideLaunchFailure, LAUNCH_FAILED, retryAfterFailure, taskBudget } from './retry-budget.js';
import { LockManager } from './locks.js';
import { readRunEvents } from './timeline.js';
import { expectChecks } from './expect-checks.js';
import { cleanUpByLabel, netemRulesLeft } from './teardown.js';
import { probeIsolation, startHostCanary, type IsolationProbe } from './isolation-probe.js';
import { ensureHelperImage, helperNeeds } from './helper-image.js';
import { listWorkspaceNow, startWorkspaceLister, type WorkspaceLister } from './workspace-lister.js';
import { attemptDirOf } from './run-paths.js';
import type { Redactor } from './redaction.js';
import { newAttemptRecord, type AttemptRecord, type StateStore, type TaskRecord } from './state.js';

/** What {@link executeRun} needs beyond the hooks. */
interface ExecuteOptions extends RunHooks {
  readonly scenario: Scenario;
  readonly runDir: string;
  readonly store: StateStore;
  readonly daemon: DaemonVersion;
  readonly resumed: boolean;
  /** The private daemon daemon faults act on; undefined for an external daemon. */
  readonly daemonHandle: PrivateDaemon | undefined;
  /** Hides the scenario's secret env values in events, logs and reports. */
  readonly redactor: Redactor;
  /** The scenario's Compose topology, loaded and checked (launched before the first attempt). */
  readonly topology?: ScenarioTopology | undefined;
  /** Images copied to the run's private daemon before it started (private-images.ts), each recorded as an `image.transferred` event after `run.started`. */
  readonly imageTransfers?: readonly ImageTransfer[];
}

/**
 * Reads the worker events a previous controller recorded, with the tolerant reader of
 * src/events/ (a torn last line and other lines that are not events are skipped); a file
 * that is missing or cannot be read gives none.
 */
async function readPriorWorkerEvents(path: string): Promise<{ task: string; attempt: number; event: WorkerEvent }[]> {
  const out: { task: string; attempt: number; event: WorkerEvent }[] = [];
  try {
    for await (const entry of readRunEventLines(path, { missing: 'empty' })) {
      const e = entry.kind === 'event' ? entry.event : undefined;
      if (e?.type === 'worker.event' && e.task && e.attempt && e.event) out.push({ task: e.task, attempt: e.attempt, event: e.event });
    }
  } catch {
    return [];
  }
  return out;
}

/** Whether a fault kind acts on the run's daemon (daemon-stop, -kill, -restart) rather than on containers. */
function actsOnDaemon(kind: string): boolean {
  return Object.hasOwn(FAULT_ACTIONS, kind) && FAULT_ACTIONS[kind as keyof typeof FAULT_ACTIONS].acts === 'daemon';
}

/** The Docker error behind `error`: itself, or the first along its `cause` chain. */
function dockerErrorIn(error: unknown): DockerError | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof DockerError) return e;
  }
  return undefined;
}

/**
 * Stdout lines of one attempt that are not events and still get a `worker.invalid-line`
 * event each; the rest are counted in one `worker.invalid-lines-suppressed` at its exit.
 */
const INVALID_LINE_EVENTS_PER_ATTEMPT = 100;

/**
 * The run itself, shared by a fresh run and a resumed one. See `runScenario` and
 * `resumeRun` for the contract. Which runs a caller is driving is the caller's
 * (`RunHooks.activeRuns`, one set per `Harness`), not a module's.
 */
export async function executeRun(options: ExecuteOptions): Promise<RunResult> {
  return executeRunInner(options);
}

async function executeRunInner(options: ExecuteOptions): Promise<RunResult> {
  const { scenario, docker, store, runDir, resumed } = options;
  const state = store.state;
  const { runId, seed, image } = state;
  const identity: RunIdentity = {
    runId,
    scenario: scenario.name,
    version: keelhaulVersion,
    controllerPid: state.controller.pid,
    controllerStart: state.controller.start,
  };
  const { redactor } = options;
  const log = new EventLog(runId, join(runDir, 'events.jsonl'), { redactor });
  if (options.onEvent) log.subscribe(options.onEvent);
  const ledger = new CompletionLedger(join(runDir, 'completions.jsonl'));

  // Exit codes from the daemon's `die` events (fed by the events subscription below), so
  // the backend judges an exit without inspecting the container (bench/ issue 7 detection).
  const exits = new ContainerExitTracker();
  /** A daemon outage, shared by everyone who meets it (outage.ts). */
  const outage = new DaemonOutage({
    endpoint: docker.endpoint,
    limitMs: scenario.daemon.outageLimitMs,
    ping: (o) => docker.ping(o),
    emit: (event) => log.emit(event),
  });
  // The one backend the scenario asks for; everything below talks to it as a WorkerBackend.
  const backend: WorkerBackend = selectBackend(scenario, {
    docker,
    identity,
    image,
    runDir,
    redactStream: () => redactor.stream(),
    waitForDaemon: () => outage.wait(),
    // The injector is built below, from the backend's fault targets; a restart fault only fires once attempts run.
    isRestarting: (id) => injector.isRestarting(id),
    exitFromEvents: (id, timeoutMs) => exits.waitForExit(id, timeoutMs),
    topology: options.topology,
  });
  const can = backend.capabilities;
  outage.onDown(() => backend.noteDaemonOutage());
  // The silence of an outage is the daemon's: each watched attempt's heartbeat starts afresh
  // when the daemon is back (measured: a 2 s daemon-kill answered again after 2.5 s, and a
  // 3 s watch armed before the outage declared a live-restored, healthy worker hung before
  // its re-attached output arrived).
  outage.onUp(() => book.rearmHeartbeats());

  // What the previous controller recorded: worker events (for dedupe, trigger counters and
  // attempt judgement) and completions (never run again).
  const book = new AttemptBook();
  // Agent usage per attempt, from every worker event recorded (a resumed run's prior ones too).
  const usage = new UsageTally();
  const noteEvent = (task: string, attempt: number, event: WorkerEvent): void => {
    const reported = (event as { usage?: unknown }).usage;
    if (isWorkerUsage(reported) && (event.type === 'task.progress' || event.type === 'task.completed' || event.type === 'task.failed')) {
      usage.add(task, attempt, reported);
    }
    book.noteEvent(task, attempt, event);
  };
  const prior = resumed ? await readPriorWorkerEvents(join(runDir, 'events.jsonl')) : [];
  for (const e of prior) noteEvent(e.task, e.attempt, e.event);
  const completedInLedger = new Set((await ledger.read()).map((e) => e.task));

  const active = new Map<string, AttemptHandle>();
  /** Tasks' `locks`: an attempt holds its task's locks from before its launch until it is judged. */
  const lockManager = new LockManager();
  const listWorkspaces = scenario.expect.workspaceCompliance && scenario.tasks.some((t) => t.writes !== undefined);
  // keelhaul's own image runs every helper container (probe, lister, filler, snapshot), never
  // the worker's: a worker image needs nothing inside it but the worker (helper-image.ts).
  const helper = helperNeeds(scenario, { captureWorkspaces: options.captureWorkspaces === true }).length > 0 ? await ensureHelperImage(docker) : undefined;
  const helperImage = helper?.image;
  /** A helper's labels: the run's, its role, and the skip label, so no fault selector ever picks it. */
  const helperLabels = (role: Role, extra: { task?: string; attempt?: number } = {}): Record<string, string> => ({
    ...labelsFor(identity, role, extra),
    [Label.skip]: 'true',
  });
  let canaryError: string | undefined;
  // network-isolation, probed from inside (issue 5): each attempt container of a `none` or
  // `internal` run tries to reach a listener on every address of the host.
  const canary =
    can.containers && scenario.expect.isolationProbe && (scenario.network === 'none' || scenario.network === 'internal')
      ? await startHostCanary().catch((error: unknown) => {
          canaryError = error instanceof Error ? error.message : String(error);
          return undefined;
        })
      : undefined;
  // What an earlier controller of this run recorded, for the timeline checks.
  const priorRunEvents = resumed ? await readRunEvents(join(runDir, 'events.jsonl')) : [];
  // What earlier controllers of this run saw from inside: a hole found before a crash stays found.
  for (const e of priorRunEvents) {
    if (e.type === 'isolation.probed') {
      book.of(e.task, e.attempt).probe = {
        probe: `${e.task}#${e.attempt}`,
        interfaces: e.interfaces,
        reached: e.reached,
        unreachable: e.unreachable,
        ...(e.error ? { error: e.error } : {}),
      };
    }
  }
  const partitionChecks: PartitionCheck[] = [];
  /** The daemon's `oom` and `die` events, for an exit 137 the OOMKilled flag missed. */
  const ooms = new OomWatch();
  const taskOutcomes = new Map<string, { outcome: 'completed' | 'failed'; attempts: number }>();
  let runError: string | undefined;
  const queue = new PQueue({ concurrency: scenario.concurrency });
  const stop = new AbortController();
  const abortRun = (reason: string): void => {
    if (stop.signal.aborted) return;
    runError ??= reason;
    log.emit({ type: 'run.aborted', reason });
    stop.abort(new Error(reason));
    // Not queue.clear(): p-queue drops cleared jobs without settling their promises, and the
    // run awaits them. Queued tasks start, see the abort and return at once instead.
    for (const handle of active.values()) handle.kill('SIGKILL').catch(() => undefined);
  };
  const onExternalAbort = (): void => abortRun(`aborted: ${String((options.signal?.reason as Error | undefined)?.message ?? options.signal?.reason ?? 'signal')}`);
  options.signal?.addEventListener('abort', onExternalAbort, { once: true });
  const timeout = setTimeout(() => abortRun(`timed out after ${scenario.timeoutMs} ms (timeoutMs)`), scenario.timeoutMs);

  /** When a daemon fault last acted (fired, failed, undone), ms: launch failures near it are the daemon's (retry-budget.ts). */
  let lastDaemonFaultMs = Number.NEGATIVE_INFINITY;
  const faultTargets = backend.faultTargets();
  const injector: Injector = new Injector({
    faults: scenario.faults,
    random: createSeededRandom(seed).fork('faults'),
    context: {
      ...faultTargets,
      helperLabels: (role) => helperLabels(role),
      // The filler and the partition probe run busybox: keelhaul's image, not the worker's.
      image: helperImage ?? image,
      ...(scenario.workspace.size !== undefined ? { workspaceSizeBytes: scenario.workspace.size } : {}),
      ...(options.daemonHandle ? { daemon: options.daemonHandle } : {}),
      // A getter: the run's network exists only once the backend is prepared.
      get networkName(): string | undefined {
        return backend.networkName;
      },
      // No quiesce: nothing of the controller's execs into an attempt any more (the isolation
      // probe is a helper container of its own), so a pause need not wait (FaultContext.quiesce).
      onPartitionCheck: (check) => {
        partitionChecks.push(check);
        log.emit({ type: 'fault.verified', ...check });
      },
    },
    runId,
    emit: (event) => {
      if (actsOnDaemon(event.type === 'fault.skipped' || event.type === 'fault.undone' ? event.kind : event.record.kind)) lastDaemonFaultMs = Date.now();
      if (event.type === 'fault.skipped' || event.type === 'fault.undone') {
        log.emit(event);
        return;
      }
      log.emit({ type: event.type, fault: event.record });
      void store
        .update((s) => {
          s.faults = [...injector.records];
        })
        .catch(() => undefined);
    },
    ...(resumed ? { resume: { records: state.faults, priorEvents: prior.map((p) => p.event) } } : {}),
    beforeAct: async (pending) => {
      if (actsOnDaemon(pending.kind)) lastDaemonFaultMs = Date.now();
      await store
        .update((s) => {
          s.faults = [...injector.records.filter((r) => r.faultId !== pending.faultId), pending];
        })
        .catch(() => undefined);
    },
  });

  const save = (): Promise<void> =>
    store.save().catch((error: unknown) => {
      runError ??= `cannot write state.json: ${error instanceof Error ? error.message : String(error)}`;
    });

  /** Follows an attempt to its end, judges it, records it. Throws AttemptFailedError unless completed. */
  const followAttempt = async (task: TaskRecord, taskId: string, record: AttemptRecord, handle: AttemptHandle, labels: Record<string, string>): Promise<AttemptRecord> => {
    record.containerId = handle.id;
    record.containerName = handle.name;
    record.startedAt = handle.startedAt;
    record.status = 'running';
    active.set(handle.id, handle);
    // Write-behind (issue 7, launch path): a controller that dies before this write lands
    // finds the container by its labels on resume and adopts it; the exit below is awaited.
    store.schedule();
    log.emit({ type: 'attempt.running', task: taskId, attempt: record.attempt, containerId: handle.id, containerName: handle.name });
    // Labels and HostConfig are fixed at create time, so an inspect right after start
    // sees them even when a fault kills the container first.
    // One inspect serves the audit and the isolation probe (which skips a container that has exited).
    const inspected = can.containers ? docker.inspectContainer(handle.id) : undefined;
    const audit = !inspected
      ? Promise.resolve(undefined)
      : inspected
          .then((info) => {
            // The image id, not the tag: what `keelhaul repro` re-runs, even after a rebuild.
            record.imageId = info.imageId;
            return auditContainer(info, labels, backend.networkName ?? scenario.network, scenario.dangerouslyAllow);
          })
          .catch(() => undefined);
    // From inside its network namespace, right after the audit's inspect: a container that
    // exits first says so in `error`. The probe is a helper of keelhaul's image that joins the
    // namespace (isolation-probe.ts), so the worker's image needs no shell.
    const probed =
      canary && inspected
        ? (helperImage
            ? probeIsolation(docker, handle.id, {
                probe: `${taskId}#${record.attempt}`,
                port: canary.port,
                targets: canary.addresses(),
                inspected,
                image: helperImage,
                name: isolationProbeName(runId, taskId, record.attempt, Date.now().toString(36)),
                labels: helperLabels('probe', { task: taskId, attempt: record.attempt }),
              })
            : Promise.resolve<IsolationProbe>({ probe: `${taskId}#${record.attempt}`, interfaces: [], reached: [], unreachable: [], error: helper?.error ?? 'no helper image' })
          ).then((probe) => {
            book.of(taskId, record.attempt).probe = probe;
            log.emit({
              type: 'isolation.probed',
              task: taskId,
              attempt: record.attempt,
              containerId: handle.id,
              interfaces: [...probe.interfaces],
              reached: [...probe.reached],
              unreachable: [...probe.unreachable],
              ...(probe.error ? { error: probe.error } : {}),
            });
          })
        : undefined;
    // The heartbeat watch: an attempt silent for heartbeatTimeoutMs (paused, hung, its
    // stdout blocked) is declared hung, killed and retried.
    let outputMayBeLost = false;
    const timeoutMs = scenario.heartbeatTimeoutMs;
    const heartbeat =
      timeoutMs === undefined
        ? undefined
        : new HeartbeatWatch({
            timeoutMs,
            daemonDown: () => outage.active,
            onHung: () => {
              log.emit({ type: 'attempt.hung', task: taskId, attempt: record.attempt, containerId: handle.id, silentMs: timeoutMs });
              handle.kill('SIGKILL').catch(() => undefined);
            },
          });
    if (heartbeat) book.of(taskId, record.attempt).rearmHeartbeat = () => heartbeat.rearm();
    try {
      const exit = await handle.wait();
      record.exitCode = exit.exitCode;
      record.oomKilled = exit.oomKilled;
      record.endedAt = exit.endedAt;
      outputMayBeLost = exit.outputMayBeLost ?? false;
    } finally {
      heartbeat?.stop();
      const invalid = book.of(taskId, record.attempt).invalidLines;
      if (invalid > INVALID_LINE_EVENTS_PER_ATTEMPT) {
        log.emit({ type: 'worker.invalid-lines-suppressed', task: taskId, attempt: record.attempt, lines: invalid - INVALID_LINE_EVENTS_PER_ATTEMPT, total: invalid });
      }
      book.of(taskId, record.attempt).rearmHeartbeat = undefined;
      active.delete(handle.id);
      const problems = await audit;
      await probed;
      record.audited = problems !== undefined;
      record.auditProblems = problems ?? [];
    }
    // The OOMKilled flag can miss an OOM kill that the daemon's `oom` event reports (cgroup
    // v1 notifies separately from the exit): give that event a moment to arrive.
    if (can.containers && record.exitCode === 137 && !record.oomKilled && injector.faultsTargeting(handle.id).length === 0) {
      // The daemon sends `oom` before `die`: once its `die` is in, no `oom` is coming.
      await ooms.waitForDie(handle.id, 300);
      if (ooms.sawOom(handle.id)) record.oomKilled = true;
    }
    const p = book.of(taskId, record.attempt);
    record.completedEvents = p.completedEvents;
    record.completedAt = p.completedAt ?? null;
    record.interfaces = p.interfaces ?? null;
    // task.completed is the commit point even for an attempt that went silent afterwards.
    const judged = judgeAttempt({
      exitCode: record.exitCode,
      oomKilled: record.oomKilled,
      completedEvents: p.completedEvents,
      failedReason: p.failedReason,
      targetedBy: injector.faultsTargeting(handle.id),
      outputMayBeLost,
      ...(heartbeat?.hung && timeoutMs !== undefined ? { hung: { silentMs: timeoutMs } } : {}),
    });
    record.outcome = judged.outcome;
    record.reason = judged.reason;
    record.status = 'exited';
    if (judged.outcome === 'completed') {
      // The ledger first: once it holds the line, no controller runs the task again.
      await ledger.append({ task: taskId, attempt: record.attempt, containerId: handle.id, controllerPid: process.pid, ts: new Date().toISOString() });
      task.status = 'completed';
    }
    await save();
    log.emit({
      type: 'attempt.exited',
      task: taskId,
      attempt: record.attempt,
      containerId: handle.id,
      exitCode: record.exitCode ?? -1,
      oomKilled: record.oomKilled,
      outcome: judged.outcome,
      ...(judged.reason ? { reason: judged.reason } : {}),
      durationMs: Date.parse(record.endedAt ?? new Date().toISOString()) - Date.parse(record.startedAt),
    });
    if (judged.outcome !== 'completed') {
      const decision = retryAfterFailure({ outcome: judged.outcome, failedReason: p.failedReason, onDiskFull: scenario.workspace.onDiskFull, aborted: stop.signal.aborted });
      // The next attempt gets an empty workspace; the full one stays for the post-mortem until cleanup.
      if (decision.freshWorkspace) backend.freshWorkspace(taskId);
      throw new AttemptFailedError(`${taskId} attempt ${record.attempt} ${judged.outcome}`, record, { retryable: decision.retryable });
    }
    return record;
  };

  const observerFor = (taskId: string, attempt: number): AttemptObserver => ({
    onEvent: (event: WorkerEvent) => {
      book.get(taskId, attempt)?.rearmHeartbeat?.();
      noteEvent(taskId, attempt, event);
      log.emit({ type: 'worker.event', task: taskId, attempt, event });
      injector.observe(event);
    },
    onInvalidLine: (line, error, lineNumber) => {
      // The first lines are events; past that they are only counted (all of them stay in
      // stdout.log): a worker printing 200 MB of text must not become 200k events.
      const seen = (book.of(taskId, attempt).invalidLines += 1);
      if (seen <= INVALID_LINE_EVENTS_PER_ATTEMPT) log.emit({ type: 'worker.invalid-line', task: taskId, attempt, lineNumber, line: line.slice(0, 500), error });
    },
    onReattach: () => {
      log.emit({ type: 'attempt.reattached', task: taskId, attempt, reason: 'the output stream ended while the container still ran (a daemon outage, or a restart)' });
    },
  });

  const launchAttempt = async (taskId: string, attemptNumber: number, spec: AttemptTask): Promise<AttemptRecord> => {
    stop.signal.throwIfAborted();
    const task = state.tasks[taskId]!;
    const record: AttemptRecord = newAttemptRecord(attemptNumber, new Date().toISOString());
    const pendingOutage = outage.current;
    if (pendingOutage) await pendingOutage;
    task.attempts.push(record);
    task.status = 'running';
    // Write-behind, as for `running` above: resume adopts a container state.json never
    // heard of by its labels (see the reconcile below), so create need not wait for this.
    store.schedule();
    const labels = labelsFor(identity, 'worker', { task: taskId, attempt: attemptNumber });
    // Started before the attempt so that a tmpfs workspace stays mounted until it is listed.
    let lister: WorkspaceLister | undefined;
    if (listWorkspaces && spec.writes !== undefined) {
      try {
        if (!helperImage) throw new Error(helper?.error ?? 'no helper image');
        lister = await startWorkspaceLister(docker, {
          name: workspaceListerName(runId, taskId, attemptNumber),
          image: helperImage,
          volume: await backend.workspaceVolume(taskId),
          labels: helperLabels('probe', { task: taskId, attempt: attemptNumber }),
        });
      } catch (error) {
        book.of(taskId, attemptNumber).workspaceListing = { error: `the workspace lister did not start: ${error instanceof Error ? error.message : String(error)}` };
      }
    }
    let handle: AttemptHandle;
    try {
      handle = await backend.launch(
        { runId, taskId, attempt: attemptNumber, seed, task: spec, labels, logDir: attemptDirOf(runDir, taskId, attemptNumber) },
        observerFor(taskId, attemptNumber),
      );
    } catch (error) {
      await lister?.remove();
      record.status = 'exited';
      const reason = `${LAUNCH_FAILED}: ${error instanceof Error ? error.message : String(error)}`;
      record.reason = reason;
      // The daemon's error, found through wrappers (a workspace that could not be given to
      // the worker's user carries it as its cause).
      const dockerError = dockerErrorIn(error);
      if (!dockerError || dockerError instanceof ImageNotFoundError) {
        record.outcome = 'lost';
        await save();
        log.emit({ type: 'attempt.launch-failed', task: taskId, attempt: attemptNumber, reason, spendsAttempt: false });
        throw error;
      }
      const outageBefore = outage.active || dockerError instanceof DaemonUnavailableError;
      // Until decided: lost, as a watch that gives up on the daemon leaves it (resumable).
      record.outcome = 'lost';
      // A daemon going away mid-launch fails in many ways ("database not open" while it
      // shuts down, ECONNREFUSED after), and one shutting down answers pings for a while but
      // refuses work: watch it for a few seconds; an unanswered ping starts (or joins) the
      // outage and waits it out, so the next launch waits for the daemon rather than spinning
      // into it. A 4xx from a daemon that answers is the daemon judging the request itself
      // (an entrypoint missing from the image: 400), not a daemon going away: no watch.
      const judgedRequest = !outageBefore && dockerError.status !== undefined && dockerError.status >= 400 && dockerError.status < 500;
      const wentAway = (!judgedRequest && (await outage.waitIfGoingAway())) || outageBefore;
      const decision = decideLaunchFailure({
        daemonWentAway: wentAway,
        daemonFaultRecent: Date.now() - lastDaemonFaultMs < DAEMON_FAULT_GRACE_MS,
        aborted: stop.signal.aborted,
        attempts: state.tasks[taskId]!.attempts,
        failedStartedAt: record.startedAt,
        nowMs: Date.now(),
        outageLimitMs: scenario.daemon.outageLimitMs,
      });
      record.outcome = decision.outcome;
      await save();
      log.emit({ type: 'attempt.launch-failed', task: taskId, attempt: attemptNumber, reason, spendsAttempt: decision.consumesAttempt });
      throw new AttemptFailedError(`${taskId} attempt ${attemptNumber} could not be launched`, record, {
        retryable: decision.retryable,
        consumesAttempt: decision.consumesAttempt,
        cause: error,
      });
    }
    try {
      return await followAttempt(task, taskId, record, handle, labels);
    } finally {
      // Only a completed attempt's workspace is judged; the others' listers just go.
      if (lister && record.outcome === 'completed') book.of(taskId, attemptNumber).workspaceListing = await lister.listAndRemove();
      else await lister?.remove();
    }
  };

  /** Takes over an attempt container found on the daemon (resume). */
  const adoptAttempt = async (taskId: string, record: AttemptRecord, container: FoundAttempt): Promise<AttemptRecord> => {
    const task = state.tasks[taskId]!;
    const labels = labelsFor(identity, 'worker', { task: taskId, attempt: record.attempt });
    const handle = await backend.reattach(container.containerId, { logDir: attemptDirOf(runDir, taskId, record.attempt) }, observerFor(taskId, record.attempt), {
      skipThroughSeq: book.of(taskId, record.attempt).maxSeq,
    });
    log.emit({ type: 'attempt.adopted', task: taskId, attempt: record.attempt, containerId: container.containerId, state: container.state });
    const writes = scenario.tasks.find((t) => t.id === taskId)?.writes;
    try {
      return await followAttempt(task, taskId, record, handle, labels);
    } finally {
      if (listWorkspaces && writes !== undefined && record.outcome === 'completed') {
        const seen = book.of(taskId, record.attempt);
        if (scenario.workspace.size !== undefined) {
          // A tmpfs workspace is emptied once no container mounts it: nothing watched it while no controller ran.
          seen.workspaceListing = { error: 'adopted on resume with a tmpfs workspace: its contents went with the container' };
        } else {
          seen.workspaceListing = helperImage
            ? await listWorkspaceNow(docker, {
                name: workspaceListerName(runId, taskId, record.attempt),
                image: helperImage,
                volume: await backend.workspaceVolume(taskId),
                labels: helperLabels('probe', { task: taskId, attempt: record.attempt }),
              })
            : { error: `the workspace lister did not start: ${helper?.error ?? 'no helper image'}` };
        }
      }
    }
  };

  /** Completed tasks' containers and workspaces removed as they finish (removal-behind.ts); only containers. */
  const removals = can.containers
    ? new RemovalBehind({
        docker,
        save,
        schedule: () => store.schedule(),
        settled: (containerId) => injector.settled(containerId),
        releaseWorkspace: (taskId) => backend.releaseWorkspace(taskId),
        keepWorkspaces: options.captureWorkspaces === true,
      })
    : undefined;

  const runTask = async (taskSpec: Scenario['tasks'][number], adopt?: { readonly record: AttemptRecord; readonly container: FoundAttempt }): Promise<void> => {
    const task = state.tasks[taskSpec.id]!;
    if (stop.signal.aborted && !adopt) return; // never started: reported as not-run
    // The task's own fields go to the worker unchanged (docs/worker-contract.md).
    const attemptTask: AttemptTask = attemptTaskOf(taskSpec, scenario.heartbeatMs);
    // Attempts already judged count against maxAttempts; an adopted one is the first of this loop.
    const budget = taskBudget(task.attempts, scenario.retry.maxAttempts, adopt !== undefined);
    const lastNumber = task.attempts.at(-1)?.attempt ?? 0;
    let outcome: { outcome: 'completed' | 'failed'; attempts: number };
    if (!budget.run) {
      outcome = { outcome: 'failed', attempts: task.attempts.length };
    } else {
      try {
        let next = lastNumber;
        const result = await runWithRetry(
          { ...scenario.retry, maxAttempts: budget.maxAttempts },
          async (n) => {
            // Waiting for locks spends no attempt: the attempt is numbered once they are held.
            const held = taskSpec.locks ? await lockManager.acquire(taskSpec.id, taskSpec.locks, stop.signal) : undefined;
            try {
              if (n === 1 && adopt) return await adoptAttempt(taskSpec.id, adopt.record, adopt.container);
              next += 1;
              return await launchAttempt(taskSpec.id, next, attemptTask);
            } finally {
              held?.release();
            }
          },
          {
            signal: stop.signal,
            onRetry: (_n, delayMs, failed) => log.emit({ type: 'attempt.retrying', task: taskSpec.id, attempt: next + 1, delayMs, previousOutcome: failed.outcome ?? 'lost' }),
          },
        );
        outcome = { outcome: result.ok ? 'completed' : 'failed', attempts: task.attempts.length };
      } catch (error) {
        if (error instanceof DaemonUnavailableError) {
          abortRun(
            outage.gaveUp
              ? `the Docker daemon did not come back within ${scenario.daemon.outageLimitMs} ms (daemon.outageLimitMs); state is saved: \`keelhaul resume ${runId}\` once it is back`
              : `the Docker daemon stopped answering: ${error.message}`,
          );
        } else if (!stop.signal.aborted) runError ??= `task ${taskSpec.id}: ${error instanceof Error ? error.message : String(error)}`;
        outcome = { outcome: 'failed', attempts: task.attempts.length };
      }
    }
    // A task cut short by the run's abort (timeout, lost daemon, Ctrl-C) has not failed by
    // itself: it stays open in state.json so that a resume runs it.
    const statusBefore = task.status;
    if (task.status !== 'completed' && !(stop.signal.aborted && outcome.outcome === 'failed')) task.status = outcome.outcome;
    // Only when the status changed (issue 7: state.json was rewritten whole ~4× per attempt):
    // a completed task was already saved as completed with its attempt's exit, right after
    // the ledger line, so a second identical write bought nothing.
    if (task.status !== statusBefore) await save();
    taskOutcomes.set(taskSpec.id, outcome);
    log.emit({ type: 'task.finished', task: taskSpec.id, outcome: outcome.outcome, attempts: outcome.attempts });
    if (task.status === 'completed') removals?.remove(taskSpec.id, task);
    const completed = Object.values(state.tasks).filter((t) => t.status === 'completed').length;
    injector.progress(completed / scenario.tasks.length);
  };

  if (resumed) {
    log.emit({ type: 'run.resumed', controllerPid: process.pid, previousControllers: state.controllers.length - 1 });
  } else {
    log.emit({
      type: 'run.started',
      scenario: scenario.name,
      seed,
      image,
      network: scenario.network,
      tasks: scenario.tasks.length,
      concurrency: scenario.concurrency,
      runDir,
    });
    for (const transfer of options.imageTransfers ?? []) log.emit({ type: 'image.transferred', ...transfer });
  }

  // The daemon's own account of the run's containers (die, oom, kill, pause, …), followed
  // across outages with `since`, recorded in the timeline.
  const daemonEvents = can.containers
    ? watchDaemonEvents({
        docker,
        runId,
        since: new Date(state.startedAtMs),
        onAnyEvent: (e) => exits.note(e),
        onRecorded: (e) => ooms.note(e),
        onConnected: (connected) => exits.setConnected(connected),
        emit: (event) => log.emit(event),
      })
    : undefined;
  // Resource samples of the controller, dockerd, the reaper and the attempt containers.
  let backlogSamples = 0;
  let peakEventBacklog = 0;
  let dockerdPid: number | undefined;
  const dockerdNow = (): number | undefined =>
    options.daemonHandle?.pid ??
    (dockerdPid !== undefined && existsSync(`/proc/${dockerdPid}`) ? dockerdPid : (dockerdPid = docker.endpoint.startsWith('/') ? findDockerdPid(docker.endpoint) : undefined));
  const monitor = startMonitor({
    docker,
    intervalMs: scenario.monitor.intervalMs,
    samplesPath: join(runDir, 'samples.jsonl'),
    processes: () => {
      const list = [{ name: 'controller', pid: process.pid }];
      const d = dockerdNow();
      if (d) list.push({ name: 'dockerd', pid: d });
      if (state.reaper) list.push({ name: 'reaper', pid: state.reaper.pid });
      // Local attempts are processes (`pid:<n>`), sampled as such.
      for (const id of active.keys()) if (id.startsWith('pid:')) list.push({ name: id, pid: Number(id.slice(4)) });
      return list;
    },
    containers: () => (can.containers ? [...active.keys()] : []),
    alerts: { rssGrowthBytes: scenario.monitor.rssGrowthBytes },
    backlog: () => ({ events: log.backlog, queuedTasks: queue.size, lockWaiting: lockManager.waiting }),
    onSample: (sample) => {
      if (sample.kind !== 'backlog') return;
      backlogSamples += 1;
      peakEventBacklog = Math.max(peakEventBacklog, sample.events);
    },
    onAlert: (a) => log.emit({ type: 'monitor.alert', ...a }),
  });
  let resources: MonitorSummary | null = null;

  let cleanup: CleanupResult | null = null;
  let leaks: LeakReport = { containers: [], networks: [], volumes: [] };
  let workersOnDaemon: string[] | undefined;
  /** Shaping rules left behind (netem faults only): see rule-leaks.ts. */
  let injectedRules: string[] | undefined;
  /** Whether the internal network's guard rules were put on the host (removed after cleanup). */
  let guardedNetwork = false;
  // The timeline the expect checks read: attempt, fault and Docker events. Worker events are
  // left out — a flooding worker makes them numerous, and no timeline check reads them.
  const recorded: RunEvent[] = [];
  log.subscribe((event) => {
    if (!event.type.startsWith('worker.')) recorded.push(event);
  });
  // Every event this controller recorded, validated as it goes (never all held in memory).
  // The reaper removes by Docker label; attempts that are processes die with this one (execa `cleanup`).
  const reaperEnabled = can.containers && (options.reaper ?? scenario.reaper.enabled);
  try {
    if (reaperEnabled) await ensureReaper({ runDir, store, ttlMs: scenario.reaper.ttlMs, emit: (event) => log.emit(event) });
    // The topology's services run for the whole run; the run's cleanup removes them by label.
    if (options.topology) {
      const launched = await launchTopology(docker, options.topology.topology, identity, keelhaulVersion);
      log.emit({ type: 'topology.started', file: options.topology.topology.file, services: [...launched.services], networks: Object.values(launched.networks) });
    }
    if (resumed && state.networkName) {
      // The per-run network survives a controller crash unless the reaper removed it.
      await backend.prepare({ existingNetwork: state.networkName });
    } else {
      await backend.prepare();
    }
    if (can.containers && scenario.network === 'internal' && backend.networkName) {
      guardedNetwork = await guardRunNetwork(docker, runId, backend.networkName, (event) => log.emit(event));
    }
    if (backend.networkName !== (state.networkName ?? undefined)) {
      await store.update((s) => {
        s.networkName = backend.networkName ?? null;
      });
    }
    injector.start(state.startedAtMs);

    // Reconcile with the daemon: which attempt containers exist, and in what state.
    const found = resumed ? await docker.listContainers({ labels: { [Label.run]: runId, [Label.role]: 'worker' }, all: true }) : [];
    const plan = planResume(
      { taskIds: scenario.tasks.map((t) => t.id), tasks: state.tasks, completedInLedger, resumed },
      found.map((c) => ({
        containerId: c.id,
        containerName: c.names[0]?.replace(/^\//, '') ?? '',
        task: c.labels[Label.task] ?? '',
        attempt: Number(c.labels[Label.attempt]),
        state: c.state,
      })),
    );
    for (const p of plan.tasks) {
      if (p.action !== 'run') taskOutcomes.set(p.task, { outcome: p.action, attempts: state.tasks[p.task]!.attempts.length });
    }
    const toRun = applyResumePlan(state.tasks, plan, new Date().toISOString(), (task, attempt, reason) => log.emit({ type: 'attempt.lost', task, attempt, reason }));
    const specs = new Map(scenario.tasks.map((t) => [t.id, t]));
    const work = toRun.map(({ task, adopt }) => queue.add(() => runTask(specs.get(task)!, adopt)));
    await save();
    await Promise.all(work);
    await queue.onIdle();
  } catch (error) {
    runError ??= error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timeout);
    options.signal?.removeEventListener('abort', onExternalAbort);
    await injector.stop();
    resources = await monitor.stop();
    // Shaping rules netem faults added must be gone once the injector stopped (it undoes them):
    // look inside the targets still running, before cleanup takes their namespaces away.
    const rulesInContainers = scenario.faults.some((f) => f.kind === 'netem') && !outage.gaveUp ? await netemRulesLeft(docker, runId, injector.records) : undefined;
    if (options.captureWorkspaces) {
      // Before cleanup: docker workspaces are volumes that cleanup removes.
      const snapshot = can.workspaceVolumes
        ? snapshotDockerWorkspaces(docker, { runId, image: helperImage ?? image, labels: helperLabels('probe'), sizeLimited: scenario.workspace.size !== undefined })
        : snapshotLocalWorkspaces(await backend.workspaceDirectories());
      await snapshot
        .catch((error: unknown) => ({ backend: scenario.backend, tasks: {}, unavailable: error instanceof Error ? error.message : String(error) }))
        .then((s) => writeWorkspaceSnapshot(runDir, s))
        .catch((error: unknown) => {
          runError ??= `cannot write workspaces.json: ${error instanceof Error ? error.message : String(error)}`;
        });
    }
    // A backend that owns its attempts (processes, tmpfs mounts) ends them itself; everything
    // on the daemon carries the run's label and goes with the run's cleanup by label.
    const own = await backend.cleanup();
    if (own) {
      cleanup = own.removed;
      log.emit({ type: 'cleanup.finished', ...cleanup, errors: [...cleanup.errors] });
      leaks = own.leaks;
    } else {
      const byLabel = await cleanUpByLabel({
        docker,
        runId,
        tasks: state.tasks,
        daemonGone: outage.gaveUp,
        removals: removals?.inFlight ?? [],
        removedBehind: removals?.removed ?? { containers: 0, volumes: 0 },
        rulesInContainers,
        guardedNetwork,
        emit: (event) => log.emit(event),
      });
      cleanup = byLabel.cleanup;
      leaks = byLabel.leaks;
      workersOnDaemon = byLabel.workersOnDaemon;
      injectedRules = byLabel.injectedRules;
      if (byLabel.error !== undefined) runError ??= byLabel.error;
    }
    await canary?.close();
    // After cleanup, so the timeline shows what cleanup itself killed.
    await daemonEvents?.stop();
  }

  const records = injector.records;
  const faultFacts = faultFactsOf(scenario.faults, records, new Set(injector.unfired));
  const taskIds = scenario.tasks.map((t) => t.id);
  const allAttempts = attemptRows(taskIds, state.tasks);
  const ledgerEntries = await ledger.read();
  const attemptFacts = attemptFactsOf(allAttempts, (task, attempt) => book.get(task, attempt)?.probe);
  let checks: CheckResult[] = runChecks({
    taskIds,
    attempts: attemptFacts,
    faults: faultFacts,
    network: scenario.network,
    unhardened: unhardenedBy(scenario),
    leaks: { ...leaks, ...(injectedRules ? { rules: injectedRules } : {}) },
    ledger: ledgerEntries.map((e) => ({ task: e.task, attempt: e.attempt })),
    partitionChecks,
    ...(canary ? { canary: { port: canary.port, contacts: canary.contacts() } } : {}),
    ...(canaryError ? { probeUnavailable: `the host canary could not listen: ${canaryError}` } : {}),
    expect: scenario.expect,
  });
  checks.push(
    ...expectChecks({
      scenario,
      attempts: attemptFacts,
      faults: faultFacts,
      timeline: [...priorRunEvents, ...recorded],
      controllerRss: resources?.controllerRss,
      backlog: { samples: backlogSamples, peakEvents: peakEventBacklog },
      workspaceListings: listWorkspaces ? book.workspaceListings() : undefined,
    }),
  );
  const stateCheck = checkStateMatchesDaemon(
    // A lost attempt's container is gone by definition (reaped, removed by hand).
    allAttempts.filter((a) => a.containerId && a.outcome !== 'lost' && !a.removedAt).map((a) => a.containerId),
    // One whose removal a dying controller recorded but never finished is the cleanup's to remove.
    workersOnDaemon?.filter((id) => !allAttempts.some((a) => a.removedAt && a.containerId === id)),
  );
  if (stateCheck) checks.push(stateCheck);
  // What only a container has (labels, HostConfig, a daemon's account) is not judged for processes.
  if (!can.containers) checks = withContainerChecksNotApplicable(checks, backend.kind);
  // Read back from the file, so that what reached events.jsonl is judged, not what was meant.
  await log.flush();
  checks.push(await checkEventsFile(join(runDir, 'events.jsonl')));
  const runUsage = summarizeUsage(
    taskIds,
    allAttempts.map((a) => ({ task: a.task, outcome: a.outcome ?? 'lost', usage: usage.of(a.task, a.attempt) })),
  );
  checks.push(checkBudget(runUsage, scenario.budget));
  for (const check of checks) {
    log.emit({ type: 'check.result', name: check.name, ok: check.ok, expected: check.expected, observed: check.observed });
  }

  const reportPath = join(runDir, 'report.json');
  const report: RunReport = redactor.value<RunReport>(
    assembleReport({
      keelhaulVersion,
      runId,
      seed,
      scenario: { name: scenario.name, backend: scenario.backend, network: scenario.network, taskIds, faults: scenario.faults },
      scenarioFile: state.scenarioFile,
      runError,
      unhardened: unhardenedBy(scenario) as ('dockerSocket' | 'hostNetwork' | 'privileged')[],
      redactedSecrets: redactor.count,
      startedAtMs: state.startedAtMs,
      endedAtMs: Date.now(),
      image,
      daemon: { endpoint: docker.endpoint, version: options.daemon.version, apiVersion: options.daemon.negotiatedApiVersion },
      controllers: state.controllers.length,
      taskOutcomes,
      attemptCount: (task) => state.tasks[task]!.attempts.length,
      attempts: allAttempts,
      faultsTargeting: (containerId) => injector.faultsTargeting(containerId),
      usageOf: (task, attempt) => usage.of(task, attempt),
      faultFacts,
      records,
      cleanup,
      resources,
      checks,
      usage: runUsage,
    }),
  );
  const status = report.status;
  await writeReportJson(reportPath, report);
  await store.update((s) => {
    // A run that lost its daemon stays resumable.
    if (!outage.gaveUp) s.status = 'finished';
    s.faults = [...records];
  });
  // A run given up on a lost daemon stays resumable: its reaper keeps watching it.
  if (state.reaper && !outage.gaveUp) stopReaper(state.reaper.pid, runDir);
  log.emit({ type: 'run.finished', status, durationMs: report.durationMs, reportPath });
  await log.close();
  // After close: events.jsonl is flushed and ends with run.finished, which the timeline reads.
  await writeRunReports(runDir, report, { formats: ['md', 'html', 'junit'] });
  return { report, runDir, reportPath, resumable: outage.gaveUp };
}
