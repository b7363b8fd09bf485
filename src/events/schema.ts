/**
 * The run-event schema, defined once: every line of a run's `events.jsonl` and every event
 * the terminal renders is one {@link RunEvent}. The TypeScript types are inferred from these
 * zod schemas, and docs/events.schema.json is generated from them (`npm run schema`,
 * {@link eventsJsonSchema}; a unit test fails when the committed file is out of date).
 *
 * Units: every `…Ms` field is milliseconds, every `…Bytes` field bytes; `ts` and the other
 * times are ISO 8601 (UTC as the controller writes them).
 *
 * To add an event type: add a branch below (`event('x.y', {...})`), add it to
 * {@link runEventSchema}'s list, run `npm run schema`.
 */
import { z } from 'zod';
import type { WorkerEvent } from '../worker/events.js';

// Schemas with an `id` become `$defs` (and `$ref`s to them) in the generated JSON Schema.

const timestamp = z.iso.datetime({ offset: true }).meta({ id: 'timestamp', description: 'ISO 8601, UTC, e.g. 2026-11-22T02:17:45.930Z.' });
const runId = z.string().min(1).meta({ id: 'runId' });
const attemptNumber = z.int().min(1).meta({ id: 'attemptNumber' });
const count = (): z.ZodInt => z.int().min(0);
const ms = (): z.ZodNumber => z.number().min(0);

/** How an attempt ended. */
export const attemptOutcomeSchema = z.enum(['completed', 'failed', 'killed', 'oom', 'hung', 'lost']).meta({ id: 'attemptOutcome' });

/** One container a fault acted on (or, for `fault.undone`, was undone on). */
export const faultTargetSchema = z
  .strictObject({
    containerId: z.string(),
    task: z.string().optional(),
    attempt: z.int().min(1).optional(),
    service: z.string().optional().meta({ description: 'The Compose topology service, for a service container (docs/compose.md); such a target is no attempt.' }),
    actedAt: z.iso.datetime({ offset: true }).optional().meta({
      description: "When the action on this target returned (the kill delivered); later than the record's firedAt by the wait for a target and the write-ahead save.",
    }),
  })
  .meta({ id: 'faultTarget' });

/**
 * What happened when a fault fired, as recorded in events (the injector's `FaultRecord`,
 * src/chaos/injector.ts, must stay assignable to it: src/controller/events.ts checks).
 * `kind` is an open string so that a new fault kind does not break readers of old files.
 */
export const faultRecordSchema = z
  .strictObject({
    faultId: z.string().meta({ description: 'The name from the scenario, else f<index+1>; a repeating trigger adds #<firing> from the 2nd firing on.' }),
    kind: z.string().min(1).meta({ description: 'The fault kind, e.g. kill; open so that a new kind does not break readers of old schemas.' }),
    trigger: z.string(),
    firing: z.int().min(1).meta({ description: '1-based firing of this fault (an every trigger fires several times).' }),
    firedAt: timestamp,
    offsetMs: ms(),
    targets: z.array(faultTargetSchema).readonly(),
    params: z.record(z.string(), z.unknown()).readonly(),
    status: z.enum(['injected', 'no-target', 'failed', 'skipped']),
    error: z.string().optional(),
    undoneAt: timestamp.optional().meta({ description: 'When a fault with a duration was undone (unpaused, netem removed).' }),
  })
  .meta({ id: 'faultRecord', description: 'What happened when a fault fired (FaultRecord in src/chaos/injector.ts).' });

/** The JSON shape of a worker event (see {@link workerEventSchema}). */
const workerEventShape = z
  .looseObject({
    ts: z.string().min(1),
    type: z.string().min(1),
    run: z.string().min(1),
    task: z.string().min(1),
    attempt: attemptNumber,
    seq: z.int().min(1).optional(),
  })
  .superRefine((event, ctx) => {
    if (event.type === 'task.progress') {
      const fraction = event['fraction'];
      if (typeof fraction !== 'number' || fraction < 0 || fraction > 1)
        ctx.addIssue({ code: 'custom', path: ['fraction'], message: 'task.progress needs `fraction`, a number from 0 to 1' });
    }
    if (event.type === 'task.failed') {
      const reason = event['reason'];
      if (typeof reason !== 'string' || reason === '') ctx.addIssue({ code: 'custom', path: ['reason'], message: 'task.failed needs `reason`, a non-empty string' });
    }
  })
  // The same two rules for the JSON Schema, which cannot be derived from a refinement.
  .meta({
    allOf: [
      { if: { properties: { type: { const: 'task.progress' } } }, then: { required: ['fraction'], properties: { fraction: { type: 'number', minimum: 0, maximum: 1 } } } },
      { if: { properties: { type: { const: 'task.failed' } } }, then: { required: ['reason'], properties: { reason: { type: 'string', minLength: 1 } } } },
    ],
  });

