/**
 * The shapes of a soak: its bounds, the samples between iterations, the iterations and
 * soak.json. A module of its own so that the loop (`soak.ts`) and the report writers
 * (`soak-report.ts`) share them without importing each other.
 */
import type { LeakReport } from '../controller/index.js';
import type { GrowthVerdict } from './growth.js';

/**
 * Growth a soak tolerates, late-window median minus early-window median (see growth.ts).
 * The defaults come from what a healthy soak of chaos/smoke.yaml showed on a 2-core CI
 * box (docs/reliability.md has the figures): the controller's RSS moves by 10–30 MiB
 * with GC timing, its fd count by a few sockets, dockerd's RSS by tens of MiB as it
 * caches; each default is several times that noise and well under what one leaked run
 * per iteration adds over a 30-minute soak.
 */
export interface SoakBounds {
  /** Controller (this process) RSS growth, bytes. @default 64 MiB */
  readonly controllerRssBytes: number;
  /** Growth in this process's open file descriptors (/proc/self/fd). @default 10 */
  readonly openFds: number;
  /** dockerd RSS growth (pidusage of the daemon's pid), bytes. @default 256 MiB */
  readonly dockerdRssBytes: number;
}

/** What is sampled between iterations (after the run's cleanup). */
export interface SoakSample {
  /** When, ISO 8601. */
  readonly ts: string;
  /** This process's resident set size, bytes (process.memoryUsage). */
  readonly controllerRssBytes: number;
  /** V8 heap in use, bytes; for diagnosis, not judged (it swings with GC). */
  readonly heapUsedBytes: number;
  /** Entries of /proc/self/fd. */
  readonly openFds: number;
  /** dockerd's RSS, bytes; null when its pid is not visible (a remote daemon, another pid namespace). */
  readonly dockerdRssBytes: number | null;
  /** Containers (stopped too), networks and volumes labelled with any of this soak's run ids: a leak when > 0. */
  readonly soakResources: number;
  /** Everything labelled `dev.keelhaul.run` on the daemon, any run's (others' runs on a shared daemon too): context, not judged. */
  readonly labelledResources: number;
}

/** One run of the scenario. */
export interface SoakIteration {
  /** 1-based. */
  readonly index: number;
  readonly runId: string;
  readonly seed: number;
  readonly status: 'passed' | 'failed' | 'interrupted';
  readonly durationMs: number;
  /** Names of the checks that failed, and the run's own error when it failed outright. */
  readonly failedChecks: readonly string[];
  readonly error?: string;
  /** What a label query still found of this run after it ended (a leak when not empty). */
  readonly leaked: LeakReport;
  readonly sample: SoakSample;
}

/** soak.json: the soak's samples and verdict. */
export interface SoakReport {
  readonly scenario: string;
  readonly scenarioFile: string | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
  /** Requested duration, ms. */
  readonly durationMs: number;
  /** Actual time from the first iteration's start to the end, ms. */
  readonly elapsedMs: number;
  /** `running` while it goes on (soak.json is rewritten after each iteration). */
  readonly status: 'running' | 'passed' | 'failed' | 'interrupted';
  /** Why it failed, one line each (failed iterations, leaks, growth past a bound). */
  readonly failures: readonly string[];
  readonly bounds: SoakBounds;
  readonly warmup: number;
  readonly dockerdPid: number | null;
  readonly growth: {
    readonly controllerRssBytes: GrowthVerdict;
    readonly openFds: GrowthVerdict;
    readonly dockerdRssBytes: GrowthVerdict | null;
  };
  /** A sample before the first iteration, for reference (not judged). */
  readonly baseline: SoakSample;
  readonly iterations: readonly SoakIteration[];
}
