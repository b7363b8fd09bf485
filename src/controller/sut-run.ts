import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSeededRandom, FaultActionError, Injector, type FaultRecord, type FaultSut } from '../chaos/index.js';
import {
  checkEventsFile,
  checkFaultsInjected,
  checkSutCleanup,
  checkSutContainersSeen,
  checkSutExactlyOnce,
  checkSutExit,
  checkSutHardening,
  checkSutLabels,
  checkSutLogs,
  checkSutRecovery,
  sutRecoveryFigures,
  type CheckResult,
  type SutContainerFact,
  type SutLeftovers,
  type SutLogFact,
} from '../checks/index.js';
import { labelsFor, type DaemonVersion, type DockerClient, type ImageTransfer, type RunIdentity } from '../docker/index.js';
import { EventLog } from '../events/index.js';
import { writeReportJson, writeRunReports, type ReportAttempt, type RunReport } from '../report/index.js';
import { summarizeUsage, ZERO_USAGE } from '../report/usage.js';
import type { Scenario, SutSpec } from '../scenario/index.js';
import { readSutLedger, SutProcess, SutSchemaError, SutTimeline, validateSutLog, type SutContainerRecord, type SutExit } from '../sut/index.js';
import { keelhaulVersion } from '../version.js';
import { removeLabelledResources, removeRunResources, type CleanupResult } from './cleanup.js';
import type { PrivateDaemon } from '../daemon/index.js';
import type { Redactor } from './redaction.js';
import { processStartTimeMs } from './liveness.js';
import { assembleReport, faultFactsOf } from './run-facts.js';
import type { RunHooks, RunResult } from './run-options.js';
import { ensureReaper } from './run-setup.js';
import type { StateStore } from './state.js';
import { stopReaper } from './reaper.js';
import { resolveSut } from './sut-resolve.js';

/** What {@link executeSutRun} needs beyond the hooks. */
export interface ExecuteSutOptions extends RunHooks {
  readonly scenario: Scenario & { readonly sut: SutSpec };
  readonly runDir: string;
  readonly store: StateStore;
  readonly daemon: DaemonVersion;
  /** The private daemon daemon faults act on; undefined for an external daemon. */
  readonly daemonHandle: PrivateDaemon | undefined;
  readonly redactor: Redactor;
  /** How the SUT reaches the run's daemon, as the docker CLI reads it: `DOCKER_HOST`, or the context the run came through. */
  readonly dockerEndpoint: { readonly DOCKER_HOST: string } | { readonly DOCKER_CONTEXT: string };
  /** Images copied to the run's private daemon before it started (private-images.ts), each recorded as an `image.transferred` event after `run.started`. */
  readonly imageTransfers?: readonly ImageTransfer[];
}

/** A path of the SUT's files: absolute, or relative to `base`. */
function under(base: string, path: string): string {
  return isAbsolute(path) ? path : join(base, path);
}

/**
 * Runs a scenario whose work is done by a system under test (docs/sut.md): starts the SUT
 * with `KEELHAUL_RUN_ID`, `DOCKER_HOST` and its state directory, records its containers
 * from the daemon's events (by its selector), fires the faults at them (and `sut-kill` at
 * its process group, then its resume command), resumes it after an unexpected exit when
 * asked, then judges: its exit, its containers' labels and hardening, its cleanup (a label
 * query once it exited), its ledger, its logs, recovery — and removes what it left.
 */
