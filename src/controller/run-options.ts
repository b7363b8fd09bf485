/**
 * The options and the result shared by `runScenario`, `resumeRun` (controller.ts) and
 * `executeRun` (run.ts). A module of its own so that controller.ts and run.ts do not
 * import each other.
 */
import type { PrivateDaemon } from '../daemon/index.js';
import type { DockerClient } from '../docker/index.js';
import type { RunReport } from '../report/index.js';
import type { RunEvent } from './events.js';

/** Options shared by `runScenario` and `resumeRun`. */
export interface RunHooks {
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
  /**
   * A private daemon the caller started, for scenarios with `daemon.mode: private` (tests
   * reuse one across runs so the worker image is built once). keelhaul starts and removes
   * its own when this is absent; one passed in is left running.
   */
  readonly privateDaemon?: PrivateDaemon;
  /**
   * Start a detached reaper that removes the run's resources if this controller dies and
   * nobody resumes within the TTL. Overrides the scenario's `reaper.enabled`.
   */
  readonly reaper?: boolean;
  /**
   * Before cleanup, hash every task's workspace into `workspaces.json` in the run directory
   * (`keelhaul parity` compares them). Costs one helper container on the docker backend.
   * @default false
   */
  readonly captureWorkspaces?: boolean;
  /**
   * The run ids its caller drives now, owned by the caller (a `Harness` passes its own):
   * `runScenario` and `resumeRun` hold a run's id in it while they drive the run, and
   * `resumeRun` refuses a run of this process whose id is in it (`ResumeError`,
   * `live-controller`). A run of this process that is not in it — one that gave up on a
   * lost daemon — may be resumed. Runs of other processes are judged by their
   * controller's liveness, whatever this holds.
   * @default a new set for each call (nothing shared between callers)
   */
  readonly activeRuns?: Set<string>;
}

/** What `runScenario` and `resumeRun` return. */
export interface RunResult {
  readonly report: RunReport;
  /** `.keelhaul/runs/<run-id>` (absolute). */
  readonly runDir: string;
  readonly reportPath: string;
  /** The run ended without finishing (its daemon did not come back in time): `resumeRun` can finish it. */
  readonly resumable: boolean;
}
