import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { FaultSupportError, preflightFaults, randomSeed } from '../chaos/index.js';
import { localBackendProblems, type BackendProblem } from '../backends/index.js';
import { removePrivateDaemonRoot, startPrivateDaemon, type PrivateDaemon } from '../daemon/index.js';
import { connectDocker, ImageNotFoundError, reconnectRequest, type DaemonVersion, type DockerClient, type ImageTransfer } from '../docker/index.js';
import { WORKER_IMAGE_REPOSITORY } from '../images/index.js';
import { ensureHelperImage, helperNeeds } from './helper-image.js';
import { privateDaemonImages, provideImages } from './private-images.js';
import { loadScenarioTopology, topologyImage, type ScenarioTopology } from '../compose/index.js';
import { loadScenarioFile, resolveScenarioEnv, validateScenario, type Scenario } from '../scenario/index.js';
import { expandImageVersion, keelhaulVersion } from '../version.js';
import { currentController, isControllerAlive } from './liveness.js';
import { executeRun } from './run.js';
import { executeSutRun } from './sut-run.js';
import { preflightSut } from './sut-resolve.js';
import type { RunHooks, RunResult } from './run-options.js';
import { runDirOf } from './run-paths.js';
import { redactorFor, restoreSecretEnv } from './redaction.js';
import { daemonConnectOptions, readRunState, STATE_SCHEMA_VERSION, StateStore, type RunState } from './state.js';

/** Options of {@link runScenario}. */
export interface RunScenarioOptions extends RunHooks {
  /** A validated scenario (see `loadScenarioFile`, `validateScenario`). */
  readonly scenario: Scenario;
  /** The file it came from, for the report; null for scenarios built in code. */
  readonly scenarioFile?: string;
  /** Overrides `scenario.seed`; a random seed is drawn (and reported) when both are absent. */
  readonly seed?: number;
  /** Progress of an image pull (`scenario.pull`), one line per layer status; the CLI prints it on a terminal. */
  readonly onPullProgress?: (image: string, line: string) => void;
}

