/**
 * The events a worker writes to stdout, one JSON object per line, and the parser the
 * controller runs over each line as the stream arrives.
 *
 * Fields the reference worker always sends but a user's own worker need not (a Python
 * worker has no `node` version) are optional here; the parser checks their types when
 * they are present. Required per type: the common fields, `fraction` on `task.progress`,
 * `reason` on `task.failed`.
 *
 * This file is copied into the worker image on its own, so it imports nothing at all.
 */

/** Fields every event carries. */
export interface WorkerEventBase {
  /** When the worker emitted the event: ISO 8601, UTC (`2025-01-31T12:00:00.000Z`). */
  ts: string;
  /** The event type, e.g. `task.started`. */
  type: string;
  /** The run id (`KEELHAUL_RUN_ID`). */
  run: string;
  /** The task id (`KEELHAUL_TASK_ID`). */
  task: string;
  /** The attempt number (`KEELHAUL_ATTEMPT`), an integer ≥ 1. */
  attempt: number;
  /**
   * Per-attempt sequence number, 1, 2, 3, … in emission order. The reference worker always
   * sends it; optional for other workers (when present: an integer ≥ 1).
   */
  seq?: number;
}

/** A network interface as the worker sees it. `--network none` leaves only `lo`. */
export interface WorkerInterface {
  /** Interface name, e.g. `lo`, `eth0`. */
  name: string;
  /** Its IPv4 and IPv6 addresses, e.g. `127.0.0.1`, `::1`. */
  addresses: string[];
}

/** The worker has read a valid task and is about to run its steps. */
export interface TaskStartedEvent extends WorkerEventBase {
  type: 'task.started';
  /** Network interfaces visible to the worker (from `os.networkInterfaces()`), by name. */
  interfaces?: WorkerInterface[];
  /** The worker's process id (1 when it is a container's init process). */
  pid?: number;
  /** The worker's user id; `null` where there is none (Windows). */
  uid?: number | null;
  /** The Node.js version, e.g. `v20.19.0`. */
  node?: string;
  /** The absolute workspace path the worker writes under. */
  workspace?: string;
  /** How many steps the task has. */
  steps?: number;
}

/**
 * Agent usage for the work done since the worker's previous report (not a running total):
 * the controller sums the reports per attempt, task and run. Optional on `task.progress`,
 * `task.completed` and `task.failed`.
 */
export interface WorkerUsage {
  /** Prompt tokens, an integer ≥ 0. */
  tokensIn: number;
  /** Completion tokens, an integer ≥ 0. */
  tokensOut: number;
  /** US dollars, ≥ 0. */
  costUsd: number;
}

/** A `progress` step ran. */
export interface TaskProgressEvent extends WorkerEventBase {
  type: 'task.progress';
  /** Usage since the previous report. */
  usage?: WorkerUsage;
  /** Fraction done, 0 … 1. Required. */
  fraction: number;
  /** Index of the progress step, 0-based. */
  step?: number;
  /** How many steps the task has. */
  steps?: number;
}

/** The worker is alive; sent every `heartbeatMs` until the worker ends. */
export interface HeartbeatEvent extends WorkerEventBase {
  type: 'heartbeat';
  /** Milliseconds since the worker process started. */
  uptimeMs?: number;
}

/** A file the task wrote, as it was when the task completed. */
export interface WrittenFile {
  /** Workspace-relative, `/`-separated, normalised (`a/b.txt`). */
  path: string;
  /** Size in bytes. */
  bytes: number;
  /** SHA-256 of the content, lowercase hex. */
  sha256: string;
}

/** Terminal: every step ran. With exit code 0 this is a success. */
export interface TaskCompletedEvent extends WorkerEventBase {
  type: 'task.completed';
  /** Usage since the previous report. */
  usage?: WorkerUsage;
  /** Milliseconds from `task.started` to completion. */
  durationMs?: number;
  /** The files written, one entry per path (the last write of a path wins). */
  files?: WrittenFile[];
}

