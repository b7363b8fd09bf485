import { constants as osConstants } from 'node:os';
import { z } from 'zod';
import { bindMountSchema, dangerouslyAllowSchema, envSchema, redactSchema } from './security-schema.js';

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

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The longest duration keelhaul accepts, ms: 2^31 − 1, the largest delay Node.js timers
 * honour (a larger `setTimeout` delay is set to 1 and fires at once — Node's timers docs).
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;
const TOO_LONG = `expected at most ${MAX_DURATION_MS} ms (2^31 − 1, about 24.8 days): a longer timer would fire at once`;

/**
 * A duration in ms: a non-negative integer, or `<n><unit>` with ms, s, m or h (`1500`,
 * `"1.5s"`, `"2m"`); at most {@link MAX_DURATION_MS}.
 */
export const duration = z.union([
  z.number().int().nonnegative().max(MAX_DURATION_MS, TOO_LONG),
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(ms|s|m|h)$/, 'expected a duration such as 1500, "1.5s", "500ms" or "2m" (units: ms, s, m, h)')
    .transform((text) => {
      const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(text);
      return Math.round(Number(m?.[1]) * (DURATION_UNITS[m?.[2] ?? 'ms'] ?? 1));
    })
    .refine((ms) => ms <= MAX_DURATION_MS, TOO_LONG),
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
  z.strictObject({ sleep: duration }),
  z.strictObject({ progress: z.number().min(0).max(1) }),
  z.strictObject({ fail: z.string().min(1) }),
  z.strictObject({ allocate: z.number().int().positive() }),
  z.strictObject({ exit: z.number().int().min(0).max(255) }),
  /** Plain-text stdout (`bytes`) and/or `events` × `task.output`, at most `perSecond` (docs/worker-contract.md). */
  z.strictObject({
    flood: z
      .strictObject({
        bytes: byteSize.optional(),
        events: z.number().int().nonnegative().optional(),
        perSecond: z.number().int().positive().optional(),
      })
      .refine((f) => f.bytes !== undefined || f.events !== undefined, 'expected `bytes` or `events`'),
  }),
]);
export type Step = z.infer<typeof stepSchema>;

/** The step kinds, each with the keys its value takes (for errors that name what was expected). */
export const STEP_KINDS: Readonly<Record<string, string>> = {
  sleep: 'a duration',
  write: '{ path, content?, bytes? }',
  progress: 'a fraction from 0 to 1',
  fail: 'a message',
  allocate: 'bytes',
  exit: 'an exit code 0-255',
  flood: '{ bytes?, events?, perSecond? }',
};
/** The schema of one step kind (the member of {@link stepSchema} whose only key is `kind`). */
export function stepKindSchema(kind: string): z.ZodType | undefined {
  return stepSchema.options.find((option) => Object.keys(option.shape)[0] === kind);
}

const taskId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a task id of letters, digits, _ . - (at most 63, no path separators)');

const lockName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/, 'expected a lock name of letters, digits, _ . : / - (at most 128)');

/** keelhaul's own fields of a task: validated strictly; every other key goes to the worker as written. */
export const TASK_FIELDS = ['id', 'steps', 'writes', 'locks'] as const;

/**
 * Keys of `KEELHAUL_TASK` that keelhaul sets itself (from the scenario, not the task), so a
 * task may not carry a field of that name: its value would never reach the worker.
 */
export const RESERVED_TASK_FIELDS: readonly string[] = ['heartbeatMs'];