/** Run ids sort by start time: `20261122-101530-3fa9` (UTC), plus 16 random bits. */
export function createRunId(now = new Date()): string {
  const iso = now.toISOString();
  const stamp = `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** A run that cannot be resumed (finished, or still driven by a live controller). */
export class ResumeError extends Error {
  override name = 'ResumeError';
  readonly runId: string;
  /**
   * `finished`, `live-controller`, `local-backend` (its processes died with their controller),
   * `sut` (a system under test's run: the SUT resumes itself; run the scenario again).
   */
  readonly reason: 'finished' | 'live-controller' | 'local-backend' | 'sut';
  constructor(runId: string, reason: 'finished' | 'live-controller' | 'local-backend' | 'sut', message: string) {
    super(message);
    this.runId = runId;
    this.reason = reason;
  }
}

async function checkImage(docker: DockerClient, image: string): Promise<DaemonVersion> {
  const daemon = await docker.version();
  if (!(await docker.inspectImage(image))) {
    throw new ImageNotFoundError(image, {
      operation: 'start run',
      hint: image.startsWith('keelhaul/worker:')
        ? 'Build it with `keelhaul images build`.'
        : 'Build, load or push it first (`pull: never` pulls nothing), or change `image:` in the scenario.',
    });
  }
  return daemon;
}

/**
 * Runs a scenario end to end on one Docker daemon: launches an attempt container per task
 * (p-queue at the scenario's concurrency, retries with backoff), fires the faults, removes
 * every resource with the run label, runs the checks and writes the run directory
 * (`scenario.yaml`, `state.json`, `events.jsonl`, `completions.jsonl`,
 * `attempts/<task>/<n>/{stdout,stderr}.log`, `report.json`).
 *
 * @throws {ImageNotFoundError} before anything is created when the image is absent
 * @throws {DaemonUnavailableError} when the daemon does not answer at the start
 * @throws {FaultSupportError} when this host cannot apply one of the faults (no netem, not root)
 * Failures during the run (a daemon lost mid-run, a timeout, an abort) do not throw: they
 * end in a report with `status: "failed"` and an `error`.
 */
export async function runScenario(options: RunScenarioOptions): Promise<RunResult> {
  const { scenario, docker } = options;
  const seed = options.seed ?? scenario.seed ?? randomSeed();
  const startedAtMs = Date.now();
  const runId = createRunId(new Date(startedAtMs));
  const image = expandImageVersion(scenario.image);

  // Everything that can refuse the run does so before a resource or a file exists.
  options.signal?.throwIfAborted();
  await preflightFaults(scenario.faults);
  await preflightSut(scenario, options.scenarioFile ?? null);
  const topology = await loadScenarioTopology(scenario, options.scenarioFile ?? '<inline>');
  if (scenario.backend === 'local') {
    // Refused at plan time, never skipped at run time (docs/parity.md).
    assertLocalBackendCan(scenario);
    const daemon = await docker.version();
    return startRun(options, docker, daemon, { seed, startedAtMs, runId, image, privateDaemon: undefined, ownsDaemon: false, topology: undefined });
  }
  if (scenario.daemon.mode === 'private') return runOnPrivateDaemon(options, { seed, startedAtMs, runId, image, topology });
  await pullImages(docker, options, [image, ...(topology?.topology.services ?? []).map((service) => topologyImage(service, keelhaulVersion))]);
  const daemon = await checkImage(docker, image);
  await checkTopologyImages(docker, topology);
  return startRun(options, docker, daemon, { seed, startedAtMs, runId, image, privateDaemon: undefined, ownsDaemon: false, topology });
}

/**
 * Pulls images as `scenario.pull` says: `missing` pulls what the daemon lacks, `always`
 * pulls each, `never` none. keelhaul's own worker image is built, never pulled (it is on no
 * registry). Before anything is created, like the image checks after it.
 * @throws {ImageNotFoundError} when the registry has no such image or refuses the credentials
 */
async function pullImages(docker: DockerClient, options: RunScenarioOptions, refs: readonly string[]): Promise<void> {
  const policy = options.scenario.pull;
  if (policy === 'never' || !docker.pullImage) return;
  for (const ref of new Set(refs)) {
    if (ref.startsWith(`${WORKER_IMAGE_REPOSITORY}:`)) continue;
    if (policy === 'missing' && (await docker.inspectImage(ref))) continue;
    await docker.pullImage(ref, { onProgress: (line) => options.onPullProgress?.(ref, line) });
  }
}

/** Every topology service's image must be on the daemon (nothing is pulled), checked before anything is created. */
async function checkTopologyImages(docker: DockerClient, topology: ScenarioTopology | undefined): Promise<void> {
  for (const service of topology?.topology.services ?? []) {
    const ref = topologyImage(service, keelhaulVersion);
    if (!(await docker.inspectImage(ref))) {
      throw new ImageNotFoundError(ref, {
        operation: `start service ${service.name} of ${topology?.topology.file ?? 'the topology'}`,
        hint: ref.startsWith('keelhaul/worker:') ? 'Build it with `keelhaul images build`.' : 'Build, load or push it first (`pull: never` pulls nothing).',
      });
    }
  }
}

/**
 * What the chosen backend cannot apply of a scenario: every problem, each naming its field.
 * A {@link FaultSupportError} (so callers that catch that keep working) whose `field` is
 * the first problem's; the CLI maps it to exit 2 (the scenario asks the backend for what it
 * does not do) and locates every field in the scenario file.
 */
export class BackendSupportError extends FaultSupportError {
  // Its name stays FaultSupportError's: callers that match on the name (docs/api.md,
  // examples/parity.test.mjs) keep working; `instanceof` tells the two apart.
  readonly backend: 'local';
  readonly problems: readonly BackendProblem[];
  constructor(backend: 'local', problems: readonly BackendProblem[]) {
    const [first, ...rest] = problems;
    super(first?.field ?? '', `${first?.message ?? 'cannot be applied'} (backend ${backend})`);
    if (rest.length > 0) this.message = problems.map((p) => `${p.field}: ${p.message} (backend ${backend})`).join('\n  ');
    this.backend = backend;
    this.problems = problems;
  }
}

/**
 * Throws when the local backend cannot apply something the scenario asks for.
 * @throws {BackendSupportError} naming every field (`faults[1].kind`, `network`) and saying why
 */
export function assertLocalBackendCan(scenario: Scenario): void {
  const problems = localBackendProblems(scenario);
  if (problems.length > 0) throw new BackendSupportError('local', problems);
}

/** Host string for `connectDocker({host})` from a client's endpoint (a socket path or tcp://). */
function hostOf(docker: DockerClient): string {
  return docker.endpoint.startsWith('/') ? `unix://${docker.endpoint}` : docker.endpoint;
}

