/**
 * The task a worker runs: its types, a hand-written validator, and the seeded byte source
 * that defines what a `write: { bytes }` step puts in a file.
 *
 * This file is copied into the worker image on its own (with events.ts and main.ts), so it
 * imports node: builtins only — never an npm package, never anything else from src/.
 */

/** Heartbeat interval when a task does not set `heartbeatMs`, in milliseconds. */
export const DEFAULT_HEARTBEAT_MS = 1000;

/** The smallest `heartbeatMs` a task may ask for, in milliseconds. */
export const MIN_HEARTBEAT_MS = 10;

/**
 * The largest delay Node's timers honour, in milliseconds (2^31 − 1, about 24.8 days).
 * A larger `setTimeout` delay silently becomes 1 ms, so `sleep` and `heartbeatMs` are
 * capped here rather than turning a long sleep into none.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Write a file under the workspace.
 *
 * - `path`: relative to the workspace, `/`-separated; no absolute path, no `..` segment,
 *   no NUL byte, and it must name a file (not the workspace itself, no trailing `/`).
 *   Parent directories are created.
 * - `content`: written as UTF-8, as is.
 * - `bytes`: that many pseudo-random bytes from {@link createSeededBytes} seeded by
 *   (seed, task id, path) — not the attempt, so a retried attempt writes identical bytes.
 *
 * At most one of `content` and `bytes`; with neither, the file is written empty.
 */
export interface WriteStep {
  write: { path: string; content?: string; bytes?: number };
}

/** Sleep for this many milliseconds (0 … {@link MAX_TIMER_MS}). */
export interface SleepStep {
  sleep: number;
}

/** Report progress: a fraction from 0 to 1, emitted as a `task.progress` event. */
export interface ProgressStep {
  progress: number;
}

/** Fail on purpose: emit `task.failed` with this string as `reason` and exit 1. */
export interface FailStep {
  fail: string;
}

/**
 * Allocate this many bytes, fill them (so the pages are really committed, not just
 * reserved) and keep them referenced until the worker exits — a way to hit a memory limit.
 */
export interface AllocateStep {
  allocate: number;
}

/** Exit at once with this code (0–255) without a terminal event: a simulated crash. */
export interface ExitStep {
  exit: number;
}

/**
 * Flood the controller, to prove it streams rather than buffers:
 *
 * - `bytes`: write this many bytes of plain text to stdout, as lines of up to 1 KiB that are
 *   not events (the controller keeps them in the attempt's log and parses none of them);
 * - `events`: emit this many `task.output` events (`index` 1 … `events`), at most
 *   `perSecond` a second when that is set (unthrottled otherwise).
 *
 * At least one of `bytes` and `events`. Stdout back-pressure is honoured (a slow reader
 * slows the worker, nothing is dropped).
 */
export interface FloodStep {
  flood: { bytes?: number; events?: number; perSecond?: number };
}

/** One step of a task: an object with exactly one of the keys below. */
export type Step = WriteStep | SleepStep | ProgressStep | FailStep | AllocateStep | ExitStep | FloodStep;

/** The key that names a step's kind. */
export type StepKind = 'write' | 'sleep' | 'progress' | 'fail' | 'allocate' | 'exit' | 'flood';

/** The step kinds, in the order the contract documents them. */
export const STEP_KINDS: readonly StepKind[] = ['write', 'sleep', 'progress', 'fail', 'allocate', 'exit', 'flood'];

/**
 * The task a worker receives as JSON in `KEELHAUL_TASK`.
 *
 * Keys other than these are ignored by the validator (and dropped from its result), so a
 * controller may pass a larger task object and a user's own worker may read extra keys.
 */
export interface WorkerTask {
  /** The task id; the reference worker requires it to equal `KEELHAUL_TASK_ID`. */
  id: string;
  /** The steps, run in order. May be empty (the task completes at once). */
  steps: Step[];
  /**
   * Interval between `heartbeat` events, in milliseconds ({@link MIN_HEARTBEAT_MS} …
   * {@link MAX_TIMER_MS}).
   * @default 1000
   */
  heartbeatMs?: number;
  /**
   * Paths (same rules as a write step's `path`) the task declares it writes, for the
   * harness's own bookkeeping and checks. The reference worker validates them and
   * otherwise does not act on them.
   */
  writes?: string[];
}

/**
 * A task (or its environment) is not valid. `field` names what is wrong as a path into
 * the task — `id`, `steps[2].write.path`, `heartbeatMs` — or `$` for the whole document
 * (not JSON, not an object). A caller branches on `field`, never on the message.
 */
export class InvalidTaskError extends Error {
  override name = 'InvalidTaskError';
  /** The wrong field, e.g. `steps[0].write.bytes`; `$` for the whole task. */
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.field = field;
  }
}

/** Renders a value for an error message: short, with its JSON type. */
function describe(value: unknown): string {
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  if (shown.length > 60) shown = `${shown.slice(0, 57)}...`;
  return `\`${shown}\` (${kind})`;
}