/**
 * Edit distance of `a` and `b` counting a missing or extra letter and two swapped letters
 * as 1 and a changed letter as 2 (optimal string alignment without substitutions), at most
 * `limit + 1`: `step`, `stpes`, `lock` are typos of known fields, while names such as
 * `writer` or `looks` (a letter changed) stay free for the user's own fields.
 */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 2;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known task field a key of a task is most likely a typo of (`step` → `steps`, `ID` →
 * `id`): the same name in another case, or a letter missing, extra or swapped for names of 4
 * letters or more.
 * Undefined for a key that is no near miss (a field of the user's own).
 */
export function nearTaskField(key: string): string | undefined {
  return TASK_FIELDS.find((field) => key !== field && (key.toLowerCase() === field.toLowerCase() || (field.length >= 4 && editDistance(key.toLowerCase(), field, 1) <= 1)));
}

/** A task field of the user's own: any JSON value, handed to the worker unchanged. */
const taskFieldValue = z.json({ error: 'expected a JSON value: a string, a finite number, true/false, null, a list or a mapping' });

/**
 * One task. `id`, `steps`, `writes` and `locks` are keelhaul's and checked strictly; any
 * other key is the worker's own (docs/worker-contract.md) and reaches it unchanged in
 * `KEELHAUL_TASK` — except near misses of keelhaul's own names (a typo), reserved names
 * ({@link RESERVED_TASK_FIELDS}) and `x-*` keys, which the loader strips before this schema.
 * `steps` is optional: a worker of the user's own may have no use for the step language;
 * the loader requires it when the reference worker runs the task.
 */
export const taskSchema = z
  .object({
    id: taskId,
    /** The reference worker's step language (docs/worker-contract.md); required when it runs the task. */
    steps: z.array(stepSchema).min(1).optional(),
    /** Paths the task declares it writes (workspace compliance checks use it). */
    writes: z.array(relativePath).optional(),
    /**
     * Named locks, readers-writer: two attempts conflict when one writes a lock the other
     * reads or writes. The controller never runs conflicting attempts at once; a task waits
     * for its locks without spending an attempt (src/controller/locks.ts).
     */
    locks: z
      .strictObject({
        reads: z.array(lockName).default([]),
        writes: z.array(lockName).default([]),
      })
      .optional(),
  })
  .catchall(taskFieldValue)
  .superRefine((task, ctx) => {
    for (const key of Object.keys(task)) {
      if ((TASK_FIELDS as readonly string[]).includes(key)) continue;
      const near = nearTaskField(key);
      if (near !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `unknown field "${key}": did you mean "${near}"? (a task's other fields go to the worker as they are, so a near miss of keelhaul's own ${TASK_FIELDS.join(', ')} is refused as a typo; rename it if it is your worker's)`,
        });
      } else if (RESERVED_TASK_FIELDS.includes(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" is set by keelhaul from the scenario's own ${key}, so a task cannot carry it; set it at the top level` });
      }
    }
  });

/** keelhaul's own fields of a task, as validated. */
type KnownTaskFields = Pick<z.output<typeof taskSchema>, (typeof TASK_FIELDS)[number]>;

/**
 * A validated task: keelhaul's fields, and the worker's own fields (any JSON value) as
 * written. `steps` is absent for a task that a worker of the user's own interprets.
 */
export type TaskSpec = KnownTaskFields & { readonly [field: string]: unknown };

/**
 * `tasks:` is a list of tasks, `count` copies of the same steps (ids `t-01`, `t-02`, …), or
 * `file`: a JSONL file of tasks (one task object a line, path relative to the scenario
 * file), which `loadScenarioFile` reads into a list before validation.
 */
export const tasksSchema = z.union([
  z.array(taskSchema).min(1),
  z.strictObject({
    count: z.number().int().positive().max(10_000),
    idPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]*$/)
      .default('t-'),
    steps: z.array(stepSchema).min(1).optional(),
  }),
  z.strictObject({
    /** A JSONL file of tasks, relative to the scenario file. */
    file: z.string().min(1),
  }),
]);

/** A JavaScript regular expression's source, checked when loaded. */
const regexSource = z.string().refine((p) => {
  try {
    new RegExp(p);
    return true;
  } catch {
    return false;
  }
}, 'expected a valid regular expression');

/**
 * Whether keelhaul's reference worker runs this scenario's tasks: the local backend without
 * `local.command` (which runs it as a process) or an image of `keelhaul/worker`. It runs a task's `steps`, emits
 * only the contract's event types, and ignores a task's other fields.
 */
export function runsReferenceWorker(scenario: {
  readonly image: string;
  readonly backend: string;
  readonly local?: { readonly command?: readonly string[] } | undefined;
}): boolean {
  return scenario.backend === 'local' ? scenario.local?.command === undefined : scenario.image.startsWith('keelhaul/worker:');
}

const percent = z.number().min(0, 'expected a percent from 0 to 100').max(100, 'expected a percent from 0 to 100');