export async function executeSutRun(options: ExecuteSutOptions): Promise<RunResult> {
  const { scenario, docker, store, runDir, redactor } = options;
  const sut = scenario.sut;
  const state = store.state;
  const { runId, seed, image } = state;
  const identity: RunIdentity = { runId, scenario: scenario.name, version: keelhaulVersion, controllerPid: state.controller.pid, controllerStart: state.controller.start };
  const log = new EventLog(runId, join(runDir, 'events.jsonl'), { redactor });
  if (options.onEvent) log.subscribe(options.onEvent);
  const resolved = resolveSut(sut, { runId, runDir, scenarioFile: state.scenarioFile, image });
  await mkdir(resolved.stateDir, { recursive: true });
  const sutDir = join(runDir, 'sut');
  await mkdir(sutDir, { recursive: true });

  let runError: string | undefined;
  const exits: SutExit[] = [];
  let current: SutProcess | undefined;
  /** What a `sut-kill` asked for the SUT it ended: resume after this many ms, or not. */
  let pendingResume: { resume: boolean; resumeAfterMs: number } | undefined;
  const stopped = new AbortController();
  const onExternalAbort = (): void => {
    runError ??= 'aborted';
    stopped.abort();
    current?.signal('SIGKILL', 'abort');
  };
  options.signal?.addEventListener('abort', onExternalAbort, { once: true });
  const timeout = setTimeout(() => {
    runError ??= `timed out after ${scenario.timeoutMs} ms (timeoutMs)`;
    log.emit({ type: 'run.aborted', reason: runError });
    stopped.abort();
    current?.signal('SIGKILL', 'abort');
  }, scenario.timeoutMs);

  const faultSut: FaultSut = {
    kill: async (signal, resume) => {
      const target = current;
      if (!target?.running) throw new FaultActionError('sut-kill', 'sut', 'the SUT is not running (it exited, or a resume is starting)');
      pendingResume = resume;
      if (!target.signal(signal, 'sut-kill')) throw new FaultActionError('sut-kill', 'sut', `its process group ${target.pid} is gone`);
    },
  };
  const injector: Injector = new Injector({
    faults: scenario.faults,
    random: createSeededRandom(seed).fork('faults'),
    scope: { labels: resolved.selector, taskLabel: sut.taskLabel },
    context: {
      docker,
      helperLabels: (role) => labelsFor(identity, role),
      image,
      ...(scenario.workspace.size !== undefined ? { workspaceSizeBytes: scenario.workspace.size } : {}),
      ...(options.daemonHandle ? { daemon: options.daemonHandle } : {}),
      sut: faultSut,
    },
    runId,
    emit: (event) => {
      if (event.type === 'fault.skipped' || event.type === 'fault.undone') {
        log.emit(event);
        return;
      }
      log.emit({ type: event.type, fault: event.record });
      void store.update((s) => void (s.faults = [...injector.records])).catch(() => undefined);
    },
  });

  const timeline = SutTimeline.start(
    {
      docker,
      labels: resolved.selector,
      taskLabel: sut.taskLabel,
      onEvent: (event, record) => {
        log.emit({
          type: 'sut.container',
          action: event.action,
          time: event.time,
          containerId: event.containerId,
          ...(record.name || event.containerName ? { name: record.name || event.containerName } : {}),
          ...(record.task !== undefined ? { task: record.task } : {}),
          ...(event.exitCode !== undefined ? { exitCode: event.exitCode } : {}),
        });
        injector.observe({ type: `sut.container.${event.action}`, task: record.task });
      },
      onState: (s, reason) => log.emit({ type: 'docker.events', state: s, ...(reason ? { reason } : {}) }),
    },
    // Replay from just before the SUT starts: the subscription may connect after its first create.
    new Date(Date.now() - 1000),
  );

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, resolved.env, {
    KEELHAUL_RUN_ID: runId,
    KEELHAUL_RUN_DIR: runDir,
    KEELHAUL_STATE_DIR: resolved.stateDir,
    KEELHAUL_IMAGE: image,
    KEELHAUL_SEED: String(seed),
  });
  // Exactly one of them names the run's daemon: DOCKER_HOST would win over a context.
  delete env['DOCKER_CONTEXT'];
  delete env['DOCKER_HOST'];
  Object.assign(env, options.dockerEndpoint);

  log.emit({
    type: 'run.started',
    scenario: scenario.name,
    seed,
    image,
    network: scenario.network,
    tasks: 0,
    concurrency: scenario.concurrency,
    runDir,
    sut: [...resolved.command],
  });
  for (const transfer of options.imageTransfers ?? []) log.emit({ type: 'image.transferred', ...transfer });
  const reaperEnabled = options.reaper ?? scenario.reaper.enabled;
  let sutEndedAt = Date.now();
  try {
    if (reaperEnabled) await ensureReaper({ runDir, store, ttlMs: scenario.reaper.ttlMs, emit: (event) => log.emit(event) });
    injector.start(state.startedAtMs);
    let phase: 'run' | 'resume' = 'run';
    let resumes = 0;
    for (;;) {
      const argv = phase === 'run' ? resolved.command : (resolved.resume ?? resolved.command);
      current = await SutProcess.start({
        phase,
        argv,
        shell: sut.shell,
        cwd: resolved.cwd,
        env,
        stdoutFile: join(sutDir, 'stdout.log'),
        stderrFile: join(sutDir, 'stderr.log'),
        timeoutMs: sut.timeoutMs,
        onLine: (line) => injector.observe({ type: 'sut.output', line }),
      });
      const pid = current.pid;
      await store.update((s) => void (s.sut = { pid, start: processStartTimeMs(pid), hostname: hostname(), phase, startedAt: new Date().toISOString() }));
      log.emit({ type: 'sut.started', phase, pid: current.pid, argv: [...argv], stateDir: resolved.stateDir });
      const exit = await current.exited;
      exits.push(exit);
      log.emit({
        type: 'sut.exited',
        phase,
        pid: exit.pid,
        ...(exit.exitCode !== null ? { exitCode: exit.exitCode } : {}),
        ...(exit.signal !== null ? { signal: exit.signal } : {}),
        ...(exit.killedBy ? { killedBy: exit.killedBy } : {}),
        durationMs: Date.parse(exit.endedAt) - Date.parse(exit.startedAt),
      });
      if (stopped.signal.aborted || exit.killedBy === 'timeout') break;
      const resume = exit.killedBy === 'sut-kill' ? pendingResume : undefined;
      pendingResume = undefined;
      if (exit.killedBy === 'sut-kill') {
        if (!resume?.resume || resolved.resume === undefined || resumes >= sut.maxResumes) break;
        await sleep(resume.resumeAfterMs, undefined, { signal: stopped.signal }).catch(() => undefined);
      } else if (exit.exitCode === sut.expectExit) {
        break;
      } else {
        if (!sut.resumeOnFailure || resolved.resume === undefined || resumes >= sut.maxResumes) break;
        // It may have failed because the daemon went away (a daemon fault): resume once it answers.
        await waitForDaemon(docker, scenario.daemon.outageLimitMs, stopped.signal);
      }
      if (stopped.signal.aborted) break;
      phase = 'resume';
      resumes += 1;
    }
  } catch (error) {
    runError ??= error instanceof Error ? error.message : String(error);
  } finally {
    sutEndedAt = Date.now();
    clearTimeout(timeout);
    options.signal?.removeEventListener('abort', onExternalAbort);
    if (current?.running) current.signal('SIGKILL', 'abort');
    await current?.exited;
    await injector.stop();
  }

  // The SUT's own cleanup, judged by a label query once it exited, within its grace.
  const leftovers = await leftoversAfter(docker, resolved.selector, sut.cleanupGraceMs, sutEndedAt).catch((error: unknown) => {
    runError ??= `cannot list the SUT's resources: ${error instanceof Error ? error.message : String(error)}`;
    return undefined;
  });
  await timeline.stop();
  // Then nothing is left whatever it did: its leftovers, and keelhaul's own helpers (run label).
  let cleanup: CleanupResult | null = null;
  try {
    const theirs = await removeLabelledResources(docker, { ...resolved.selector });
    const ours = await removeRunResources(docker, runId);
    cleanup = {
      containers: theirs.containers + ours.containers,
      networks: theirs.networks + ours.networks,
      volumes: theirs.volumes + ours.volumes,
      errors: [...theirs.errors, ...ours.errors],
    };
    log.emit({ type: 'cleanup.finished', ...cleanup, errors: [...cleanup.errors] });
  } catch (error) {
    runError ??= `cleanup failed: ${error instanceof Error ? error.message : String(error)}`;
  }

  const records: readonly FaultRecord[] = injector.records;
  const faultFacts = faultFactsOf(scenario.faults, records, new Set(injector.unfired));
  const containers = timeline.containers.map(toFact);
  const checks: CheckResult[] = [checkSutExit(exits, sut.expectExit)];
  if (sut.expectContainers) checks.push(checkSutContainersSeen(containers, resolved.selector));
  if (sut.requiredLabels.length > 0) checks.push(checkSutLabels(containers, sut.requiredLabels));
  if (sut.hardening) checks.push(checkSutHardening(containers, sut.hardening));
  if (leftovers) checks.push(checkSutCleanup(leftovers));
  if (sut.ledger) {
    const file = under(resolved.stateDir, sut.ledger.file);
    const ledger = await readSutLedger(file, sut.ledger.key);
    checks.push(checkSutExactlyOnce({ file, key: sut.ledger.key, ...ledger, expectKeys: sut.ledger.expectKeys, expectCount: sut.ledger.expectCount }));
  }
  if (sut.logs.length > 0) {
    const logs: SutLogFact[] = [];
    const schemaBase = state.scenarioFile ? dirname(resolve(state.scenarioFile)) : process.cwd();
    for (const l of sut.logs) {
      const file = under(resolved.stateDir, l.file);
      const schema = under(schemaBase, l.schema);
      try {
        logs.push({ file, schema, ...(await validateSutLog(file, schema)) });
      } catch (error) {
        if (!(error instanceof SutSchemaError)) throw error;
        logs.push({ file, schema, found: true, lines: 0, invalid: [{ line: 0, message: error.message }] });
      }
    }
    checks.push(checkSutLogs(logs));
  }
  if (scenario.faults.length > 0) checks.push(checkFaultsInjected({ faults: faultFacts }));
  const figures = sutRecoveryFigures(
    containers,
    faultFacts.filter((f) => f.kind !== 'sut-kill' && !f.kind.startsWith('daemon-')),
  );
  if (sut.expectRecovery && figures.length > 0) checks.push(checkSutRecovery(figures, sut.recoveryTimeMs));
  await log.flush();
  checks.push(await checkEventsFile(join(runDir, 'events.jsonl')));
  for (const check of checks) log.emit({ type: 'check.result', name: check.name, ok: check.ok, expected: check.expected, observed: check.observed });

  const attempts = attemptRowsOf(timeline.containers, (id) => injector.faultsTargeting(id));
  const taskIds = [...new Set(attempts.map((a) => a.task))];
  const reportPath = join(runDir, 'report.json');
  const base = assembleReport({
    keelhaulVersion,
    runId,
    seed,
    scenario: { name: scenario.name, backend: 'docker', network: scenario.network, taskIds, faults: scenario.faults },
    scenarioFile: state.scenarioFile,
    runError,
    unhardened: [],
    redactedSecrets: redactor.count,
    startedAtMs: state.startedAtMs,
    endedAtMs: Date.now(),
    image,
    daemon: { endpoint: docker.endpoint, version: options.daemon.version, apiVersion: options.daemon.negotiatedApiVersion },
    controllers: state.controllers.length,
    taskOutcomes: new Map(taskIds.map((t) => [t, { outcome: attempts.some((a) => a.task === t && a.outcome === 'completed') ? ('completed' as const) : ('failed' as const) }])),
    attemptCount: (task) => attempts.filter((a) => a.task === task).length,
    attempts: [],
    faultsTargeting: (id) => injector.faultsTargeting(id),
    usageOf: () => ZERO_USAGE,
    faultFacts,
    records,
    cleanup,
    resources: null,
    checks,
    usage: summarizeUsage([], []),
  });
  const report: RunReport = redactor.value<RunReport>({
    ...base,
    attempts,
    sut: {
      command: [...resolved.command],
      stateDir: resolved.stateDir,
      output: { stdout: join(sutDir, 'stdout.log'), stderr: join(sutDir, 'stderr.log') },
      exits: exits.map((e) => ({
        phase: e.phase,
        exitCode: e.exitCode,
        signal: e.signal,
        startedAt: e.startedAt,
        endedAt: e.endedAt,
        ...(e.killedBy ? { killedBy: e.killedBy } : {}),
        ...(e.exitCode !== 0 && e.stderrTail.length > 0 ? { stderrTail: [...e.stderrTail] } : {}),
      })),
      containers: timeline.containers.map((c) => ({
        containerId: c.containerId,
        name: c.name,
        ...(c.task !== undefined ? { task: c.task } : {}),
        createdAt: c.createdAt ?? null,
        startedAt: [...c.startedAt],
        diedAt: c.diedAt.map((d) => ({ time: d.time, exitCode: d.exitCode ?? null })),
        destroyedAt: c.destroyedAt ?? null,
        oomKilled: c.oomKilled,
        faults: [...injector.faultsTargeting(c.containerId)],
      })),
      recovery: figures,
    },
  });
  await writeReportJson(reportPath, report);
  await store.update((s) => {
    s.status = 'finished';
    s.faults = [...records];
  });
  if (state.reaper) stopReaper(state.reaper.pid, runDir);
  log.emit({ type: 'run.finished', status: report.status, durationMs: report.durationMs, reportPath });
  await log.close();
  await writeRunReports(runDir, report, { formats: ['md', 'html', 'junit'] });
  return { report, runDir, reportPath, resumable: false };
}