/**
 * How a system under test reaches the run's daemon, as the docker CLI reads it: the context
 * the client came through (its TLS material with it), else `DOCKER_HOST` (TLS variables, if
 * any, are inherited from keelhaul's environment).
 */
function dockerEnvOf(docker: DockerClient): { DOCKER_HOST: string } | { DOCKER_CONTEXT: string } {
  const context = contextOf(docker);
  return context ? { DOCKER_CONTEXT: context } : { DOCKER_HOST: hostOf(docker) };
}

/** The Docker context the client reached its daemon through, for state.json (`daemonConnectOptions`). */
function contextOf(docker: DockerClient): string | null {
  const again = docker.connection ? reconnectRequest(docker.connection) : undefined;
  return again && 'context' in again ? again.context : null;
}

/**
 * `daemon.mode: private`: starts a dockerd for this run (or uses the caller's), puts the
 * run's images on it — keelhaul's worker image built there, any other image (the scenario's,
 * its topology's, `sut.images`) copied from the caller's daemon by a streamed save → load
 * (private-images.ts) —, runs, and removes the daemon it started.
 */
async function runOnPrivateDaemon(
  options: RunScenarioOptions,
  ids: { seed: number; startedAtMs: number; runId: string; image: string; topology: ScenarioTopology | undefined },
): Promise<RunResult> {
  const { scenario } = options;
  const outer = options.docker;
  const owned = options.privateDaemon === undefined;
  let result: RunResult | undefined;
  const daemon = options.privateDaemon ?? (await startPrivateDaemon({ liveRestore: scenario.daemon.liveRestore, name: `r${ids.runId.slice(-4)}` }));
  try {
    if (!owned && daemon.liveRestore !== scenario.daemon.liveRestore) await daemon.setLiveRestore(scenario.daemon.liveRestore);
    const docker = await daemon.connect();
    const imageTransfers = await provideImages(outer, docker, privateDaemonImages(scenario, ids.image, ids.topology), options.signal ? { signal: options.signal } : {});
    const version = await checkImage(docker, ids.image);
    await checkTopologyImages(docker, ids.topology);
    result = await startRun({ ...options, docker }, docker, version, { ...ids, privateDaemon: daemon, ownsDaemon: owned, imageTransfers });
    return result;
  } finally {
    // A resumable run keeps its daemon for `resume` (or its reaper, which removes both).
    if (owned && !result?.resumable) await daemon.remove();
  }
}