/**
 * Which of the run's running containers a fault acts on. Labels (short keys expand to
 * `dev.keelhaul.<key>`), an optional name pattern, then `count` or `percent` of the
 * matches picked `random` (from the run's seed), `first` (oldest attempt first) or `all`.
 * Containers labelled `dev.keelhaul.skip=true` are never targets.
 */
export const targetSchema = z.strictObject({
  labels: z.record(z.string(), z.string()).default({ role: 'worker' }),
  /** A regular expression the container name must match, e.g. `-t-0[12]-`. */
  namePattern: regexSource.optional(),
  pick: z.enum(['random', 'first', 'all']).default('random'),
  /** How many to pick (`random`, `first`). */
  count: z.number().int().positive().default(1),
  /** Pick this percent of the matches instead of `count` (rounded up, at least 1). */
  percent: percent.optional(),
  /**
   * A Compose topology service by name (`dev.keelhaul.service=<name>`, docs/compose.md).
   * Without `labels` it matches the service's container(s) only, not workers.
   */
  service: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'expected a Compose service name')
    .optional(),
});
export type TargetSelector = z.infer<typeof targetSchema>;

/** Fields every trigger may carry. */
const triggerCommon = {
  /** Fire only with this probability (0..1), drawn from the run's seed. */
  probability: z.number().min(0).max(1).optional(),
};

/**
 * When a fault fires: `at` a time after the run started; `every` an interval, `count`
 * times; `on` the Nth worker event of a type (optionally of one task and attempt); `when`
 * run progress (completed tasks / all tasks) reaches a fraction.
 */
export const triggerSchema = z.union([
  z.strictObject({ at: duration, ...triggerCommon }),
  z.strictObject({
    every: duration.refine((ms) => ms >= 10, 'expected an interval of at least 10 ms'),
    count: z.number().int().positive().max(1000).default(1),
    /** First firing after this much time; defaults to one interval. */
    startAt: duration.optional(),
    ...triggerCommon,
  }),
  z.strictObject({
    on: z.strictObject({
      event: z.string().min(1),
      /** 1-based: fire on the nth matching event. */
      nth: z.number().int().positive().default(1),
      task: taskId.optional(),
      attempt: z.number().int().positive().optional(),
      /** Fire this long after the matching event instead of at once (repro re-times a fault from the task's start with it). */
      delayMs: duration.optional(),
      /** `sut.output` only: a regular expression the SUT's output line must match (docs/sut.md). */
      pattern: regexSource.optional(),
    }),
    ...triggerCommon,
  }),
  z.strictObject({ when: z.strictObject({ progress: z.number().gt(0).max(1) }), ...triggerCommon }),
]);
export type Trigger = z.infer<typeof triggerSchema>;

/** Signals a kill may send: the names this platform knows (`os.constants.signals`); `SIGKILL` gives exit 137 (128 + 9). */
const signalName = z
  .string()
  .regex(/^SIG[A-Z0-9]+$/, 'expected a signal name such as SIGKILL or SIGTERM')
  .refine((name) => Object.hasOwn(osConstants.signals, name), {
    error: (issue) =>
      `unknown signal ${JSON.stringify(issue.input)}; expected one of ${Object.keys(osConstants.signals)
        .filter((n) => n.startsWith('SIG'))
        .join(', ')}`,
  });

const faultCommon = {
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a name of letters, digits, _ . -')
    .optional(),
  trigger: triggerSchema,
  target: targetSchema.default({ labels: { role: 'worker' }, pick: 'random', count: 1 }),
};

/**
 * The fault kinds, as `{kind, trigger, target, params}` data: validated when loaded, shown
 * by `keelhaul plan`, recorded in the report. docs/faults.md gives each kind's semantics.
 */
