import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { attemptTaskOf, WORKSPACE_PATH, workerEnvironment } from '../backends/index.js';
import { faultId } from '../chaos/index.js';
import { attemptToCompose, loadScenarioTopology } from '../compose/index.js';
import { labelsFor } from '../docker/index.js';
import { writeFileAtomic } from '../atomic-file.js';
import { validateScenario, type FaultSpec, type Scenario } from '../scenario/index.js';
import { runScenario } from './controller.js';
import type { RunHooks, RunResult } from './run-options.js';
import { readRunEventLines, type AttemptOutcome } from '../events/index.js';
import { readRunState, type AttemptRecord, type RunState } from './state.js';

/** A repro that cannot start: no such attempt, nothing failed, a bad flag. Nothing was created. */
export class ReproError extends Error {
  override name = 'ReproError';
  readonly runId: string;
  constructor(runId: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.runId = runId;
  }
}

/** Which attempt of which run: the options {@link reproAttempt} and {@link exportAttemptCompose} share. */
export interface AttemptSelection {
  /**
   * Where run ids are looked up (and the repro run goes).
   * @default `.keelhaul/runs`
   */
  readonly runsDir?: string;
  /** A run id (under `runsDir`) or a run directory. */
  readonly run: string;
  /** Default: the task of the first failed, killed, oom or hung attempt. */
  readonly task?: string;
  /** Default: that task's first failed, killed, oom or hung attempt. */
  readonly attempt?: number;
}

/** Options of {@link reproAttempt}. */
export interface ReproOptions extends AttemptSelection, RunHooks {}

/** How an attempt ended: what a repro must match. */
export interface AttemptEnding {
  readonly task: string;
  readonly attempt: number;
  readonly outcome: AttemptOutcome | 'not-run';
  readonly exitCode: number | null;
  readonly reason: string | null;
}

/** What {@link reproAttempt} found. */
export interface ReproResult {
  readonly original: AttemptEnding;
  readonly repro: AttemptEnding;
  /** Same outcome, exit code and reason. */
  readonly reproduced: boolean;
  /** Which of outcome, exitCode, reason differ. */
  readonly differences: readonly string[];
  /** The repro run (a new run with its own id, labels and report). */
  readonly run: RunResult;
  /** The image the repro ran: the original attempt's image id when state.json recorded it. */
  readonly image: string;
  /** Faults re-timed from the task's start, as the repro scenario has them. */
  readonly faults: readonly FaultSpec[];
}

const FAILED: readonly (AttemptOutcome | null)[] = ['failed', 'killed', 'oom', 'hung'];

interface Chosen {
  readonly runDir: string;
  readonly state: RunState;
  readonly scenario: Scenario;
  readonly task: string;
  readonly record: AttemptRecord;
}

async function choose(options: AttemptSelection): Promise<Chosen> {
  const runsDir = options.runsDir ?? join('.keelhaul', 'runs');
  const runDir = options.run.includes('/') ? resolve(options.run) : resolve(runsDir, options.run);
  const state = await readRunState(join(runDir, 'state.json'));
  const scenario = validateScenario(state.scenario, join(runDir, 'state.json'));
  const candidates = scenario.tasks
    .filter((t) => options.task === undefined || t.id === options.task)
    .flatMap((t) => (state.tasks[t.id]?.attempts ?? []).map((record) => ({ task: t.id, record })));
  if (options.task !== undefined && !scenario.tasks.some((t) => t.id === options.task)) {
    throw new ReproError(
      state.runId,
      `Run ${state.runId} has no task "${options.task}" (tasks: ${scenario.tasks
        .map((t) => t.id)
        .slice(0, 8)
        .join(', ')}${scenario.tasks.length > 8 ? ', …' : ''}).`,
    );
  }
  let chosen: { task: string; record: AttemptRecord } | undefined;
  if (options.attempt !== undefined) {
    chosen = candidates.find((c) => c.record.attempt === options.attempt);
    if (!chosen) throw new ReproError(state.runId, `Run ${state.runId} has no attempt ${options.attempt}${options.task ? ` of task ${options.task}` : ''}.`);
  } else {
    chosen = candidates.filter((c) => FAILED.includes(c.record.outcome)).sort((a, b) => Date.parse(a.record.startedAt) - Date.parse(b.record.startedAt))[0];
    if (!chosen) {
      throw new ReproError(
        state.runId,
        `Run ${state.runId} has no failed, killed, oom or hung attempt${options.task ? ` of task ${options.task}` : ''} to reproduce; name one with --task and --attempt.`,
      );
    }
  }
  return { runDir, state, scenario, ...chosen };
}

