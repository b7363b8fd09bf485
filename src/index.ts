/**
 * keelhaul's library API, for users' own test suites (vitest, node:test, jest):
 *
 * ```ts
 * import { Harness } from 'keelhaul';
 *
 * await using harness = await Harness.create();            // connects to DOCKER_HOST
 * const { report } = await harness.run('chaos/smoke.yaml', { seed: 7 });
 * assert.equal(report.status, 'passed');
 * assert.deepEqual(await harness.resources(report.runId), { containers: [], networks: [], volumes: [] });
 * ```
 *
 * `await using` needs TypeScript ≥ 5.2 (lib `esnext.disposable`); in plain JavaScript call
 * `await harness.close()` in a `finally`. Below the Harness, the parts a caller may want are
 * exported by name — the scenario loader, runs without the Harness, the fault plan, checks,
 * reports, the Docker client and its errors, private daemons, the worker image, parity —
 * and nothing else: this file is keelhaul's public API, docs/api.md documents it, and
 * test/unit/public-api.test.ts lists it, so a change to it is a conscious one.
 */
import { planFaults, type FaultPlan } from './chaos/index.js';
import { findRunResources, removeRunResources, resumeRun, runScenario, type CleanupResult, type LeakReport, type RunEvent, type RunResult } from './controller/index.js';
import type { PrivateDaemon } from './daemon/index.js';
import { connectDocker, type DockerClient } from './docker/index.js';
import { loadScenarioFile, validateScenario, type Scenario, type ScenarioInput } from './scenario/index.js';
import { runParity, type ParityResult } from './parity/index.js';

/** Options of {@link Harness.create}. */
export interface HarnessOptions {
  /**
   * The daemon: `unix:///path/docker.sock` or `tcp://host:port`.
   * @default process.env.DOCKER_HOST, else `/var/run/docker.sock`
   */
  readonly host?: string;
  /**
   * Where run directories go.
   * @default `.keelhaul/runs` under the current directory
   */
  readonly runsDir?: string;
  /**
   * Start a detached reaper per run: it removes the run's resources if this process dies
   * (a test runner SIGKILLed mid-suite, where {@link Harness.close} never runs) and nobody
   * resumes the run within the scenario's `reaper.ttlMs`. `false` starts none.
   * @default the scenario's `reaper.enabled` (true unless the scenario says otherwise)
   */
  readonly reaper?: boolean;
}

/** Options of {@link Harness.run}. */
export interface HarnessRunOptions {
  /** Overrides the scenario's seed. */
  readonly seed?: number;
  /** Every run event, in order (the same events as events.jsonl). */
  readonly onEvent?: (event: RunEvent) => void;
  /** Aborts the run: attempts are killed, then cleanup, checks and the report run as usual. */
  readonly signal?: AbortSignal;
  /** For `daemon.mode: private` scenarios: a private daemon to reuse (left running afterwards). */
  readonly privateDaemon?: PrivateDaemon;
}

/**
 * A handle on one Docker daemon for a test suite: runs scenarios (from a file or an
 * object), resumes them, plans their faults, queries what a run left by label, and, on
 * {@link close} (or `await using`), removes whatever any run it started left behind.
 */
export class Harness implements AsyncDisposable {
  /** The Docker client this harness uses. */
  readonly docker: DockerClient;
  readonly #options: HarnessOptions;
  readonly #runs = new Set<string>();
  /** Runs this harness drives now: {@link resume} refuses them (per harness, never shared through module state). */
  readonly #active = new Set<string>();

  private constructor(docker: DockerClient, options: HarnessOptions) {
    this.docker = docker;
    this.#options = options;
  }

  /**
   * Connects to the daemon (bounded ping, API version negotiation).
   * @throws {DaemonUnavailableError} when no daemon answers
   */
  static async create(options: HarnessOptions = {}): Promise<Harness> {
    const docker = await connectDocker(options.host !== undefined ? { host: options.host } : {});
    return new Harness(docker, options);
  }

  /**
   * Loads (a path) or validates (an object) a scenario.
   * @throws {ScenarioError} naming the file, line and field of every problem
   */
  async scenario(scenario: string | ScenarioInput | Scenario): Promise<Scenario> {
    return typeof scenario === 'string' ? loadScenarioFile(scenario) : validateScenario(scenario);
  }