export const faultSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('kill'),
    ...faultCommon,
    params: z
      .strictObject({
        signal: signalName.default('SIGKILL'),
        /**
         * `api`: `POST /containers/{id}/kill` — Docker records a manual stop, so restart
         * policies do not restart it (moby#47792). `host`: kill(2) of the container's init
         * pid from the host, as an OOM killer or a crash would.
         */
        mode: z.enum(['api', 'host']).default('api'),
      })
      .default({ signal: 'SIGKILL', mode: 'api' }),
  }),
  z.strictObject({
    kind: z.literal('stop'),
    ...faultCommon,
    /** `docker stop -t`: SIGTERM, then SIGKILL after `graceMs` (rounded up to whole seconds, the API's unit). */
    params: z.strictObject({ graceMs: duration.default(3000) }).default({ graceMs: 3000 }),
  }),
  z.strictObject({
    kind: z.literal('pause'),
    ...faultCommon,
    /** Freeze the target (cgroup freezer) for `durationMs`, then unpause it if it still exists. */
    params: z.strictObject({ durationMs: duration }),
  }),
  z.strictObject({
    kind: z.literal('netem'),
    ...faultCommon,
    /**
     * tc netem on the target's interfaces (in its network namespace, from the host with
     * nsenter) for `durationMs`; removed at the end of the fault and at the end of the run.
     */
    params: z
      .strictObject({
        durationMs: duration,
        delayMs: duration.optional(),
        jitterMs: duration.optional(),
        lossPercent: percent.optional(),
        duplicatePercent: percent.optional(),
        corruptPercent: percent.optional(),
        /** kbit/s */
        rateKbit: z.number().int().positive().optional(),
        /** Interface; default every interface but lo, or lo when it is the only one (network none). */
        device: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,15}$/)
          .optional(),
      })
      .refine(
        (p) => [p.delayMs, p.lossPercent, p.duplicatePercent, p.corruptPercent, p.rateKbit].some((v) => v !== undefined),
        'expected at least one of delayMs, lossPercent, duplicatePercent, corruptPercent, rateKbit',
      ),
  }),
  z.strictObject({
    kind: z.literal('fill-disk'),
    ...faultCommon,
    /**
     * A labelled filler container mounts the target's workspace volume and fills it to
     * `percent` of its size (needs `workspace.size`); the worker's next writes fail with ENOSPC.
     */
    params: z.strictObject({ percent: percent.default(100) }).default({ percent: 100 }),
  }),
  z.strictObject({
    kind: z.literal('restart'),
    ...faultCommon,
    /** `docker restart -t`: stop (SIGTERM, SIGKILL after `graceMs`) and start the same container; the attempt goes on in it. */
    params: z.strictObject({ graceMs: duration.default(3000) }).default({ graceMs: 3000 }),
  }),
  z.strictObject({
    kind: z.literal('partition'),
    ...faultCommon,
    /**
     * Disconnect the targets from a network (default: the run's) for `durationMs`, then
     * reconnect them (same IP). A labelled probe container on that network checks from
     * both sides that the cut is real and that the reconnection works. Needs `network:
     * internal` or `bridge`.
     */
    params: z.strictObject({ durationMs: duration, network: z.string().min(1).optional() }),
  }),
  z.strictObject({
    kind: z.literal('daemon-stop'),
    ...faultCommon,
    /**
     * SIGTERM to the run's private dockerd, `downMs` of outage, then start it again. With
     * live-restore off the daemon stops every container first (DOCKER-NOTES).
     */
    params: z.strictObject({ downMs: duration.default(2000) }).default({ downMs: 2000 }),
  }),
  z.strictObject({
    kind: z.literal('daemon-kill'),
    ...faultCommon,
    /** SIGKILL to the private dockerd (containers survive until it restarts), `downMs`, then start it. */
    params: z.strictObject({ downMs: duration.default(2000) }).default({ downMs: 2000 }),
  }),
  z.strictObject({
    kind: z.literal('daemon-restart'),
    ...faultCommon,
    /** Stop and start the private dockerd at once. */
    params: z.strictObject({}).default({}),
  }),
  z.strictObject({
    kind: z.literal('sut-kill'),
    ...faultCommon,
    /**
     * A signal to the system under test's whole process group (`sut:`, docs/sut.md), then
     * its `resume` command after `resumeAfterMs` (when the scenario gives one and `resume`
     * is true). `target` is ignored: the SUT is the target.
     */
    params: z
      .strictObject({
        signal: signalName.default('SIGKILL'),
        resume: z.boolean().default(true),
        resumeAfterMs: duration.default(0),
      })
      .default({ signal: 'SIGKILL', resume: true, resumeAfterMs: 0 }),
  }),
]);
export type FaultSpec = z.infer<typeof faultSchema>;
export type FaultKind = FaultSpec['kind'];
export const FAULT_KINDS: readonly FaultKind[] = [
  'kill',
  'stop',
  'restart',
  'pause',
  'netem',
  'partition',
  'fill-disk',
  'daemon-stop',
  'daemon-kill',
  'daemon-restart',
  'sut-kill',
];
/** Faults that act on the daemon itself rather than on containers. */
export const DAEMON_FAULT_KINDS: readonly FaultKind[] = ['daemon-stop', 'daemon-kill', 'daemon-restart'];