/**
 * Why a task failed. The reference worker uses these, plus a `fail` step's own reason;
 * other workers may send any non-empty string.
 *
 * - `disk_full`: a write hit ENOSPC (errno −28).
 * - `invalid_task`: the environment or the task JSON is not valid (exit code 2).
 * - `terminated`: SIGTERM arrived (exit code 143).
 * - `step_failed`: any other error while running a step.
 */
export type KnownFailureReason = 'disk_full' | 'invalid_task' | 'terminated' | 'step_failed';

/** Terminal: the task did not complete. Followed by a non-zero exit. */
export interface TaskFailedEvent extends WorkerEventBase {
  type: 'task.failed';
  /** Usage since the previous report. */
  usage?: WorkerUsage;
  /** Machine-readable reason; see {@link KnownFailureReason}. Required, non-empty. */
  reason: KnownFailureReason | (string & {});
  /** Human-readable detail. */
  message?: string;
  /** The errno code behind the failure, when there was one (`ENOSPC`, `EACCES`, …). */
  code?: string;
}

/** The event types this contract defines. */
export type KnownWorkerEvent = TaskStartedEvent | TaskProgressEvent | HeartbeatEvent | TaskCompletedEvent | TaskFailedEvent;

/** A known event's `type`. */
export type KnownWorkerEventType = KnownWorkerEvent['type'];

/** The known event types. */
export const KNOWN_WORKER_EVENT_TYPES: readonly KnownWorkerEventType[] = ['task.started', 'task.progress', 'heartbeat', 'task.completed', 'task.failed'];

/**
 * An event of a type this contract does not define: user workers may add their own
 * (`agent.tool_call`, …). Only the common fields are checked; the rest is kept as sent.
 */
export interface CustomWorkerEvent extends WorkerEventBase {
  [field: string]: unknown;
}

/**
 * Any event a worker may send. TypeScript cannot narrow a union that has a `type: string`
 * member by comparing `type`, so narrow with {@link isKnownWorkerEvent} first:
 *
 * ```ts
 * if (isKnownWorkerEvent(e) && e.type === 'task.failed') console.log(e.reason);
 * ```
 */
export type WorkerEvent = KnownWorkerEvent | CustomWorkerEvent;

/** True when the event's type is one this contract defines (the parser checked its fields). */
export function isKnownWorkerEvent(event: WorkerEvent): event is KnownWorkerEvent {
  return (KNOWN_WORKER_EVENT_TYPES as readonly string[]).includes(event.type);
}

/** True for `task.completed` and `task.failed`, after which a worker exits. */
export function isTerminalWorkerEvent(event: WorkerEvent): event is TaskCompletedEvent | TaskFailedEvent {
  return event.type === 'task.completed' || event.type === 'task.failed';
}

/** The result of {@link parseWorkerEventLine}: an event, or why the line is not one. */
export type ParsedWorkerEventLine = { ok: true; event: WorkerEvent } | { ok: false; error: string };

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isInt = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** True for a {@link WorkerUsage}: non-negative integer token counts and a non-negative cost. */
export function isWorkerUsage(v: unknown): v is WorkerUsage {
  return isObj(v) && isInt(v['tokensIn'], 0) && isInt(v['tokensOut'], 0) && isNum(v['costUsd']) && v['costUsd'] >= 0;
}

