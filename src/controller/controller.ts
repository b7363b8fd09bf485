import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import PQueue from 'p-queue';
import { stringify as toYaml } from 'yaml';
import { DockerBackend, type AttemptHandle, type AttemptTask } from '../backends/index.js';
import { createSeededRandom, describeTrigger, faultId, Injector, randomSeed, type FaultRecord } from '../chaos/index.js';
import { runChecks, type AttemptFacts, type CheckResult, type FaultFacts } from '../checks/index.js';
import {
  DaemonUnavailableError,
  ImageNotFoundError,
  labelsFor,
  type ContainerInfo,
  type DaemonVersion,
  type DockerClient,
  type RunIdentity,
} from '../docker/index.js';
import {
  REPORT_SCHEMA_VERSION,
  writeReportJson,
  type ReportAttempt,
  type ReportFault,
  type RunReport,
} from '../report/index.js';
import type { Scenario } from '../scenario/index.js';
import { keelhaulVersion } from '../version.js';
import type { WorkerEvent } from '../worker/events.js';
import { findRunResources, removeRunResources, type CleanupResult, type LeakReport } from './cleanup.js';
import { EventLog, type AttemptOutcome, type RunEvent } from './events.js';
import { AttemptFailedError, runWithRetry } from './retry.js';

/** Options of {@link runScenario}. */
export interface RunScenarioOptions {
  /** A validated scenario (see `loadScenarioFile`, `validateScenario`). */
  readonly scenario: Scenario;
  /** The file it came from, for the report; null for scenarios built in code. */
  readonly scenarioFile?: string;
  /** Overrides `scenario.seed`; a random seed is drawn (and reported) when both are absent. */
  readonly seed?: number;
  readonly docker: DockerClient;
  /**
   * Where run directories go.
   * @default `.keelhaul/runs` under the current directory
   */
  readonly runsDir?: string;
  /** Called for every event, in order, as it is written to events.jsonl. */
  readonly onEvent?: (event: RunEvent) => void;
  /** Aborts the run: running attempts are killed, then cleanup, checks and report run as usual. */
  readonly signal?: AbortSignal;
}

/** What {@link runScenario} returns. */
export interface RunResult {
  readonly report: RunReport;
  /** `.keelhaul/runs/<run-id>` (absolute). */
  readonly runDir: string;
  readonly reportPath: string;
}

