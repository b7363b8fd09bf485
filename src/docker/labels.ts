/**
 * Every label key keelhaul puts on a container, network or volume, in one place.
 * Reverse-DNS keys per Docker's label guidance
 * (https://docs.docker.com/config/labels-custom-metadata/#key-format-recommendations).
 * Every check of recovery and cleanup is a query on these labels.
 */
export const LABEL_PREFIX = 'dev.keelhaul';

export const Label = {
  /** The run id; the key every cleanup and leak query filters on. */
  run: 'dev.keelhaul.run',
  /** What the resource is for: see {@link Role}. */
  role: 'dev.keelhaul.role',
  /** Task id, e.g. `t-01` (attempt containers and task workspaces). */
  task: 'dev.keelhaul.task',
  /** Attempt number, 1-based, as a decimal string. */
  attempt: 'dev.keelhaul.attempt',
  /** Scenario name from the scenario file. */
  scenario: 'dev.keelhaul.scenario',
  /** keelhaul's version (package.json). */
  version: 'dev.keelhaul.version',
  /** The controller's pid; with `controllerStart` it tells a live controller from a dead one. */
  controllerPid: 'dev.keelhaul.controller.pid',
  /** The controller's start time, ms since the epoch, as a decimal string. */
  controllerStart: 'dev.keelhaul.controller.start',
  /** The Compose service a topology container runs (src/compose/); faults target it with `target.service`. */
  service: 'dev.keelhaul.service',
  /** `true` exempts a resource from fault targeting (Pumba's skip label). */
  skip: 'dev.keelhaul.skip',
  /** Digest of an image's build inputs; an unchanged rebuild is skipped when it matches. */
  contextDigest: 'dev.keelhaul.context-digest',
} as const;

/** Values of {@link Label.role}. */
export type Role = 'worker' | 'probe' | 'reaper' | 'filler' | 'workspace' | 'network' | 'image' | 'service' | 'volume';

/** The identity of a run, shared by every resource it creates. */
export interface RunIdentity {
  readonly runId: string;
  readonly scenario: string;
  readonly version: string;
  /** Controller pid (process.pid of the process that runs the controller). */
  readonly controllerPid: number;
  /** Controller start, ms since the epoch. */
  readonly controllerStart: number;
}

/**
 * The label set for one resource of a run: run, role, scenario, version and controller
 * identity, plus task and attempt when given.
 */
export function labelsFor(run: RunIdentity, role: Role, extra: { task?: string; attempt?: number } = {}): Record<string, string> {
  const labels: Record<string, string> = {
    [Label.run]: run.runId,
    [Label.role]: role,
    [Label.scenario]: run.scenario,
    [Label.version]: run.version,
    [Label.controllerPid]: String(run.controllerPid),
    [Label.controllerStart]: String(run.controllerStart),
  };
  if (extra.task !== undefined) labels[Label.task] = extra.task;
  if (extra.attempt !== undefined) labels[Label.attempt] = String(extra.attempt);
  return labels;
}

/**
 * Turns a scenario's short label keys into full ones: `task` → `dev.keelhaul.task`,
 * `role` → `dev.keelhaul.role`; keys with a dot are taken as they are.
 */
export function expandLabelKey(key: string): string {
  return key.includes('.') ? key : `${LABEL_PREFIX}.${key}`;
}

/** A label value in a query that matches any value: the filter tests only that the key exists. */
export const ANY_VALUE = '*';

/**
 * `{k: v}` → `['k=v']`, the form of the Engine API's `label` filter (several AND
 * together); a value of {@link ANY_VALUE} becomes `k` alone, which matches any value.
 */
export function labelFilter(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => (v === ANY_VALUE ? k : `${k}=${v}`));
}