/** Returns why the known event's own fields are wrong, or undefined when they are fine. */
function checkKnownFields(e: Obj): string | undefined {
  const optional = (field: string, ok: (v: unknown) => boolean, expected: string): string | undefined =>
    e[field] === undefined || ok(e[field]) ? undefined : `\`${field}\` must be ${expected}`;
  const usage = optional('usage', isWorkerUsage, 'an object {tokensIn: integer ≥ 0, tokensOut: integer ≥ 0, costUsd: number ≥ 0}');
  if (usage !== undefined && e['type'] !== undefined && ['task.progress', 'task.completed', 'task.failed'].includes(e['type'] as string)) {
    return usage;
  }
  switch (e['type']) {
    case 'task.started':
      return (
        optional(
          'interfaces',
          (v) =>
            Array.isArray(v) && v.every((i) => isObj(i) && typeof i['name'] === 'string' && Array.isArray(i['addresses']) && i['addresses'].every((a) => typeof a === 'string')),
          'an array of {name: string, addresses: string[]}',
        ) ??
        optional('pid', (v) => isInt(v, 0), 'an integer ≥ 0') ??
        optional('uid', (v) => v === null || isInt(v, 0), 'an integer ≥ 0 or null') ??
        optional('node', (v) => typeof v === 'string', 'a string') ??
        optional('workspace', (v) => typeof v === 'string', 'a string') ??
        optional('steps', (v) => isInt(v, 0), 'an integer ≥ 0')
      );
    case 'task.progress':
      if (!isNum(e['fraction']) || e['fraction'] < 0 || e['fraction'] > 1) {
        return '`fraction` must be a number from 0 to 1';
      }
      return optional('step', (v) => isInt(v, 0), 'an integer ≥ 0') ?? optional('steps', (v) => isInt(v, 0), 'an integer ≥ 0');
    case 'heartbeat':
      return optional('uptimeMs', (v) => isNum(v) && v >= 0, 'a number ≥ 0');
    case 'task.completed':
      return (
        optional('durationMs', (v) => isNum(v) && v >= 0, 'a number ≥ 0') ??
        optional(
          'files',
          (v) => Array.isArray(v) && v.every((f) => isObj(f) && typeof f['path'] === 'string' && isInt(f['bytes'], 0) && typeof f['sha256'] === 'string'),
          'an array of {path: string, bytes: integer, sha256: string}',
        )
      );
    case 'task.failed':
      if (!isNonEmptyString(e['reason'])) return '`reason` must be a non-empty string';
      return optional('message', (v) => typeof v === 'string', 'a string') ?? optional('code', (v) => typeof v === 'string', 'a string');
    default:
      return undefined;
  }
}

/**
 * Parses one line of worker stdout. Never throws, whatever the input.
 *
 * Accepts a JSON object (surrounding whitespace and a trailing `\r` are fine) with `ts`
 * (non-empty string), `type` (non-empty string), `run` and `task` (non-empty strings),
 * `attempt` (integer ≥ 1) and, when present, `seq` (integer ≥ 1). Known types also have
 * their own fields checked; unknown types come back as a {@link CustomWorkerEvent}.
 * The event is the parsed object itself, extra fields included.
 *
 * @returns `{ ok: true, event }`, or `{ ok: false, error }` saying what is wrong — the
 *   controller keeps such a line in the attempt's log and otherwise ignores it.
 */
export function parseWorkerEventLine(line: string): ParsedWorkerEventLine {
  try {
    if (typeof line !== 'string') return { ok: false, error: 'not a string' };
    const text = line.trim();
    if (text === '') return { ok: false, error: 'empty line' };
    // Cheap pre-check so that ordinary log lines do not pay for a JSON.parse exception.
    if (!text.startsWith('{')) return { ok: false, error: 'not a JSON object' };
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { ok: false, error: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (!isObj(value)) return { ok: false, error: 'not a JSON object' };
    if (!isNonEmptyString(value['ts'])) return { ok: false, error: '`ts` must be a non-empty string' };
    if (!isNonEmptyString(value['type'])) return { ok: false, error: '`type` must be a non-empty string' };
    if (!isNonEmptyString(value['run'])) return { ok: false, error: '`run` must be a non-empty string' };
    if (!isNonEmptyString(value['task'])) return { ok: false, error: '`task` must be a non-empty string' };
    if (!isInt(value['attempt'], 1)) return { ok: false, error: '`attempt` must be an integer ≥ 1' };
    if (value['seq'] !== undefined && !isInt(value['seq'], 1)) {
      return { ok: false, error: '`seq` must be an integer ≥ 1 when present' };
    }
    const wrong = checkKnownFields(value);
    if (wrong !== undefined) return { ok: false, error: `${value['type']}: ${wrong}` };
    return { ok: true, event: value as unknown as WorkerEvent };
  } catch (err) {
    // Nothing above should throw; this is the promise to the controller's stream loop.
    let detail = 'unknown error';
    try {
      detail = err instanceof Error ? err.message : String(err);
    } catch {
      // an exotic thrown value whose toString throws: keep the generic detail
    }
    return { ok: false, error: `unparsable: ${detail}` };
  }
}