/** Run ids sort by start time: `20261122-101530-3fa9` (UTC), plus 16 random bits. */
export function createRunId(now = new Date()): string {
  const iso = now.toISOString();
  const stamp = `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

interface AttemptState {
  readonly task: string;
  readonly attempt: number;
  containerId: string;
  containerName: string;
  startedAt: string;
  endedAt: string | null;
  exitCode: number | null;
  oomKilled: boolean;
  outcome: AttemptOutcome;
  reason: string | undefined;
  completedEvents: number;
  failedReason: string | undefined;
  interfaces: string[] | undefined;
  audit: Promise<string[] | undefined> | undefined;
  auditProblems: string[];
  audited: boolean;
}

/** Checks an attempt container against the label set and the hardening defaults. */
function auditContainer(info: ContainerInfo, expectedLabels: Readonly<Record<string, string>>, networkMode: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(expectedLabels)) {
    if (info.labels[key] !== value) problems.push(`label ${key} is ${JSON.stringify(info.labels[key])}, expected ${JSON.stringify(value)}`);
  }
  if (!info.user || info.user === 'root' || info.user.startsWith('0:') || info.user === '0') problems.push(`runs as user ${JSON.stringify(info.user)}, expected non-root`);
  if (!info.hostConfig.capDrop.map((c) => c.toUpperCase()).includes('ALL')) problems.push(`CapDrop is [${info.hostConfig.capDrop.join(', ')}], expected ALL`);
  if (!info.hostConfig.securityOpt.some((o) => o.startsWith('no-new-privileges'))) problems.push('no-new-privileges is not set');
  if (!info.hostConfig.readonlyRootfs) problems.push('the root filesystem is writable');
  if (info.hostConfig.memoryBytes <= 0) problems.push('no memory limit');
  if (info.hostConfig.pidsLimit <= 0) problems.push('no pids limit');
  if (info.hostConfig.networkMode !== networkMode) problems.push(`NetworkMode is ${info.hostConfig.networkMode}, expected ${networkMode}`);
  if (info.mounts.some((m) => m.source.endsWith('docker.sock'))) problems.push('the Docker socket is mounted');
  return problems;
}

function outcomeOf(state: AttemptState, targetedBy: readonly string[]): { outcome: AttemptOutcome; reason: string | undefined } {
  if (state.oomKilled) return { outcome: 'oom', reason: 'oom' };
  if (state.exitCode === 0 && state.completedEvents > 0) return { outcome: 'completed', reason: undefined };
  if (targetedBy.length > 0 && state.exitCode !== 0) return { outcome: 'killed', reason: `fault ${targetedBy.join(', ')}` };
  if (state.exitCode === 137) return { outcome: 'killed', reason: 'SIGKILL from outside keelhaul' };
  if (state.exitCode === 0) return { outcome: 'failed', reason: 'exited 0 without task.completed' };
  return { outcome: 'failed', reason: state.failedReason ?? `exit ${state.exitCode}` };
}

/**
 * Runs a scenario end to end on one Docker daemon: launches an attempt container per task
 * (p-queue at the scenario's concurrency, retries with backoff), fires the faults, removes
 * every resource with the run label, runs the checks and writes the run directory
 * (`scenario.yaml`, `events.jsonl`, `attempts/<task>/<n>/{stdout,stderr}.log`,
 * `report.json`).
 *
 * @throws {ImageNotFoundError} before anything is created when the image is absent
 * @throws {DaemonUnavailableError} when the daemon does not answer at the start
 * Failures during the run (a daemon lost mid-run, a timeout, an abort) do not throw: they
 * end in a report with `status: "failed"` and an `error`.
 */
export async function runScenario(options: RunScenarioOptions): Promise<RunResult> {
  const { scenario, docker } = options;
  const seed = options.seed ?? scenario.seed ?? randomSeed();
  const startedAtMs = Date.now();
  const runId = createRunId(new Date(startedAtMs));
  const image = scenario.image.replaceAll('{version}', keelhaulVersion);
  const identity: RunIdentity = {
    runId,
    scenario: scenario.name,
    version: keelhaulVersion,
    controllerPid: process.pid,
    controllerStart: startedAtMs,
  };

  // Everything that can refuse the run does so before a resource or a file exists.
  options.signal?.throwIfAborted();
  const daemon: DaemonVersion = await docker.version();
  if (!(await docker.inspectImage(image))) {
    throw new ImageNotFoundError(image, {
      operation: 'start run',
      hint: image.startsWith('keelhaul/worker:')
        ? 'Build it with `keelhaul images build`.'
        : 'Build or load it on this daemon first (nothing can be pulled here), or change `image:` in the scenario.',
    });
  }

  const runDir = resolve(options.runsDir ?? join('.keelhaul', 'runs'), runId);
  await mkdir(join(runDir, 'attempts'), { recursive: true });
  await writeFile(
    join(runDir, 'scenario.yaml'),
    `# as run by keelhaul ${keelhaulVersion}, run ${runId}\n${toYaml({ ...scenario, image, seed })}`,
  );
  const log = new EventLog(runId, join(runDir, 'events.jsonl'));
  if (options.onEvent) log.subscribe(options.onEvent);

  const random = createSeededRandom(seed);
  const backend = new DockerBackend(docker, {
    run: identity,
    image,
    network: scenario.network,
    memoryBytes: scenario.resources.memory,
    pidsLimit: scenario.resources.pidsLimit,
    tmpfsBytes: scenario.resources.tmpfs,
    ...(scenario.resources.cpus !== undefined ? { cpus: scenario.resources.cpus } : {}),
  });

  const attempts: AttemptState[] = [];
  const active = new Map<string, AttemptHandle>();
  const taskOutcomes = new Map<string, { outcome: 'completed' | 'failed'; attempts: number }>();
  let runError: string | undefined;

  const stop = new AbortController();
  const abortRun = (reason: string): void => {
    if (stop.signal.aborted) return;
    runError ??= reason;
    log.emit({ type: 'run.aborted', reason });
    stop.abort(new Error(reason));
    queue.clear();
    for (const handle of active.values()) handle.kill('SIGKILL').catch(() => undefined);
  };
  const onExternalAbort = (): void => abortRun(`aborted: ${String(options.signal?.reason ?? 'signal')}`);
  options.signal?.addEventListener('abort', onExternalAbort, { once: true });
  const timeout = setTimeout(() => abortRun(`timed out after ${scenario.timeoutMs} ms (timeoutMs)`), scenario.timeoutMs);

  const injector = new Injector({
    faults: scenario.faults,
    random: random.fork('faults'),
    docker,
    runId,
    emit: (event) => {
      if (event.type === 'fault.skipped') log.emit(event);
      else log.emit({ type: event.type, fault: event.record });
    },
  });

  const queue = new PQueue({ concurrency: scenario.concurrency });

  const runAttempt = async (taskId: string, attemptNumber: number, task: AttemptTask): Promise<AttemptState> => {
    stop.signal.throwIfAborted();
    const labels = labelsFor(identity, 'worker', { task: taskId, attempt: attemptNumber });
    const state: AttemptState = {
      task: taskId,
      attempt: attemptNumber,
      containerId: '',
      containerName: '',
      startedAt: new Date().toISOString(),
      endedAt: null,
      exitCode: null,
      oomKilled: false,
      outcome: 'lost',
      reason: undefined,
      completedEvents: 0,
      failedReason: undefined,
      interfaces: undefined,
      audit: undefined,
      auditProblems: [],
      audited: false,
    };
    attempts.push(state);
    const handle = await backend.launch(
      {
        runId,
        taskId,
        attempt: attemptNumber,
        seed,
        task,
        labels,
        logDir: join(runDir, 'attempts', taskId, String(attemptNumber)),
      },
      {
        onEvent: (event: WorkerEvent) => {
          if (event.type === 'task.completed') state.completedEvents += 1;
          if (event.type === 'task.failed') state.failedReason = String((event as { reason?: unknown }).reason ?? 'task.failed');
          if (event.type === 'task.started') {
            const interfaces = (event as { interfaces?: { name: string }[] }).interfaces;
            if (Array.isArray(interfaces)) state.interfaces = interfaces.map((i) => i.name);
          }
          log.emit({ type: 'worker.event', task: taskId, attempt: attemptNumber, event });
          injector.observe(event);
        },
        onInvalidLine: (line, error) => {
          log.emit({ type: 'worker.invalid-line', task: taskId, attempt: attemptNumber, line: line.slice(0, 500), error });
        },
      },
    );
    state.containerId = handle.id;
    state.containerName = handle.name;
    state.startedAt = handle.startedAt;
    active.set(handle.id, handle);
    log.emit({ type: 'attempt.running', task: taskId, attempt: attemptNumber, containerId: handle.id, containerName: handle.name });
    // Labels and HostConfig are fixed at create time, so an inspect right after start
    // sees them even when a fault kills the container first.
    state.audit = docker
      .inspectContainer(handle.id)
      .then((info) => auditContainer(info, labels, backend.networkName ?? scenario.network))
      .catch(() => undefined);
    try {
      const exit = await handle.wait();
      state.exitCode = exit.exitCode;
      state.oomKilled = exit.oomKilled;
      state.endedAt = exit.endedAt;
    } finally {
      active.delete(handle.id);
      const problems = await state.audit;
      state.audited = problems !== undefined;
      state.auditProblems = problems ?? [];
    }
    const judged = outcomeOf(state, injector.faultsTargeting(handle.id));
    state.outcome = judged.outcome;
    state.reason = judged.reason;
    log.emit({
      type: 'attempt.exited',
      task: taskId,
      attempt: attemptNumber,
      containerId: handle.id,
      exitCode: state.exitCode ?? -1,
      oomKilled: state.oomKilled,
      outcome: state.outcome,
      ...(state.reason ? { reason: state.reason } : {}),
      durationMs: Date.parse(state.endedAt ?? new Date().toISOString()) - Date.parse(state.startedAt),
    });
    if (state.outcome !== 'completed') {
      throw new AttemptFailedError(`${taskId} attempt ${attemptNumber} ${state.outcome}`, state, {
        // A task the worker refused as invalid fails the same way on every attempt.
        retryable: state.failedReason !== 'invalid_task' && !stop.signal.aborted,
      });
    }
    return state;
  };

  const runTask = async (task: Scenario['tasks'][number]): Promise<void> => {
    const attemptTask: AttemptTask = {
      id: task.id,
      steps: task.steps,
      heartbeatMs: scenario.heartbeatMs,
      ...(task.writes ? { writes: task.writes } : {}),
    };
    try {
      const result = await runWithRetry(scenario.retry, (n) => runAttempt(task.id, n, attemptTask), {
        signal: stop.signal,
        onRetry: (next, delayMs, failed) =>
          log.emit({ type: 'attempt.retrying', task: task.id, attempt: next, delayMs, previousOutcome: failed.outcome }),
      });
      taskOutcomes.set(task.id, { outcome: result.ok ? 'completed' : 'failed', attempts: result.attempts });
    } catch (error) {
      if (error instanceof DaemonUnavailableError) abortRun(`the Docker daemon stopped answering: ${error.message}`);
      else if (!stop.signal.aborted) runError ??= `task ${task.id}: ${error instanceof Error ? error.message : String(error)}`;
      taskOutcomes.set(task.id, { outcome: 'failed', attempts: attempts.filter((a) => a.task === task.id).length });
    }
    const outcome = taskOutcomes.get(task.id)!;
    log.emit({ type: 'task.finished', task: task.id, outcome: outcome.outcome, attempts: outcome.attempts });
  };

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

  let cleanup: CleanupResult | null = null;
  let leaks: LeakReport = { containers: [], networks: [], volumes: [] };
  let faultRecords: readonly FaultRecord[] = [];
  try {
    await backend.prepare();
    injector.start();
    await Promise.all(scenario.tasks.map((task) => queue.add(() => runTask(task))));
    await queue.onIdle();
  } catch (error) {
    runError ??= error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timeout);
    options.signal?.removeEventListener('abort', onExternalAbort);
    faultRecords = await injector.stop();
    try {
      cleanup = await removeRunResources(docker, runId);
      log.emit({ type: 'cleanup.finished', ...cleanup, errors: [...cleanup.errors] });
      leaks = await findRunResources(docker, runId);
    } catch (error) {
      runError ??= `cleanup failed: ${error instanceof Error ? error.message : String(error)}`;
      leaks = { containers: ['<unknown: the daemon could not be queried>'], networks: [], volumes: [] };
    }
  }

  const unfired = new Set(injector.unfired);
  const faultFacts: FaultFacts[] = scenario.faults.map((spec, i) => {
    const id = faultId(spec, i);
    const record = faultRecords.find((r) => r.faultId === id);
    const signal = spec.kind === 'kill' ? spec.params.signal : undefined;
    if (!record || unfired.has(id)) return { faultId: id, kind: spec.kind, status: 'not-fired', targets: [], ...(signal ? { signal } : {}) };
    return {
      faultId: id,
      kind: spec.kind,
      status: record.status,
      targets: record.targets,
      ...(signal ? { signal } : {}),
      ...(record.error ? { error: record.error } : {}),
    };
  });
  const attemptFacts: AttemptFacts[] = attempts.map((a) => ({
    task: a.task,
    attempt: a.attempt,
    containerId: a.containerId,
    exitCode: a.exitCode,
    oomKilled: a.oomKilled,
    outcome: a.outcome,
    completedEvents: a.completedEvents,
    ...(a.interfaces ? { interfaces: a.interfaces } : {}),
    auditProblems: a.auditProblems,
    audited: a.audited,
  }));
  const checks: CheckResult[] = runChecks({
    taskIds: scenario.tasks.map((t) => t.id),
    attempts: attemptFacts,
    faults: faultFacts,
    network: scenario.network,
    leaks,
    expect: scenario.expect,
  });
  for (const check of checks) {
    log.emit({ type: 'check.result', name: check.name, ok: check.ok, expected: check.expected, observed: check.observed });
  }

  const endedAtMs = Date.now();
  const status = runError === undefined && checks.every((c) => c.ok) ? 'passed' : 'failed';
  const reportPath = join(runDir, 'report.json');
  const report: RunReport = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    keelhaulVersion,
    runId,
    seed,
    scenario: scenario.name,
    scenarioFile: options.scenarioFile ?? null,
    status,
    ...(runError !== undefined ? { error: runError } : {}),
    startedAt: new Date(startedAtMs).toISOString(),
    endedAt: new Date(endedAtMs).toISOString(),
    durationMs: endedAtMs - startedAtMs,
    backend: 'docker',
    image,
    network: scenario.network,
    daemon: { endpoint: docker.endpoint, version: daemon.version, apiVersion: daemon.negotiatedApiVersion },
    tasks: scenario.tasks.map((t) => {
      const o = taskOutcomes.get(t.id);
      return { task: t.id, outcome: o?.outcome ?? 'not-run', attempts: o?.attempts ?? 0 };
    }),
    attempts: attempts.map(
      (a): ReportAttempt => ({
        task: a.task,
        attempt: a.attempt,
        containerId: a.containerId,
        containerName: a.containerName,
        exitCode: a.exitCode,
        oomKilled: a.oomKilled,
        outcome: a.outcome,
        ...(a.reason ? { reason: a.reason } : {}),
        startedAt: a.startedAt,
        endedAt: a.endedAt,
        faults: [...injector.faultsTargeting(a.containerId)],
      }),
    ),
    faults: faultFacts.map((f): ReportFault => {
      const record = faultRecords.find((r) => r.faultId === f.faultId);
      const spec = scenario.faults.find((s, i) => faultId(s, i) === f.faultId);
      return {
        faultId: f.faultId,
        kind: f.kind,
        trigger: record?.trigger ?? (spec ? describeTrigger(spec.trigger) : ''),
        status: f.status,
        firedAt: record?.firedAt ?? null,
        offsetMs: record?.offsetMs ?? null,
        params: { ...(spec?.params ?? {}) },
        targets: f.targets,
        ...(f.error ? { error: f.error } : {}),
      };
    }),
    cleanup,
    checks,
  };
  await writeReportJson(reportPath, report);
  log.emit({ type: 'run.finished', status, durationMs: report.durationMs, reportPath });
  await log.close();
  return { report, runDir, reportPath };
}