function fail(field: string, expected: string, value: unknown): never {
  throw new InvalidTaskError(field, `Expected \`${field}\` to be ${expected}, got ${describe(value)}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function has(obj: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

/**
 * Checks a workspace-relative path and returns it normalised (`a/./b//c` → `a/b/c`).
 * Backslashes count as separators for the `..` check so that a path meant for another
 * platform cannot climb out either.
 * @throws InvalidTaskError naming `field`.
 */
function checkRelativePath(field: string, value: unknown): string {
  const expected = 'a relative path inside the workspace (no leading `/`, no `..`, no NUL)';
  if (typeof value !== 'string' || value.length === 0) fail(field, expected, value);
  if (value.includes('\0')) fail(field, expected, value);
  if (value.startsWith('/') || value.startsWith('\\') || /^[A-Za-z]:/.test(value)) fail(field, expected, value);
  const segments = value.split(/[/\\]/);
  if (segments.includes('..')) fail(field, expected, value);
  if (value.endsWith('/')) fail(field, 'a file path (no trailing `/`)', value);
  const kept = value.split('/').filter((s) => s !== '' && s !== '.');
  if (kept.length === 0) fail(field, 'a file path, not the workspace itself', value);
  return kept.join('/');
}

function checkNumber(field: string, value: unknown, opts: { min: number; max: number; integer: boolean }): number {
  const expected = `${opts.integer ? 'an integer' : 'a number'} from ${opts.min} to ${opts.max}`;
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(field, expected, value);
  if (opts.integer && !Number.isInteger(value)) fail(field, expected, value);
  if (value < opts.min || value > opts.max) fail(field, expected, value);
  return value;
}

function validateStep(field: string, value: unknown): Step {
  const expected = `an object with exactly one of the keys ${STEP_KINDS.map((k) => `\`${k}\``).join(', ')}`;
  if (!isPlainObject(value)) fail(field, expected, value);
  const keys = Object.keys(value);
  if (keys.length !== 1) fail(field, expected, value);
  const kind = keys[0] as string;
  const arg = value[kind];
  const at = `${field}.${kind}`;
  switch (kind) {
    case 'write': {
      if (!isPlainObject(arg)) fail(at, 'an object `{ path, content? | bytes? }`', arg);
      for (const key of Object.keys(arg)) {
        if (key !== 'path' && key !== 'content' && key !== 'bytes') {
          fail(`${at}.${key}`, 'absent (a write step has only `path`, `content`, `bytes`)', arg[key]);
        }
      }
      const path = checkRelativePath(`${at}.path`, arg['path']);
      const write: WriteStep['write'] = { path };
      if (has(arg, 'content') && has(arg, 'bytes')) {
        fail(`${at}.bytes`, 'absent when `content` is given (one or the other)', arg['bytes']);
      }
      if (has(arg, 'content')) {
        if (typeof arg['content'] !== 'string') fail(`${at}.content`, 'a string', arg['content']);
        write.content = arg['content'];
      }
      if (has(arg, 'bytes')) {
        write.bytes = checkNumber(`${at}.bytes`, arg['bytes'], {
          min: 0,
          max: Number.MAX_SAFE_INTEGER,
          integer: true,
        });
      }
      return { write };
    }
    case 'sleep':
      return { sleep: checkNumber(at, arg, { min: 0, max: MAX_TIMER_MS, integer: false }) };
    case 'progress':
      return { progress: checkNumber(at, arg, { min: 0, max: 1, integer: false }) };
    case 'fail':
      if (typeof arg !== 'string' || arg.length === 0) fail(at, 'a non-empty reason string', arg);
      return { fail: arg };
    case 'allocate':
      return { allocate: checkNumber(at, arg, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }) };
    case 'exit':
      return { exit: checkNumber(at, arg, { min: 0, max: 255, integer: true }) };
    case 'flood': {
      if (!isPlainObject(arg)) fail(at, 'an object `{ bytes?, events?, perSecond? }`', arg);
      const flood: FloodStep['flood'] = {};
      for (const key of Object.keys(arg)) {
        if (key !== 'bytes' && key !== 'events' && key !== 'perSecond') {
          fail(`${at}.${key}`, 'absent (a flood step has only `bytes`, `events`, `perSecond`)', arg[key]);
        }
        flood[key] = checkNumber(`${at}.${key}`, arg[key], { min: key === 'perSecond' ? 1 : 0, max: Number.MAX_SAFE_INTEGER, integer: true });
      }
      if (flood.bytes === undefined && flood.events === undefined) fail(at, 'an object with `bytes` or `events`', arg);
      return { flood };
    }
    default:
      return fail(field, expected, value);
  }
}

/**
 * Validates an already-parsed task value (e.g. from a scenario file) and returns a clean
 * copy holding only the known keys, with write paths normalised (`./a//b` → `a/b`).
 * Defaults are not filled in: a missing `heartbeatMs` stays missing.
 *
 * @throws InvalidTaskError naming the first wrong field.
 */
export function validateWorkerTask(value: unknown): WorkerTask {
  if (!isPlainObject(value)) fail('$', 'a task object `{ id, steps, heartbeatMs?, writes? }`', value);
  if (typeof value['id'] !== 'string' || value['id'].length === 0) fail('id', 'a non-empty string', value['id']);
  const steps = value['steps'];
  if (!Array.isArray(steps)) fail('steps', 'an array of steps', steps);
  const task: WorkerTask = { id: value['id'], steps: steps.map((s, i) => validateStep(`steps[${i}]`, s)) };
  if (has(value, 'heartbeatMs') && value['heartbeatMs'] !== undefined) {
    task.heartbeatMs = checkNumber('heartbeatMs', value['heartbeatMs'], {
      min: MIN_HEARTBEAT_MS,
      max: MAX_TIMER_MS,
      integer: false,
    });
  }
  if (has(value, 'writes') && value['writes'] !== undefined) {
    const writes = value['writes'];
    if (!Array.isArray(writes)) fail('writes', 'an array of relative paths', writes);
    task.writes = writes.map((w, i) => checkRelativePath(`writes[${i}]`, w));
  }
  return task;
}

/**
 * Parses and validates the task JSON a worker receives in `KEELHAUL_TASK`.
 * See {@link validateWorkerTask} for what comes back.
 *
 * @throws InvalidTaskError with `field` `$` when the text is not JSON (the `SyntaxError`
 *   is its `cause`), otherwise naming the first wrong field.
 */
export function parseWorkerTask(json: string): WorkerTask {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new InvalidTaskError('$', `Expected the task to be JSON: ${(err as Error).message}`, { cause: err });
  }
  return validateWorkerTask(value);
}