/** `host` shares the host's network stack: refused unless `dangerouslyAllow.hostNetwork` (docs/security.md). */
export const networkModeSchema = z.enum(['none', 'internal', 'bridge', 'host']);
export type NetworkMode = z.infer<typeof networkModeSchema>;

/** Expectations the checks hold the run to. */
export const expectSchema = z.strictObject({
  /** Every task ends completed. */
  allCompleted: z.boolean().default(true),
  /** No task completes on more than one attempt. */
  exactlyOnce: z.boolean().default(true),
  /** A task killed by a fault exits 137 and completes on a later attempt. */
  killedAttemptsRecover: z.boolean().default(true),
  /** A task hit by a stop, pause, netem or fill-disk fault completes all the same. */
  disruptedTasksRecover: z.boolean().default(true),
  /** Nothing with the run label remains after cleanup. */
  noLeaks: z.boolean().default(true),
  /**
   * Tasks that must fail, with the outcome or reason their last attempt must show
   * (`oom`, `disk_full`, `hung`, …). They are left out of `allCompleted`.
   */
  failedTasks: z.record(taskId, z.string().min(1)).default({}),
  /** attempts-within-bound: no task used more attempts than this. Unset: `retry.maxAttempts`. */
  maxAttempts: z.number().int().positive().max(100).optional(),
  /**
   * recovery-time: each fault that hit an attempt which was then retried is followed, within
   * this many ms, by the replacement attempt's container running (its hit container's `die`
   * event → the replacement's `start` event, Docker's own clock). Unset: the check does not run.
   */
  recoveryTimeMs: duration.optional(),
  /**
   * resource-stability: bounds on the controller over the run, from the monitor's samples.
   * `rssGrowthBytes`: RSS of its last sample minus its first; `eventBacklog`: the most events
   * emitted but not yet handed to events.jsonl's file stream in any sample. Unset: no check.
   */
  resourceStability: z
    .strictObject({
      rssGrowthBytes: byteSize.optional(),
      eventBacklog: z.number().int().nonnegative().optional(),
    })
    .optional(),
  /** workspace-compliance: each completed task that declares `writes` changed only those paths. */
  workspaceCompliance: z.boolean().default(true),
  /** lock-exclusion: no two conflicting attempts (by their tasks' `locks`) ran at once. */
  lockExclusion: z.boolean().default(true),
  /**
   * network-isolation, probed from inside: with `network: none` or `internal`, a helper
   * container of keelhaul's image joins each attempt's network namespace while it runs to
   * list its interfaces and try a TCP connection to a listener on every host address (nothing
   * runs in the worker's image). Off: only the worker's own interface report is judged.
   */
  isolationProbe: z.boolean().default(true),
});

/** A path: absolute, or relative to the scenario file (`schema`, `cwd`) or to the SUT's state directory (`ledger.file`, `logs[].file`). */
const pathText = z
  .string()
  .min(1)
  .refine((p) => !p.includes('\0'), 'expected a path without NUL');

/**
 * The system under test (docs/sut.md): a team's own orchestrator that keelhaul starts, whose
 * containers it discovers by `selector`, injects faults into, and judges. Strings in
 * `command`, `resume`, `env`, `selector` and `cwd` may use `${VAR}` / `${VAR:-default}` from
 * keelhaul's environment, plus `KEELHAUL_RUN_ID`, `KEELHAUL_RUN_DIR`, `KEELHAUL_STATE_DIR` and
 * `KEELHAUL_IMAGE` (the scenario's `image`, expanded).
 */