/** Pings the daemon until it answers (every 250 ms) or `limitMs` passes. */
async function waitForDaemon(docker: Pick<DockerClient, 'ping'>, limitMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!signal.aborted && Date.now() < deadline) {
    try {
      await docker.ping({ timeoutMs: 2000 });
      return;
    } catch {
      await sleep(250, undefined, { signal }).catch(() => undefined);
    }
  }
}

/**
 * What the SUT's selector still finds: polled every 250 ms from its exit until it finds
 * nothing or `graceMs` after `endedAtMs` passed (its own cleanup may run asynchronously).
 */
async function leftoversAfter(docker: DockerClient, labels: Readonly<Record<string, string>>, graceMs: number, endedAtMs: number): Promise<SutLeftovers> {
  for (;;) {
    const [containers, networks, volumes] = await Promise.all([
      docker.listContainers({ labels: { ...labels }, all: true }),
      docker.listNetworks({ labels: { ...labels } }),
      docker.listVolumes({ labels: { ...labels } }),
    ]);
    const left: SutLeftovers = {
      containers: containers.map((c) => ({ id: c.id, name: c.names[0]?.replace(/^\//, '') ?? '', state: c.state })),
      networks: networks.map((n) => n.name),
      volumes: volumes.map((v) => v.name),
      graceMs,
    };
    if ((left.containers.length === 0 && left.networks.length === 0 && left.volumes.length === 0) || Date.now() >= endedAtMs + graceMs) return left;
    await sleep(250);
  }
}

function toFact(c: SutContainerRecord): SutContainerFact {
  const i = c.inspected;
  return {
    containerId: c.containerId,
    name: c.name,
    task: c.task,
    labels: c.labels,
    inspected: i
      ? {
          user: i.user,
          capDrop: i.hostConfig.capDrop,
          securityOpt: i.hostConfig.securityOpt,
          readonlyRootfs: i.hostConfig.readonlyRootfs,
          networkMode: i.hostConfig.networkMode,
          memoryBytes: i.hostConfig.memoryBytes,
          pidsLimit: i.hostConfig.pidsLimit,
          mounts: i.mounts,
        }
      : undefined,
    createdAt: c.createdAt,
    startedAt: c.startedAt,
    diedAt: c.diedAt,
  };
}

/** The SUT's containers as the report's attempts: per task in order of creation, outcome from the last exit. */
function attemptRowsOf(containers: readonly SutContainerRecord[], faultsOf: (id: string) => readonly string[]): ReportAttempt[] {
  const perTask = new Map<string, number>();
  return containers.map((c) => {
    const task = c.task ?? '(no task label)';
    const attempt = (perTask.get(task) ?? 0) + 1;
    perTask.set(task, attempt);
    const last = c.diedAt.at(-1);
    const faults = [...faultsOf(c.containerId)];
    const exitCode = last?.exitCode ?? null;
    const outcome: ReportAttempt['outcome'] =
      exitCode === null ? 'lost' : c.oomKilled ? 'oom' : exitCode === 0 ? 'completed' : exitCode === 137 && faults.length > 0 ? 'killed' : 'failed';
    return {
      task,
      attempt,
      containerId: c.containerId,
      containerName: c.name,
      exitCode,
      oomKilled: c.oomKilled,
      outcome,
      startedAt: c.startedAt[0] ?? c.createdAt ?? new Date(0).toISOString(),
      endedAt: last?.time ?? null,
      faults,
      usage: ZERO_USAGE,
    };
  });
}