async function startRun(
  options: RunScenarioOptions,
  docker: DockerClient,
  daemon: DaemonVersion,
  ids: {
    seed: number;
    startedAtMs: number;
    runId: string;
    image: string;
    privateDaemon: PrivateDaemon | undefined;
    ownsDaemon: boolean;
    topology: ScenarioTopology | undefined;
    /** Images copied to a private daemon before the run, recorded as its first events. */
    imageTransfers?: readonly ImageTransfer[];
  },
): Promise<RunResult> {
  const { scenario } = options;
  const { seed, runId, image } = ids;
  // keelhaul's helper image, built now if the daemon lacks it, so that build is not run time (helper-image.ts).
  if (helperNeeds(scenario, { captureWorkspaces: options.captureWorkspaces === true }).length > 0) await ensureHelperImage(docker);
  // The run starts now: `at` triggers count from here, not from a private daemon's start and image build.
  const startedAtMs = Date.now();

  const runDir = resolve(options.runsDir ?? join('.keelhaul', 'runs'), runId);
  await mkdir(join(runDir, 'attempts'), { recursive: true });
  // env as written (`${VAR}`) goes to scenario.yaml and state.json; the expanded values only to the workers.
  const workerEnv = resolveScenarioEnv(scenario.env, options.scenarioFile ?? '<inline>');
  const redactor = redactorFor(scenario, workerEnv);
  await writeFile(join(runDir, 'scenario.yaml'), `# as run by keelhaul ${keelhaulVersion}, run ${runId}\n${toYaml(redactor.value({ ...scenario, image, seed }))}`);
  const controller = currentController();
  const state: RunState = {
    schemaVersion: STATE_SCHEMA_VERSION,
    runId,
    seed,
    scenario,
    scenarioFile: options.scenarioFile ?? null,
    image,
    keelhaulVersion,
    status: 'running',
    startedAtMs,
    controller,
    controllers: [controller],
    networkName: null,
    daemonHost: hostOf(docker),
    daemonContext: contextOf(docker),
    // Only a daemon keelhaul started is keelhaul's to remove (by a resume or the reaper).
    privateDaemonRoot: ids.ownsDaemon ? (ids.privateDaemon?.rootDir ?? null) : null,
    tasks: Object.fromEntries(scenario.tasks.map((t) => [t.id, { status: 'pending', attempts: [] }])),
    faults: [],
    reaper: null,
    revision: 0,
    updatedAt: new Date().toISOString(),
  };
  const store = new StateStore(join(runDir, 'state.json'), state, { redactor });
  await store.save();
  const sut = scenario.sut;
  if (sut !== undefined) {
    // The work is the system under test's: keelhaul starts it, watches its containers and judges it (docs/sut.md).
    return driving(options.activeRuns, ids.runId, () =>
      executeSutRun({
        ...options,
        scenario: { ...scenario, sut },
        docker,
        runDir,
        store,
        daemon,
        daemonHandle: ids.privateDaemon,
        redactor,
        dockerEndpoint: dockerEnvOf(docker),
        imageTransfers: ids.imageTransfers ?? [],
      }),
    );
  }
  return driving(options.activeRuns, ids.runId, () =>
    executeRun({
      ...options,
      scenario: { ...scenario, env: workerEnv.values },
      docker,
      runDir,
      store,
      daemon,
      resumed: false,
      daemonHandle: ids.privateDaemon,
      redactor,
      topology: ids.topology,
      imageTransfers: ids.imageTransfers ?? [],
    }),
  );
}

/** Runs `work` with `runId` held in the caller's {@link RunHooks.activeRuns} (when it passed one). */
async function driving<T>(activeRuns: Set<string> | undefined, runId: string, work: () => Promise<T>): Promise<T> {
  if (!activeRuns) return work();
  activeRuns.add(runId);
  try {
    return await work();
  } finally {
    activeRuns.delete(runId);
  }
}

/** Options of {@link resumeRun}. */
export interface ResumeRunOptions extends RunHooks {
  /** A run id (looked up under `runsDir`) or a run directory. */
  readonly run: string;
}