/**
 * A worker event (src/worker/events.ts) inside a `worker.event`: open, since a user's worker
 * may add event types and fields; the common fields and the known types' own required
 * fields (`fraction` of `task.progress`, `reason` of `task.failed`) are checked. Its
 * TypeScript type is the worker contract's {@link WorkerEvent} (the known types' other
 * fields are checked by the worker-line parser, src/worker/events.ts, not here).
 */
export const workerEventSchema = workerEventShape
  // Typed as the worker contract's union; the value passes through unchanged.
  .transform((event): WorkerEvent => event)
  .meta({
    id: 'workerEvent',
    description: "A worker event (WorkerEvent in src/worker/events.ts). Open: a user's worker may add event types and fields; the known types' own required fields are checked.",
  });

/** The fields every event has, first on every line. */
const envelope = { ts: timestamp, run: runId } as const;

/** One branch of the union: a closed object with `ts`, `run`, `type` and its own fields. */
function event<const T extends string, S extends z.ZodRawShape>(type: T, shape: S, description?: string) {
  const schema = z.strictObject({ ...envelope, type: z.literal(type), ...shape });
  return schema.meta(description === undefined ? { title: type } : { title: type, description });
}

const attemptFields = { task: z.string(), attempt: attemptNumber };

/**
 * Every run event, discriminated by `type`. The order is the order of the JSON Schema's
 * branches (new types go at the end, so the generated file changes least).
 */
