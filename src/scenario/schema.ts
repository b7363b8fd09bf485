import { z } from 'zod';

/**
 * The scenario schema: what a chaos/*.yaml file may say. One shape shared by the loader,
 * the controller, the fault plan and the report. Durations are milliseconds (fields end
 * in `Ms`), sizes are bytes (a number, or a string such as `256m`).
 */

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** Bytes: a non-negative integer, or `<n><unit>` with k/m/g (powers of 1024, as `docker run -m`). */
export const byteSize = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(b|k|kb|m|mb|g|gb)?$/i, 'expected a size such as 268435456, "256m" or "1g"')
    .transform((s) => {
      const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(s.trim());
      return Math.round(Number(m?.[1]) * (SIZE_UNITS[(m?.[2] ?? '').toLowerCase()] ?? 1));
    }),
]);

const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\0'), {
    message: 'expected a relative path inside the workspace (no leading /, no .., no NUL)',
  });

/** One step of a task, run by the worker (docs/worker-contract.md). Exactly one key. */
export const stepSchema = z.union([
  z.strictObject({
    write: z.strictObject({
      path: relativePath,
      content: z.string().optional(),
      bytes: z.number().int().nonnegative().optional(),
    }),
  }),
  z.strictObject({ sleep: z.number().int().nonnegative() }),
  z.strictObject({ progress: z.number().min(0).max(1) }),
  z.strictObject({ fail: z.string().min(1) }),
  z.strictObject({ allocate: z.number().int().positive() }),
  z.strictObject({ exit: z.number().int().min(0).max(255) }),
]);
export type Step = z.infer<typeof stepSchema>;

const taskId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a task id of letters, digits, _ . - (at most 63, no path separators)');

export const taskSchema = z.strictObject({
  id: taskId,
  steps: z.array(stepSchema).min(1),
  /** Paths the task declares it writes (workspace compliance checks use it). */
  writes: z.array(relativePath).optional(),
});
export type TaskSpec = z.infer<typeof taskSchema>;

/** `tasks:` is either a list of tasks or `count` copies of the same steps, ids `t-01`, `t-02`, … */
export const tasksSchema = z.union([
  z.array(taskSchema).min(1),
  z.strictObject({
    count: z.number().int().positive().max(10_000),
    idPrefix: z.string().regex(/^[A-Za-z0-9_.-]*$/).default('t-'),
    steps: z.array(stepSchema).min(1),
  }),
]);

/** Labels of the run's containers that a fault may pick from. Short keys expand to `dev.keelhaul.<key>`. */
export const targetSchema = z.strictObject({
  labels: z.record(z.string(), z.string()).default({ role: 'worker' }),
  /** `random` draws from the run's seeded generator; `first` takes the oldest attempt. */
  pick: z.enum(['random', 'first', 'all']).default('random'),
  /** How many to pick (`random`, `first`). */
  count: z.number().int().positive().default(1),
});
export type TargetSelector = z.infer<typeof targetSchema>;

/**
 * When a fault fires: `at` ms after the run started, or `on` the Nth worker event of a
 * type (optionally of one task and attempt).
 */
export const triggerSchema = z.union([
  z.strictObject({ at: z.number().int().nonnegative() }),
  z.strictObject({
    on: z.strictObject({
      event: z.string().min(1),
      /** 1-based: fire on the nth matching event. */
      nth: z.number().int().positive().default(1),
      task: taskId.optional(),
      attempt: z.number().int().positive().optional(),
    }),
  }),
]);
export type Trigger = z.infer<typeof triggerSchema>;

/** Signals an API kill may send; `SIGKILL` gives exit 137 (128 + 9). */
const signalName = z.string().regex(/^SIG[A-Z0-9]+$/, 'expected a signal name such as SIGKILL or SIGTERM');

/** The fault kinds this version knows, as `{kind, target, trigger, params}` data. */
export const faultSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('kill'),
    name: z.string().optional(),
    trigger: triggerSchema,
    target: targetSchema.default({ labels: { role: 'worker' }, pick: 'random', count: 1 }),
    params: z.strictObject({ signal: signalName.default('SIGKILL') }).default({ signal: 'SIGKILL' }),
  }),
]);
export type FaultSpec = z.infer<typeof faultSchema>;
export type FaultKind = FaultSpec['kind'];
export const FAULT_KINDS: readonly FaultKind[] = ['kill'];

export const networkModeSchema = z.enum(['none', 'internal', 'bridge']);
export type NetworkMode = z.infer<typeof networkModeSchema>;

/** Expectations the checks hold the run to. */
export const expectSchema = z.strictObject({
  /** Every task ends completed. */
  allCompleted: z.boolean().default(true),
  /** No task completes on more than one attempt. */
  exactlyOnce: z.boolean().default(true),
  /** A task killed by a fault exits 137 and completes on a later attempt. */
  killedAttemptsRecover: z.boolean().default(true),
  /** Nothing with the run label remains after cleanup. */
  noLeaks: z.boolean().default(true),
});

export const scenarioSchema = z.strictObject({
  /** A name for reports and the `dev.keelhaul.scenario` label. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a name of letters, digits, _ . -'),
  description: z.string().optional(),
  /** Unsigned 32-bit seed; `--seed` overrides it; drawn at random (and printed) when absent. */
  seed: z.number().int().min(0).max(0xffff_ffff).optional(),
  /** Worker image; `{version}` expands to keelhaul's version. */
  image: z.string().min(1).default('keelhaul/worker:{version}'),
  network: networkModeSchema.default('none'),
  concurrency: z.number().int().positive().max(256).default(2),
  /** Interval of worker heartbeats, ms (passed to the worker in the task). */
  heartbeatMs: z.number().int().min(10).default(1000),
  /** The whole run's bound, ms: past it, attempts are killed and the run fails. */
  timeoutMs: z.number().int().positive().default(600_000),
  retry: z
    .strictObject({
      maxAttempts: z.number().int().positive().max(100).default(3),
      /** Delay before the 2nd attempt, ms; later ones grow by `factor`. */
      backoffMs: z.number().int().nonnegative().default(200),
      factor: z.number().min(1).default(2),
      maxBackoffMs: z.number().int().nonnegative().default(10_000),
    })
    .default({ maxAttempts: 3, backoffMs: 200, factor: 2, maxBackoffMs: 10_000 }),
  resources: z
    .strictObject({
      memory: byteSize.default(256 * 1024 ** 2),
      pidsLimit: z.number().int().positive().default(128),
      /** CPUs, e.g. 0.5. */
      cpus: z.number().positive().optional(),
      /** Size of the /tmp tmpfs. */
      tmpfs: byteSize.default(64 * 1024 ** 2),
    })
    .default({ memory: 256 * 1024 ** 2, pidsLimit: 128, tmpfs: 64 * 1024 ** 2 }),
  /**
   * A detached reaper removes the run's resources when the controller dies and nobody
   * resumes the run within `ttlMs`.
   */
  reaper: z
    .strictObject({
      enabled: z.boolean().default(true),
      ttlMs: z.number().int().min(1000).default(60_000),
    })
    .default({ enabled: true, ttlMs: 60_000 }),
  tasks: tasksSchema,
  faults: z.array(faultSchema).default([]),
  expect: expectSchema.default({ allCompleted: true, exactlyOnce: true, killedAttemptsRecover: true, noLeaks: true }),
});

/** A scenario as written (before defaults). */
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** A validated scenario with every default applied and `tasks` expanded to a list. */
export type Scenario = Omit<z.output<typeof scenarioSchema>, 'tasks'> & { readonly tasks: readonly TaskSpec[] };