export const sutSchema = z.strictObject({
  /** argv of the SUT; no shell unless `shell: true` (then `command` is one script for `/bin/sh -c`). */
  command: z.array(z.string().min(1)).min(1),
  /** argv that resumes it after a `sut-kill`, or after an unexpected exit when `resumeOnFailure`. */
  resume: z.array(z.string().min(1)).min(1).optional(),
  shell: z.boolean().default(false),
  /** Working directory, relative to the scenario file. @default the scenario file's directory */
  cwd: pathText.optional(),
  /** Environment for the SUT, beside keelhaul's own (`PATH`, `HOME` …) and `KEELHAUL_*`, `DOCKER_HOST`. */
  env: envSchema,
  /** The exit code of its last run (after every resume) that counts as success. */
  expectExit: z.number().int().min(0).max(255).default(0),
  /** Bound on each run of the command, ms; past it the process group is killed and the run fails. */
  timeoutMs: duration.refine((ms) => ms > 0, 'expected a positive duration').default(300_000),
  /** An exit other than `expectExit` (e.g. the daemon went away) is followed by `resume`, once the daemon answers again. */
  resumeOnFailure: z.boolean().default(true),
  /** Resumes at most (after sut-kill faults and failures together). */
  maxResumes: z.number().int().nonnegative().max(50).default(5),
  /**
   * Labels the SUT puts on every container, network and volume it creates (`{key: value}`;
   * value `*`: any value). The discovery, the fault targets and the cleanup check use them.
   */
  selector: z.record(z.string().min(1), z.string()).refine((labels) => Object.keys(labels).length > 0, 'expected at least one label'),
  /** The label whose value names the task a container works on (timeline per task, recovery, `on.task`). */
  taskLabel: z.string().min(1).optional(),
  /** Labels every SUT container must carry (sut-labels check). */
  requiredLabels: z.array(z.string().min(1)).default([]),
  /**
   * Images the SUT's containers run (`{version}` expands), copied from the daemon DOCKER_HOST
   * names to the private daemon with `daemon: { mode: private }` (save → load, no registry)
   * before the SUT starts; each must exist there. Ignored on an external daemon, which has them.
   */
  images: z.array(z.string().min(1)).optional(),
  /** Hardening every SUT container must show (sut-hardening check); unset: no check. */
  hardening: z
    .strictObject({
      nonRoot: z.boolean().default(false),
      capDropAll: z.boolean().default(false),
      readOnlyRootfs: z.boolean().default(false),
      noNewPrivileges: z.boolean().default(false),
      /** `HostConfig.NetworkMode` every container must have, e.g. `none`. */
      networkMode: z.string().min(1).optional(),
      noDockerSocket: z.boolean().default(true),
      memoryLimit: z.boolean().default(false),
      pidsLimit: z.boolean().default(false),
    })
    .optional(),
  /** After the SUT's last exit, how long its containers, networks and volumes may take to go (sut-cleanup), ms. */
  cleanupGraceMs: duration.default(5000),
  /**
   * Its own record of completed work (sut-exactly-once): a JSONL `file` (relative to the
   * state directory), `key` the field naming the unit of work; `expectKeys` every key that
   * must be there, or `expectCount` how many distinct keys.
   */
  ledger: z
    .strictObject({
      file: pathText,
      key: z.string().min(1).default('task_id'),
      expectKeys: z.array(z.string().min(1)).optional(),
      expectCount: z.number().int().nonnegative().optional(),
    })
    .optional(),
  /** Its JSONL logs (relative to the state directory), each line validated against a JSON Schema file (relative to the scenario file). */
  logs: z.array(z.strictObject({ file: pathText, schema: pathText })).default([]),
  /** Files or directories (relative to the state directory) `keelhaul parity` compares by SHA-256. */
  outputs: z.array(pathText).default([]),
  /**
   * The SUT launches containers (sut-containers-seen). False for a mode that runs its workers
   * as processes, such as the local side of a parity pair.
   */
  expectContainers: z.boolean().default(true),
  /**
   * Two ways to run the same SUT for `keelhaul parity` (e.g. `local` and `docker`), by name:
   * each replaces `command` (and `resume`) and adds `env`; `expectContainers` per mode.
   */
  modes: z
    .record(
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$/, 'expected a mode name of letters, digits, _ . -'),
      z.strictObject({
        command: z.array(z.string().min(1)).min(1).optional(),
        resume: z.array(z.string().min(1)).min(1).optional(),
        env: envSchema,
        expectContainers: z.boolean().optional(),
      }),
    )
    .refine((modes) => Object.keys(modes).length === 2, 'expected exactly two modes, e.g. { local: {...}, docker: {...} }')
    .optional(),
  /** sut-recovery: every task whose container a fault hit had a later container of that task exit 0. */
  expectRecovery: z.boolean().default(true),
  /** recovery time bound: fault → the next container of the same task running, ms; unset: measured, not judged. */
  recoveryTimeMs: duration.optional(),
});
export type SutSpec = z.infer<typeof sutSchema>;