/**
 * The `ts` of the attempt's task.started event in events.jsonl, ms since the epoch; read
 * with src/events/'s tolerant reader up to that event. Undefined when there is none, or
 * when the file is missing or cannot be read.
 */
async function taskStartedAt(runDir: string, task: string, attempt: number): Promise<number | undefined> {
  try {
    for await (const entry of readRunEventLines(join(runDir, 'events.jsonl'), { missing: 'empty' })) {
      if (entry.kind !== 'event') continue;
      const e = entry.event;
      if (e.type === 'worker.event' && e.task === task && e.attempt === attempt && e.event?.type === 'task.started' && e.event.ts) return Date.parse(e.event.ts);
    }
  } catch {
    // an unreadable file: the caller falls back to the attempt's startedAt
  }
  return undefined;
}

/**
 * The faults that hit the attempt, re-timed from its task's start: each fires `delayMs`
 * after the repro attempt's `task.started` (the original's firing time minus its
 * task.started), on that attempt's container, with the original kind, name and params.
 */
async function retimedFaults(chosen: Chosen): Promise<FaultSpec[]> {
  const { state, scenario, record, task, runDir } = chosen;
  const started = (await taskStartedAt(runDir, task, record.attempt)) ?? Date.parse(record.startedAt);
  const out: FaultSpec[] = [];
  for (const fired of state.faults) {
    if (fired.status !== 'injected' || !fired.targets.some((t) => t.containerId === record.containerId)) continue;
    const base = fired.faultId.split('#')[0];
    const index = scenario.faults.findIndex((f, i) => faultId(f, i) === base);
    const spec = scenario.faults[index];
    if (!spec) continue;
    const delayMs = Math.max(0, Date.parse(fired.firedAt) - started);
    out.push({
      ...spec,
      name: base,
      trigger: { on: { event: 'task.started', nth: 1, task, delayMs } },
      target: { labels: { role: 'worker', task }, pick: 'first', count: 1 },
    } as FaultSpec);
  }
  return out;
}

/**
 * Re-runs one attempt of a finished run as a new labelled run, as exactly as state.json
 * allows: the same image (by the id the attempt ran), task, steps, seed, network mode and
 * topology, resources, workspace volume options, and the faults that hit it re-timed from
 * the task's start; one attempt, no retry. Then compares how it ended with the original.
 * Differences by construction: the run id, the attempt number (1) and the controller
 * labels; the workspace starts empty (earlier attempts' files are gone with their run).
 *
 * @throws {ReproError} no such task or attempt, or nothing failed
 * @throws {StateError} no readable state.json
 * Run errors are those of `runScenario` (missing image, no daemon, a bad topology).
 */