/**
 * FNV-1a, 32-bit, over the UTF-8 bytes of `text`. Returns an unsigned 32-bit integer.
 * Used to turn `${seed}:${taskId}:${path}` into a PRNG seed.
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Agent usage a worker reports on an event (docs/worker-contract.md, `usage`). */
export interface Usage {
  /** Prompt tokens consumed. */
  tokensIn: number;
  /** Completion tokens produced. */
  tokensOut: number;
  /** What the tokens cost, US dollars. */
  costUsd: number;
}

/**
 * The synthetic usage the reference worker reports for running step `index` of a task:
 * seeded by (seed, task id, step index) — not the attempt — so every attempt of a task, and
 * both backends, report the same figures for the same work. tokensIn 200–1199, tokensOut
 * 50–449, priced at $3 / $15 per million tokens (a typical large-model list price).
 */
export function syntheticStepUsage(seed: number, taskId: string, index: number): Usage {
  const draw = new Uint8Array(4);
  createSeededBytes(seed, taskId, `usage:${index}`).fill(draw);
  const tokensIn = 200 + ((((draw[0] ?? 0) << 8) | (draw[1] ?? 0)) % 1000);
  const tokensOut = 50 + ((((draw[2] ?? 0) << 8) | (draw[3] ?? 0)) % 400);
  return { tokensIn, tokensOut, costUsd: roundUsd(tokensIn * 3e-6 + tokensOut * 15e-6) };
}

/** Rounds dollars to micro-dollars so sums of reported figures stay exact enough to compare. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}

/** A stream of deterministic pseudo-random bytes; see {@link createSeededBytes}. */
export interface SeededBytes {
  /** Fills `out` with the next `out.length` bytes of the stream. */
  fill(out: Uint8Array): void;
}

/**
 * The byte stream a `write: { path, bytes: N }` step writes (its first N bytes): mulberry32
 * seeded with `fnv1a32(`${seed}:${taskId}:${path}`)`, each 32-bit output taken as 4 bytes
 * little-endian. The stream does not depend on how it is split into `fill` calls, so a
 * check can recompute a file's sha256 from (seed, task id, path, length) alone.
 *
 * @param seed the run's seed, an unsigned 32-bit integer (`KEELHAUL_SEED`).
 * @param taskId the task's id.
 * @param path the write step's path, normalised as {@link validateWorkerTask} returns it.
 */
export function createSeededBytes(seed: number, taskId: string, path: string): SeededBytes {
  let state = fnv1a32(`${seed}:${taskId}:${path}`);
  // Bytes of the current 32-bit word not yet handed out, so fills of any size line up.
  let word = 0;
  let left = 0;
  const next = (): number => {
    // mulberry32 (Tommy Ettinger): tiny, fast, full 2^32 period — plenty for test data.
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    fill(out: Uint8Array): void {
      let i = 0;
      const n = out.length;
      while (left > 0 && i < n) {
        out[i++] = word & 0xff;
        word >>>= 8;
        left--;
      }
      // Whole words written directly: the hot loop for large files.
      while (i + 4 <= n) {
        const w = next();
        out[i] = w & 0xff;
        out[i + 1] = (w >>> 8) & 0xff;
        out[i + 2] = (w >>> 16) & 0xff;
        out[i + 3] = w >>> 24;
        i += 4;
      }
      if (i < n) {
        word = next();
        left = 4;
        while (i < n) {
          out[i++] = word & 0xff;
          word >>>= 8;
          left--;
        }
      }
    },
  };
}