/**
 * Resumes a run whose controller died: loads state.json, takes the run over, and
 * reconciles with a label query on the daemon — an attempt whose container still runs is
 * re-attached (its output replayed from the daemon's log and followed), an exited one is
 * judged by its exit code, a missing one is replaced by a new attempt, and a task in the
 * completion ledger never runs again. Then the run goes on as {@link runScenario}'s would.
 *
 * @throws {UnsafePathError} when `run` is a run id with `..`, NUL or other characters a run id never has
 * @throws {StateError} when the run directory has no readable state.json
 * @throws {MissingSecretError} when a secret env value is neither in the scenario file nor in the environment
 * @throws {ResumeError} when the run already finished or its controller is still alive
 * @throws {ImageNotFoundError}, {DaemonUnavailableError} as {@link runScenario}
 */
export async function resumeRun(options: ResumeRunOptions): Promise<RunResult> {
  const runsDir = options.runsDir ?? join('.keelhaul', 'runs');
  const runDir = runDirOf(options.run, runsDir);
  const store = new StateStore(join(runDir, 'state.json'), await readRunState(join(runDir, 'state.json')));
  const state = store.state;
  if (state.status === 'finished') {
    throw new ResumeError(state.runId, 'finished', `Run ${state.runId} already finished; its report is ${join(runDir, 'report.json')}.`);
  }
  // This very process may resume a run it gave up on (the library API), unless its caller still drives it.
  const self = state.controller.pid === process.pid && state.controller.hostname === currentController().hostname;
  if (self ? (options.activeRuns?.has(state.runId) ?? false) : isControllerAlive(state.controller)) {
    throw new ResumeError(
      state.runId,
      'live-controller',
      `Run ${state.runId} is still driven by a live controller (pid ${state.controller.pid} on ${state.controller.hostname}); stop it first, or wait for it to finish.`,
    );
  }
  // A stored scenario is validated again: it may come from an older keelhaul or a hand edit.
  const stored = validateScenario(state.scenario, join(runDir, 'state.json'));
  if (stored.backend === 'local') {
    // Its workers were children of the controller that died, and died with it (execa cleanup).
    throw new ResumeError(
      state.runId,
      'local-backend',
      `Run ${state.runId} ran on the local backend: its worker processes ended with their controller, so there is nothing to re-attach; run the scenario again.`,
    );
  }
  if (stored.sut !== undefined) {
    throw new ResumeError(
      state.runId,
      'sut',
      `Run ${state.runId} drove a system under test, whose own resume is its command's business; the reaper killed what it left. Run the scenario again.`,
    );
  }
  // state.json holds [REDACTED:NAME] for secret env values: take them from the scenario file or the environment.
  const scenarioFile = state.scenarioFile;
  const env = await restoreSecretEnv(stored.env, async () => (scenarioFile ? (await loadScenarioFile(scenarioFile)).env : undefined));
  const scenario: Scenario = { ...stored, env };
  // `${VAR}` is read again from this process's environment: state.json keeps the reference, not the value.
  const workerEnv = resolveScenarioEnv(env, join(runDir, 'state.json'));
  const redactor = redactorFor(scenario, workerEnv);
  store.useRedactor(redactor);
  await preflightFaults(scenario.faults);
  const topology = await loadScenarioTopology(scenario, join(runDir, 'state.json'));
  // The run's own daemon (a private one survives its controller); the caller's client when it is the same.
  const docker = state.daemonHost === hostOf(options.docker) ? options.docker : await connectDocker(daemonConnectOptions(state));
  const daemon = await checkImage(docker, state.image);
  await checkTopologyImages(docker, topology);
  const controller = currentController();
  await store.update((s) => {
    s.controller = controller;
    s.controllers.push(controller);
    if (s.status === 'reaped') s.status = 'running';
  });
  const result = await driving(options.activeRuns, state.runId, () =>
    executeRun({ ...options, docker, scenario: { ...scenario, env: workerEnv.values }, runDir, store, daemon, resumed: true, daemonHandle: undefined, redactor, topology }),
  );
  // The run's private daemon outlived its first controller; once the run is finished, it goes.
  if (state.privateDaemonRoot && !result.resumable && !options.privateDaemon) {
    await removePrivateDaemonRoot(state.privateDaemonRoot).catch(() => undefined);
  }
  return result;
}