  /**
   * Runs a scenario to the end: launch, faults, cleanup, checks, reports. Resolves with
   * the report (status `passed` or `failed`) and the run directory; it does not throw
   * because a check failed.
   *
   * @throws {ScenarioError}, {ImageNotFoundError}, {DaemonUnavailableError},
   *   {FaultSupportError} before anything is created
   */
  async run(scenario: string | ScenarioInput | Scenario, options: HarnessRunOptions = {}): Promise<RunResult> {
    const loaded = await this.scenario(scenario);
    let runId: string | undefined;
    const result = await runScenario({
      scenario: loaded,
      docker: this.docker,
      ...(typeof scenario === 'string' ? { scenarioFile: scenario } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.privateDaemon ? { privateDaemon: options.privateDaemon } : {}),
      ...(this.#options.runsDir ? { runsDir: this.#options.runsDir } : {}),
      ...(this.#options.reaper !== undefined ? { reaper: this.#options.reaper } : {}),
      activeRuns: this.#active,
      onEvent: (event) => {
        if (runId === undefined) {
          runId = event.run;
          this.#runs.add(runId);
        }
        options.onEvent?.(event);
      },
    });
    this.#runs.add(result.report.runId);
    return result;
  }

  /**
   * Resumes a run whose controller died (or gave up on a lost daemon).
   * @throws {StateError}, {ResumeError}
   */
  async resume(run: string, options: Pick<HarnessRunOptions, 'onEvent' | 'signal'> = {}): Promise<RunResult> {
    const result = await resumeRun({
      run,
      docker: this.docker,
      ...(this.#options.runsDir ? { runsDir: this.#options.runsDir } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(this.#options.reaper !== undefined ? { reaper: this.#options.reaper } : {}),
      activeRuns: this.#active,
    });
    this.#runs.add(result.report.runId);
    return result;
  }

  /**
   * Runs a scenario on the docker backend and on the local backend with the same seed and
   * compares the outcomes (docs/parity.md) — or, for a scenario with a `sut`, runs the
   * system under test in its two `sut.modes` and compares its last exit, ledger and outputs
   * (docs/sut.md). Resolves with `ok` and the differing rows, each naming its task and
   * field; it does not throw because the outcomes differ.
   *
   * @throws {FaultSupportError} before anything runs when the local backend cannot apply a
   *   fault or setting of the scenario; {@link SutParityError} for a SUT without two modes;
   *   as {@link run} otherwise
   */
  async parity(scenario: string | ScenarioInput | Scenario, options: Pick<HarnessRunOptions, 'seed' | 'signal'> = {}): Promise<ParityResult> {
    const loaded = await this.scenario(scenario);
    return runParity({
      scenario: loaded,
      docker: this.docker,
      ...(typeof scenario === 'string' ? { scenarioFile: scenario } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(this.#options.runsDir ? { runsDir: this.#options.runsDir } : {}),
      onEvent: (event) => this.#runs.add(event.run),
    });
  }

  /** The fault plan of a scenario and seed, without touching Docker. */
  async plan(scenario: string | ScenarioInput | Scenario, seed: number): Promise<FaultPlan> {
    return planFaults(await this.scenario(scenario), seed);
  }

  /** What carries a run's label on the daemon now (a finished run: nothing). */
  resources(runId: string): Promise<LeakReport> {
    return findRunResources(this.docker, runId);
  }

  /** Removes every container, network and volume with the run's label. */
  clean(runId: string): Promise<CleanupResult> {
    return removeRunResources(this.docker, runId);
  }

  /** Removes whatever any run this harness started left behind (normally nothing). */
  async close(): Promise<void> {
    for (const runId of this.#runs) await removeRunResources(this.docker, runId).catch(() => undefined);
    this.#runs.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

// Scenarios: load, validate, the JSON Schema.
export {
  FAULT_KINDS,
  loadScenarioFile,
  parseScenario,
  ScenarioError,
  scenarioJsonSchema,
  validateScenario,
  type FaultKind,
  type FaultSpec,
  type Scenario,
  type ScenarioInput,
  type ScenarioIssue,
  type Step,
  type TargetSelector,
  type TaskSpec,
  type Trigger,
} from './scenario/index.js';
// Runs without the Harness: run, resume, clean, repro.
export {
  exportAttemptCompose,
  findRunResources,
  MissingSecretError,
  removeRunResources,
  reproAttempt,
  ReproError,
  ResumeError,
  resumeRun,
  runScenario,
  StateError,
  UnsafePathError,
  type AttemptOutcome,
  type AttemptSelection,
  type CleanupResult,
  type LeakReport,
  type ReproOptions,
  type ReproResult,
  type ResumeRunOptions,
  type RunEvent,
  type RunHooks,
  type RunResult,
  type RunScenarioOptions,
} from './controller/index.js';
// Fault plans and seeded choice.
export { createSeededRandom, FaultSupportError, pickTargets, planFaults, renderPlan, type FaultPlan, type PlannedFiring, type SeededRandom } from './chaos/index.js';
// Invariants over your own facts.
export {
  checkAllCompleted,
  checkAttemptsWithinBound,
  checkBudget,
  checkContainerAudit,
  checkDisruptedTasksRecover,
  checkEventSchema,
  checkEventsFile,
  checkExactlyOnce,
  checkExpectedFailures,
  checkFaultsInjected,
  checkKilledAttemptsRecover,
  checkLockExclusion,
  checkNetworkIsolation,
  checkNoLeaks,
  checkPartitionsVerified,
  checkRecoveryTime,
  checkResourceStability,
  checkStateMatchesDaemon,
  checkWorkspaceCompliance,
  runChecks,
  type AttemptFacts,
  type AttemptInterval,
  type BudgetLimits,
  type BudgetUsage,
  type CheckResult,
  type ContainerEventFact,
  type FaultFacts,
  type RecoveryFigure,
  type ResourceBounds,
  type ResourceFacts,
  type RunFacts,
  type TaskLocks,
  type WorkspaceListing,
} from './checks/index.js';
// Reports, resource charts, agent usage sums.
export {
  readEventsFile,
  readSamplesFile,
  renderHtmlReport,
  renderJunitReport,
  renderMarkdownReport,
  renderResourceCharts,
  REPORT_FORMATS,
  REPORT_SCHEMA_VERSION,
  summarizeUsage,
  UsageTally,
  writeRunReports,
  type EventsFile,
  type InvalidEventLine,
  type ReportAttempt,
  type ReportAttemptOutcome,
  type ReportFault,
  type ReportFormat,
  type RunReport,
  type RunUsage,
  type TaskUsage,
  type UsageReport,
  type UsageTotals,
  type WriteRunReportsOptions,
} from './report/index.js';
// The narrow Docker client, labels, typed Docker errors.
export {
  connectDocker,
  ContainerNotRunningError,
  DaemonTlsError,
  DaemonUnavailableError,
  DockerError,
  EndpointError,
  ImageBuildError,
  ImageNotFoundError,
  Label,
  labelsFor,
  resolveEndpoint,
  ResourceNotFoundError,
  type ConnectOptions,
  type ContainerInfo,
  type ContainerSummary,
  type DaemonVersion,
  type DockerClient,
  type DockerEndpoint,
  type ImageInfo,
  type NetworkSummary,
  type Role,
  type RunIdentity,
  type VolumeSummary,
} from './docker/index.js';
// Private daemons for daemon faults (docs/private-daemon.md).
export {
  attachExternalDaemon,
  DaemonCleanupError,
  DaemonControlError,
  DaemonError,
  DaemonStartError,
  ExternalDaemon,
  PrivateDaemon,
  privateDaemonPrerequisites,
  removePrivateDaemonRoot,
  startPrivateDaemon,
  type AnyDaemon,
  type CleanupFailure,
  type DaemonConnectOptions,
  type DaemonControlFailure,
  type DaemonErrorContext,
  type DaemonHandle,
  type DaemonOperation,
  type DaemonStartFailure,
  type DaemonTransition,
  type PrivateDaemonOptions,
  type StopOptions,
} from './daemon/index.js';
// The offline worker image.
export {
  buildWorkerImage,
  WORKER_IMAGE_REPOSITORY,
  WorkerImageInputError,
  workerImageTag,
  type BuildWorkerImageOptions,
  type ImageBuildClient,
  type WorkerImageBuild,
  type WorkerImageInput,
} from './images/index.js';
// Compose topologies (docs/compose.md).
export { ComposeError, loadComposeFile, type ComposeIssue, type ComposeTopology } from './compose/index.js';
// Docker against local backend (docs/parity.md).
export {
  compareDigests,
  digestRun,
  renderParityMarkdown,
  renderParityTable,
  runParity,
  SutParityError,
  type AttemptDigest,
  type OutcomeDigest,
  type ParityOptions,
  type ParityResult,
  type ParityRow,
  type SutDigest,
  type TaskDigest,
} from './parity/index.js';
// A system under test: the team's own orchestrator under keelhaul (docs/sut.md).
export { SutStartError } from './sut/index.js';
// The local backend's plan-time refusals.
export { LOCAL_FAULT_KINDS, localBackendProblems, type BackendProblem } from './backends/index.js';
// Resource samples in reports.
export type { MonitorSample, MonitorSummary } from './monitor/index.js';
// Worker events as a run's `worker.*` events carry them.
export type { WorkerEvent } from './worker/events.js';
export { keelhaulVersion } from './version.js';