/**
 * What `on` triggers count in a scenario with a `sut`: its containers' Docker events
 * (`on.task` matches the container's `taskLabel` value) and its output lines
 * (`sut.output`, with `on.pattern`).
 */
export const SUT_EVENT_TYPES = ['sut.container.create', 'sut.container.start', 'sut.container.die', 'sut.container.destroy', 'sut.output'] as const;

export const scenarioSchema = z.strictObject({
  /** A name for reports and the `dev.keelhaul.scenario` label. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a name of letters, digits, _ . -'),
  description: z.string().optional(),
  /** Unsigned 32-bit seed; `--seed` overrides it; drawn at random (and printed) when absent. */
  seed: z.number().int().min(0).max(0xffff_ffff).optional(),
  /** Worker image; `{version}` expands to keelhaul's version. */
  image: z.string().min(1).default('keelhaul/worker:{version}'),
  /**
   * When the worker image and the topology's images are pulled from their registry (with
   * config.json's `auths`): `missing` (absent from the daemon), `always`, `never`.
   * keelhaul's own worker image is built (`keelhaul images build`), never pulled.
   */
  pull: z.enum(['missing', 'always', 'never']).default('missing'),
  network: networkModeSchema.default('none'),
  /**
   * How workers run: `docker`, a container per attempt; `local`, a process per attempt
   * (the same worker, for parity suites; docs/parity.md says which faults and settings
   * apply). `--backend` overrides it.
   */
  backend: z.enum(['docker', 'local']).default('docker'),
  /**
   * The local backend's worker: `command` (argv) runs your own worker as a process, with the
   * same environment contract as its container (`KEELHAUL_TASK`, `KEELHAUL_WORKSPACE`, …; the
   * working directory is the task's workspace), so `keelhaul parity` compares your worker as a
   * container and as a process. A program with a `/` is relative to keelhaul's working
   * directory. Unset: keelhaul's reference worker.
   */
  local: z.strictObject({ command: z.array(z.string().min(1)).min(1) }).optional(),
  concurrency: z.number().int().positive().max(256).default(2),
  /** Interval of worker heartbeats, ms (passed to the worker in the task). */
  heartbeatMs: duration.refine((ms) => ms >= 10, 'expected at least 10 ms').default(1000),
  /**
   * An attempt silent (no event) for this long is declared hung: killed and retried. Unset:
   * no heartbeat watch. Must exceed heartbeatMs.
   */
  heartbeatTimeoutMs: duration.optional(),
  /** The whole run's bound, ms: past it, attempts are killed and the run fails. */
  timeoutMs: duration.refine((ms) => ms > 0, 'expected a positive duration').default(600_000),
  /**
   * The workspace volume of each task. `size` makes it a size-limited tmpfs (writes past it
   * fail with ENOSPC); `onDiskFull` decides whether a disk-full attempt is retried on a
   * fresh, empty volume or fails the task.
   */
  workspace: z
    .strictObject({
      size: byteSize.optional(),
      onDiskFull: z.enum(['retry', 'fail']).default('retry'),
    })
    .default({ onDiskFull: 'retry' }),
  retry: z
    .strictObject({
      maxAttempts: z.number().int().positive().max(100).default(3),
      /** Delay before the 2nd attempt, ms; later ones grow by `factor`. */
      backoffMs: duration.default(200),
      factor: z.number().min(1).default(2),
      maxBackoffMs: duration.default(10_000),
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
   * Which daemon runs the workers. `external`: the one DOCKER_HOST (or the default socket)
   * names. `private`: a dockerd keelhaul starts for this run (own socket, data-root, bridge;
   * needs root), builds the worker image on, and removes afterwards — the only kind daemon
   * faults may stop or kill. `outageLimitMs`: how long the controller waits for a daemon
   * that stopped answering before it gives up (state saved, resumable).
   */
  daemon: z
    .strictObject({
      mode: z.enum(['external', 'private']).default('external'),
      liveRestore: z.boolean().default(false),
      outageLimitMs: duration.default(60_000),
    })
    .default({ mode: 'external', liveRestore: false, outageLimitMs: 60_000 }),
  /** Resource sampling of the controller, dockerd and the attempt containers (samples.jsonl). */
  monitor: z
    .strictObject({
      intervalMs: duration.refine((ms) => ms >= 100, 'expected at least 100 ms').default(1000),
      /** An alert (event monitor.alert) when a process's RSS grows this much over its first sample. */
      rssGrowthBytes: byteSize.default(256 * 1024 * 1024),
    })
    .default({ intervalMs: 1000, rssGrowthBytes: 256 * 1024 * 1024 }),
  /**
   * A detached reaper removes the run's resources when the controller dies and nobody
   * resumes the run within `ttlMs`.
   */
  reaper: z
    .strictObject({
      enabled: z.boolean().default(true),
      ttlMs: duration.refine((ms) => ms >= 1000, 'expected at least 1000 ms').default(60_000),
    })
    .default({ enabled: true, ttlMs: 60_000 }),
  /** Environment variables for every worker; secret-looking names are redacted everywhere keelhaul writes (docs/security.md). */
  env: envSchema,
  /** Which env names are secrets (patterns with `*`, case-insensitive). */
  redact: redactSchema,
  /** `HostConfig.Privileged`: refused unless `dangerouslyAllow.privileged`. */
  privileged: z.boolean().default(false),
  /** Host paths bind-mounted into every worker (read-only by default); the Docker socket needs `dangerouslyAllow.dockerSocket`. */
  mounts: z.array(bindMountSchema).default([]),
  /** The explicit opt-in for what breaks a worker's isolation; a run using it is reported UNHARDENED. */
  dangerouslyAllow: dangerouslyAllowSchema,
  /**
   * A Compose file launched for the run beside the workers (docs/compose.md): `file`, relative
   * to the scenario file; `workerNetwork`: the Compose network the worker attempts join
   * instead of a per-run one (needs `network: internal`; default: the file's only network
   * when it declares exactly one and `network` is internal).
   */
  topology: z
    .union([z.string().min(1), z.strictObject({ file: z.string().min(1), workerNetwork: z.string().min(1).optional() })])
    .transform((t) => (typeof t === 'string' ? { file: t } : t))
    .optional(),
  /** keelhaul's own tasks; optional when a `sut` runs the work. */
  tasks: tasksSchema.optional(),
  /** A system under test: the team's own orchestrator, started and judged by keelhaul (docs/sut.md). */
  sut: sutSchema.optional(),
  faults: z.array(faultSchema).default([]),
  /**
   * Limits on the agent usage workers report (docs/worker-contract.md, `usage`); the
   * `budget` check fails the run past any of them. Absent: no limit (the check passes and
   * says so).
   */
  budget: z
    .strictObject({
      /** Tokens (in + out) of every attempt of the run. */
      tokens: z.number().int().nonnegative().optional(),
      /** US dollars of every attempt of the run. */
      costUsd: z.number().nonnegative().optional(),
      /** US dollars of attempts that did not complete (killed, failed, hung, oom, lost). */
      wastedCostUsd: z.number().nonnegative().optional(),
    })
    .optional(),
  expect: expectSchema.default({
    allCompleted: true,
    exactlyOnce: true,
    killedAttemptsRecover: true,
    disruptedTasksRecover: true,
    noLeaks: true,
    failedTasks: {},
    workspaceCompliance: true,
    lockExclusion: true,
    isolationProbe: true,
  }),
});

/** A scenario as written (before defaults). */
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** A validated scenario with every default applied and `tasks` expanded to a list. */
export type Scenario = Omit<z.output<typeof scenarioSchema>, 'tasks'> & { readonly tasks: readonly TaskSpec[] };