export async function reproAttempt(options: ReproOptions): Promise<ReproResult> {
  const chosen = await choose(options);
  const { state, scenario, record, task } = chosen;
  const faults = await retimedFaults(chosen);
  const image = record.imageId || state.image;
  const taskSpec = scenario.tasks.find((t) => t.id === task)!;
  const name = `${scenario.name}.repro`.slice(0, 63);
  const reproScenario = validateScenario(
    {
      ...scenario,
      name,
      description: `repro of ${task} attempt ${record.attempt} of run ${state.runId}`,
      seed: state.seed,
      image,
      concurrency: 1,
      tasks: [taskSpec],
      retry: { ...scenario.retry, maxAttempts: 1 },
      faults,
      // The repro is judged by how its one attempt ends, not by recovery it cannot show.
      expect: { ...scenario.expect, allCompleted: false, killedAttemptsRecover: false, disruptedTasksRecover: false, failedTasks: {} },
    },
    `repro of ${state.runId}`,
  );
  const run = await runScenario({ ...options, scenario: reproScenario, scenarioFile: state.scenarioFile ?? undefined, seed: state.seed });
  const again = run.report.attempts.find((a) => a.task === task);
  const original: AttemptEnding = { task, attempt: record.attempt, outcome: record.outcome ?? 'lost', exitCode: record.exitCode, reason: record.reason };
  const repro: AttemptEnding = again
    ? { task, attempt: again.attempt, outcome: again.outcome as AttemptOutcome, exitCode: again.exitCode, reason: again.reason ?? null }
    : { task, attempt: 1, outcome: 'not-run', exitCode: null, reason: run.report.error ?? null };
  const differences = (['outcome', 'exitCode', 'reason'] as const).filter((k) => original[k] !== repro[k]);
  return { original, repro, reproduced: differences.length === 0, differences, run, image, faults };
}

/**
 * Writes one attempt of a run as a Compose file (docs/repro.md): its container as the
 * Docker backend created it — image id, environment, labels, user, network mode, workspace
 * volume, limits — plus the run's topology services; faults and the original ending in
 * `x-keelhaul`. Returns the absolute path written. Touches no daemon.
 *
 * @throws {ReproError}, {StateError} as {@link reproAttempt}; {ComposeError} when the run's topology file no longer loads
 */
export async function exportAttemptCompose(options: AttemptSelection & { readonly file: string }): Promise<string> {
  const chosen = await choose(options);
  const { state, scenario, record, task } = chosen;
  const topology = await loadScenarioTopology(scenario, join(chosen.runDir, 'state.json'));
  const taskSpec = scenario.tasks.find((t) => t.id === task)!;
  const identity = { runId: state.runId, scenario: scenario.name, version: state.keelhaulVersion, controllerPid: state.controller.pid, controllerStart: state.controller.start };
  const faults = await retimedFaults(chosen);
  const yaml = attemptToCompose(
    {
      runId: state.runId,
      task,
      attempt: record.attempt,
      seed: state.seed,
      image: record.imageId || state.image,
      env: workerEnvironment({
        runId: state.runId,
        taskId: task,
        attempt: record.attempt,
        seed: state.seed,
        task: attemptTaskOf(taskSpec, scenario.heartbeatMs),
      }),
      labels: labelsFor(identity, 'worker', { task, attempt: record.attempt }),
      user: '1000:1000',
      network: topology?.workerNetwork ?? scenario.network,
      workspacePath: WORKSPACE_PATH,
      ...(scenario.workspace.size !== undefined ? { workspaceSizeBytes: scenario.workspace.size } : {}),
      memoryBytes: scenario.resources.memory,
      pidsLimit: scenario.resources.pidsLimit,
      ...(scenario.resources.cpus !== undefined ? { cpus: scenario.resources.cpus } : {}),
      tmpfsBytes: scenario.resources.tmpfs,
      original: {
        outcome: record.outcome,
        exitCode: record.exitCode,
        reason: record.reason,
        faults: faults.map((f) => ({ name: f.name, kind: f.kind, params: f.params ?? {}, afterTaskStartedMs: 'on' in f.trigger ? (f.trigger.on.delayMs ?? 0) : 0 })),
      },
    },
    topology?.topology,
    state.keelhaulVersion,
  );
  const file = resolve(options.file);
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, yaml);
  return file;
}