export const runEventSchema = z.discriminatedUnion('type', [
  event('run.started', {
    scenario: z.string(),
    seed: z.int().min(0).max(4294967295),
    image: z.string(),
    network: z.string(),
    tasks: count(),
    concurrency: z.int().min(1),
    runDir: z.string(),
    sut: z.array(z.string()).optional().meta({ description: "A system under test's command (scenario `sut`, docs/sut.md): it runs the work, and `tasks` is 0." }),
  }),
  event(
    'run.resumed',
    { controllerPid: z.int().min(1), previousControllers: count() },
    'A new controller took the run over (keelhaul resume); previousControllers counts those before it.',
  ),
  event(
    'attempt.adopted',
    { ...attemptFields, containerId: z.string(), state: z.string().meta({ description: 'The container state found by the label query, e.g. running, exited.' }) },
    'On resume: an attempt container found on the daemon and re-attached.',
  ),
  event('attempt.lost', { ...attemptFields, reason: z.string() }, 'On resume: an attempt whose container is gone; the task is queued again.'),
  event(
    'attempt.launch-failed',
    { ...attemptFields, reason: z.string(), spendsAttempt: z.boolean() },
    "The attempt never ran: `reason` is `launch failed: ` and the daemon's error. `spendsAttempt` false: the daemon was going away (recorded `lost`, launched again without counting); true: the answering daemon refused it (recorded `failed`, counts against `retry.maxAttempts`).",
  ),
  event('reaper.started', { pid: z.int().min(1), ttlMs: ms() }, 'The detached per-run reaper is watching the controller.'),
  event('reaper.unavailable', { reason: z.string() }, 'The reaper could not be started; a crash of the controller would leave resources behind.'),
  event(
    'run.reaped',
    { containers: count(), networks: count(), volumes: count(), deadControllerPid: z.int().min(1) },
    'Appended by the reaper after the controller died: what it removed by the run label.',
  ),
  event('attempt.running', { ...attemptFields, containerId: z.string(), containerName: z.string() }),
  event('attempt.exited', {
    ...attemptFields,
    containerId: z.string(),
    exitCode: z.int(),
    oomKilled: z.boolean(),
    outcome: attemptOutcomeSchema,
    reason: z.string().optional(),
    durationMs: ms(),
  }),
  event(
    'attempt.retrying',
    { ...attemptFields, delayMs: ms(), previousOutcome: attemptOutcomeSchema },
    '`attempt` is the attempt about to start; `previousOutcome` how the one before it ended.',
  ),
  event('task.finished', { task: z.string(), outcome: z.enum(['completed', 'failed']), attempts: count() }),
  event('worker.event', { ...attemptFields, event: workerEventSchema }, 'An event a worker wrote on stdout (docs/worker-contract.md), as parsed.'),
  event(
    'worker.invalid-line',
    {
      ...attemptFields,
      lineNumber: z.int().min(1).optional().meta({ description: "The line's 1-based number in the attempt's stdout.log." }),
      line: z.string(),
      error: z.string(),
    },
    "A line of worker stdout that is not an event; kept in the attempt's stdout.log.",
  ),
  event(
    'worker.invalid-lines-suppressed',
    {
      ...attemptFields,
      lines: z.int().min(1).meta({ description: 'Lines without an event of their own.' }),
      total: z.int().min(1).meta({ description: 'All invalid lines of the attempt.' }),
    },
    "At an attempt's exit: how many stdout lines that are not events got no worker.invalid-line event of their own (only an attempt's first 100 do); every line is in the attempt's stdout.log.",
  ),
  event('fault.injected', { fault: faultRecordSchema }),
  event('fault.failed', { fault: faultRecordSchema }),
  event(
    'fault.skipped',
    { faultId: z.string(), kind: z.string(), trigger: z.string(), reason: z.string() },
    'A fault that never fired (its trigger did not match before the run ended).',
  ),
  event(
    'fault.undone',
    { faultId: z.string(), kind: z.string(), targets: z.array(faultTargetSchema).readonly() },
    'A fault with a duration was undone on its targets (unpaused, netem removed).',
  ),
  event('attempt.hung', { ...attemptFields, containerId: z.string(), silentMs: ms() }, 'An attempt gave no heartbeat for silentMs; it is killed and judged hung.'),
  event('cleanup.finished', {
    containers: count(),
    networks: count(),
    volumes: count(),
    errors: z.array(z.string()),
    removedBehind: z
      .strictObject({ containers: count(), volumes: count() })
      .optional()
      .meta({ description: 'Containers and workspace volumes of completed tasks the controller removed as each task finished, before this cleanup.' }),
  }),
  event('check.result', { name: z.string(), ok: z.boolean(), expected: z.string(), observed: z.string() }, "One invariant's result; the evidence is in report.json."),
  event('run.aborted', { reason: z.string() }),
  event('run.finished', { status: z.enum(['passed', 'failed']), durationMs: count(), reportPath: z.string() }),
  event(
    'attempt.reattached',
    { ...attemptFields, reason: z.string() },
    "The attempt's output stream ended while its container still ran (the daemon went away and came back): it is followed again.",
  ),
  event('daemon.down', { endpoint: z.string(), limitMs: ms() }, 'The daemon stopped answering; the controller waits for it up to limitMs.'),
  event('daemon.up', { endpoint: z.string(), downMs: ms() }, 'The daemon answers again after downMs.'),
  event(
    'fault.verified',
    {
      containerId: z.string(),
      network: z.string(),
      phase: z.enum(['cut', 'restored']),
      fromProbe: z.boolean(),
      fromTarget: z.boolean(),
      targetRunning: z.boolean(),
    },
    "What a partition's probe saw: whether the probe reached the target and the target the probe, at the cut and after the reconnect.",
  ),
  event(
    'docker.event',
    {
      time: timestamp,
      timeNano: z.string(),
      action: z.string(),
      containerId: z.string(),
      role: z.string().optional(),
      task: z.string().optional(),
      attempt: attemptNumber.optional(),
      exitCode: z.int().optional(),
      signal: z.string().optional(),
    },
    "The daemon's own event for one of the run's containers (die, oom, kill, pause, unpause, start, stop, restart), from GET /events.",
  ),
  event(
    'docker.events',
    { state: z.enum(['connected', 'disconnected', 'failed']), reason: z.string().optional() },
    'The state of the daemon event subscription: it reconnects with `since` after an outage.',
  ),
  event(
    'monitor.alert',
    {
      kind: z.literal('rss-growth'),
      name: z.string(),
      pid: z.int(),
      firstBytes: z.number(),
      rssBytes: z.number(),
      growthBytes: z.number(),
      limitBytes: z.number(),
      time: timestamp,
    },
    "A process's RSS grew past the bound over its first sample.",
  ),
  event(
    'topology.started',
    {
      file: z.string().meta({ description: 'The Compose file, absolute.' }),
      services: z.array(z.strictObject({ service: z.string(), containerId: z.string(), containerName: z.string(), imageId: z.string() })),
      networks: z.array(z.string()),
    },
    "The scenario's Compose topology is up (docs/compose.md): its service containers, started in depends_on order, and its networks (daemon names).",
  ),
  event(
    'network.guarded',
    { network: z.string(), bridge: z.string(), applied: z.boolean(), reason: z.string().optional() },
    "The guard on the run's internal network: host iptables rules (INPUT and FORWARD, REJECT, commented with the run's mark) that keep its workers off the host's services and off other networks. `applied: false` with `reason` when they could not be set (not root, a remote daemon).",
  ),
  event(
    'isolation.probed',
    {
      task: z.string(),
      attempt: z.int().min(1),
      containerId: z.string(),
      interfaces: z.array(z.string()),
      reached: z.array(z.string()),
      unreachable: z.array(z.string()),
      error: z.string().optional(),
    },
    "What the isolation probe saw from inside one attempt container's network namespace (a helper container of keelhaul's image joined to it, busybox sh/nc): every interface of the namespace, and the host addresses (`ip:port` of the host canary) it could and could not open a TCP connection to. `error` when the probe could not run (the container had exited, the helper could not start).",
  ),
  event(
    'sut.started',
    { phase: z.enum(['run', 'resume']), pid: z.int().min(1), argv: z.array(z.string()), stateDir: z.string() },
    'The system under test (scenario `sut`, docs/sut.md) was started: its command (`run`) or its resume command, as the leader of its own process group.',
  ),
  event(
    'sut.exited',
    {
      phase: z.enum(['run', 'resume']),
      pid: z.int().min(1),
      exitCode: z.int().optional().meta({ description: 'Absent when a signal ended it.' }),
      signal: z.string().optional().meta({ description: 'The signal that ended it, when one did.' }),
      killedBy: z.enum(['sut-kill', 'timeout', 'abort']).optional(),
      durationMs: ms(),
    },
    'One run of the SUT ended: its exit code, or the signal that ended it, and whether keelhaul sent that signal.',
  ),
  event(
    'sut.container',
    {
      action: z.string().meta({ description: 'The daemon event: create, start, die, oom, kill, pause, unpause, destroy.' }),
      time: timestamp,
      containerId: z.string(),
      name: z.string().optional(),
      task: z.string().optional().meta({ description: "The value of the scenario's `sut.taskLabel` on the container." }),
      exitCode: z.int().optional(),
    },
    "The daemon's event for a container of the SUT (one its `sut.selector` labels match), from GET /events: its container timeline.",
  ),
  event(
    'image.transferred',
    {
      image: z.string(),
      imageId: z.string(),
      from: z.string().meta({ description: 'The endpoint of the daemon the image came from (the one DOCKER_HOST names).' }),
      to: z.string().meta({ description: "The private daemon's endpoint." }),
      transferred: z.boolean().meta({ description: 'false: the private daemon already had this image id; nothing moved.' }),
      bytes: count().meta({ description: 'Bytes of the save tar streamed into the load; 0 when nothing moved.' }),
      durationMs: ms(),
    },
    "An image the run needs (the scenario's `image`, a topology service's, a `sut.images` entry) copied to the run's private daemon before the run started: `GET /images/{name}/get` on the outer daemon streamed into `POST /images/load` (docs/private-daemon.md).",
  ),
]);

/** How an attempt ended. */
export type AttemptOutcome = z.infer<typeof attemptOutcomeSchema>;

/** A container a fault acted on. */
export type EventFaultTarget = z.infer<typeof faultTargetSchema>;

/** A fault firing as recorded in `fault.injected` / `fault.failed`. */
export type EventFaultRecord = z.infer<typeof faultRecordSchema>;

/**
 * The run's one event shape: every line of events.jsonl and every line the terminal
 * renders is one of these, discriminated by `type`. `ts` is ISO 8601 (UTC); `run` the run
 * id; the other fields are documented in the schema above and in docs/events.schema.json.
 */
export type RunEvent = z.infer<typeof runEventSchema>;

/** A run event's `type`. */
export type RunEventType = RunEvent['type'];

/** A {@link RunEvent} before the log stamps `ts` and `run`. */
export type RunEventInput = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'ts' | 'run'> : never) : never;

/** Every event type, in the schema's order. */
export const RUN_EVENT_TYPES: readonly RunEventType[] = runEventSchema.options.map((o) => o.shape.type.value);
