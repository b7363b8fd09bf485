#!/usr/bin/env node
/**
 * The reference agent worker: reads its task from the environment, runs the steps, and
 * reports on stdout one JSON event per line (docs/worker-contract.md).
 *
 * The same file runs as a local process (local backend) and as the entry point of the
 * worker image, which holds only the node binary and dist/src/worker/*.js — hence node:
 * builtins only, and no imports from the rest of src/.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KnownFailureReason, WorkerInterface, WrittenFile } from './events.js';
import { DEFAULT_HEARTBEAT_MS, InvalidTaskError, createSeededBytes, parseWorkerTask, roundUsd, syntheticStepUsage, type Step, type Usage, type WorkerTask } from './task.js';

/** Write and generate in 64 KiB chunks so a full volume fails part-way, as real writers do. */
const CHUNK_BYTES = 64 * 1024;

/** `allocate` takes memory in 64 MiB buffers: under Node's per-Buffer limit, and fine-grained. */
const ALLOCATE_CHUNK_BYTES = 64 * 1024 * 1024;

/** A flood step's plain-text lines are this long, newline included. */
const FLOOD_LINE_BYTES = 1024;

/** ENOSPC is errno 28 on Linux; libuv reports it negated. */
const ENOSPC_ERRNO = -28;

/** Exit codes of the contract. */
const EXIT = { completed: 0, failed: 1, invalid: 2, terminated: 143 } as const;

/** Memory an `allocate` step took; referenced here so the GC can never give it back. */
const retained: Buffer[] = [];

interface Identity {
  run: string;
  task: string;
  attempt: number;
}

interface Environment extends Identity {
  seed: number;
  workspace: string;
  taskSpec: WorkerTask;
}

type FailedFields = { reason: KnownFailureReason | (string & {}); message: string; code?: string };

/**
 * Writes events to stdout in order, numbering them. `emit` resolves once the line has been
 * handed to the kernel: process.exit() drops whatever a pipe has not yet taken, so the last
 * event must be awaited before exiting.
 */
class EventWriter {
  readonly #identity: Identity;
  #seq = 0;
  #last: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(identity: Identity) {
    this.#identity = identity;
  }

  /** Emits an event unless a terminal event has already been emitted (then it is dropped). */
  emit(type: string, fields: Record<string, unknown> = {}): Promise<void> {
    if (this.#closed) return this.#last;
    return this.#write(type, fields);
  }

  /** Emits the terminal event; nothing is emitted after it. */
  emitTerminal(type: 'task.completed' | 'task.failed', fields: Record<string, unknown>): Promise<void> {
    if (this.#closed) return this.#last;
    const written = this.#write(type, fields);
    this.#closed = true;
    return written;
  }

  /** Resolves when every line emitted so far has been written. */
  flush(): Promise<void> {
    return this.#last;
  }

  #write(type: string, fields: Record<string, unknown>): Promise<void> {
    const { run, task, attempt } = this.#identity;
    const event = { ts: new Date().toISOString(), type, run, task, attempt, seq: ++this.#seq, ...fields };
    const line = `${JSON.stringify(event)}\n`;
    // The callback runs with an error on EPIPE (reader gone); the worker carries on regardless.
    this.#last = new Promise((done) => process.stdout.write(line, () => done()));
    return this.#last;
  }
}

// A local controller that dies closes our stdout: writes then fail with EPIPE, reported as
// an 'error' event that would otherwise crash the worker. The task's effects still count.
process.stdout.on('error', () => {});

let events: EventWriter | undefined;
let heartbeat: NodeJS.Timeout | undefined;
let ending = false;

/** Usage of the steps run since the last event that reported usage (progress or terminal). */
let pendingUsage: Usage = { tokensIn: 0, tokensOut: 0, costUsd: 0 };

/** Returns the usage not yet reported and starts a new tally; undefined when there is none. */
function takeUsage(): Usage | undefined {
  const usage = pendingUsage;
  pendingUsage = { tokensIn: 0, tokensOut: 0, costUsd: 0 };
  return usage.tokensIn === 0 && usage.tokensOut === 0 ? undefined : usage;
}

/**
 * Ends the worker: stops heartbeats, emits the terminal event (if any), waits for stdout to
 * take it, then exits. Only the first call acts; later ones (a SIGTERM racing completion)
 * never resolve, as the process is already on its way out.
 */
async function end(code: number, terminal?: { type: 'task.completed' | 'task.failed'; fields: Record<string, unknown> }): Promise<never> {
  if (ending) return new Promise<never>(() => {});
  ending = true;
  if (heartbeat) clearInterval(heartbeat);
  if (events) {
    if (terminal) {
      const usage = takeUsage();
      await events.emitTerminal(terminal.type, usage ? { ...terminal.fields, usage } : terminal.fields);
    }
    await events.flush();
  }
  process.exit(code);
}

function failWith(code: number, fields: FailedFields): Promise<never> {
  return end(code, { type: 'task.failed', fields: { ...fields } });
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isDiskFull(err: unknown): boolean {
  return errnoCode(err) === 'ENOSPC' || (err as { errno?: unknown } | null)?.errno === ENOSPC_ERRNO;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Failure fields for an error thrown by a step: `disk_full` for ENOSPC, else `step_failed`. */
function stepFailure(err: unknown, stepIndex: number | undefined): FailedFields {
  const where = stepIndex === undefined ? '' : `step ${stepIndex}: `;
  const code = errnoCode(err) ?? (isDiskFull(err) ? 'ENOSPC' : undefined);
  return {
    reason: isDiskFull(err) ? 'disk_full' : 'step_failed',
    message: `${where}${messageOf(err)}`,
    ...(code === undefined ? {} : { code }),
  };
}

class InvalidEnvironmentError extends Error {
  override name = 'InvalidEnvironmentError';
}

/**
 * Reads and checks the environment. Returns what identity it could establish either way,
 * so that an invalid task can still be reported as an event when run/task/attempt are known.
 */
function readEnvironment(env: NodeJS.ProcessEnv): { identity?: Identity; result: Environment | Error } {
  const run = env['KEELHAUL_RUN_ID'];
  const task = env['KEELHAUL_TASK_ID'];
  const attemptText = env['KEELHAUL_ATTEMPT'];
  const attempt = attemptText !== undefined && /^[1-9][0-9]*$/.test(attemptText) ? Number(attemptText) : NaN;
  const identity = run && task && Number.isSafeInteger(attempt) ? { run, task, attempt } : undefined;
  const bad = (name: string, expected: string, value: string | undefined): { identity?: Identity; result: Error } => ({
    ...(identity ? { identity } : {}),
    result: new InvalidEnvironmentError(`Expected \`${name}\` to be ${expected}, got ${value === undefined ? 'nothing (unset)' : JSON.stringify(value)}`),
  });
  if (!run) return bad('KEELHAUL_RUN_ID', 'a non-empty run id', run);
  if (!task) return bad('KEELHAUL_TASK_ID', 'a non-empty task id', task);
  if (!identity) return bad('KEELHAUL_ATTEMPT', 'an integer ≥ 1', attemptText);
  const seedText = env['KEELHAUL_SEED'];
  const seed = seedText !== undefined && /^[0-9]{1,10}$/.test(seedText) ? Number(seedText) : NaN;
  if (!(seed >= 0 && seed <= 0xffffffff)) {
    return bad('KEELHAUL_SEED', 'an unsigned 32-bit integer in decimal (0 … 4294967295)', seedText);
  }
  const taskJson = env['KEELHAUL_TASK'];
  if (taskJson === undefined) return bad('KEELHAUL_TASK', 'the task as JSON', taskJson);
  let taskSpec: WorkerTask;
  try {
    taskSpec = parseWorkerTask(taskJson);
  } catch (err) {
    return { identity, result: err instanceof Error ? err : new Error(String(err)) };
  }
  if (taskSpec.id !== task) {
    return {
      identity,
      result: new InvalidTaskError('id', `Expected the task's \`id\` to equal KEELHAUL_TASK_ID ${JSON.stringify(task)}, got ${JSON.stringify(taskSpec.id)}`),
    };
  }
  // An empty value means "unset" here: a backend templating `-e KEELHAUL_WORKSPACE=` gets the default.
  const workspace = resolve(env['KEELHAUL_WORKSPACE'] || '/workspace');
  return { identity, result: { ...identity, seed, workspace, taskSpec } };
}

function listInterfaces(): WorkerInterface[] {
  return Object.entries(networkInterfaces())
    .map(([name, infos]) => ({ name, addresses: (infos ?? []).map((i) => i.address) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Writes all of `data`, looping over short writes (a nearly full disk takes part of a chunk). */
async function writeAll(file: FileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await file.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

/** Runs a write step; returns what ended up in the file. ENOSPC surfaces as a thrown error. */
async function writeStep(env: Environment, write: { path: string; content?: string; bytes?: number }): Promise<WrittenFile> {
  const target = join(env.workspace, write.path);
  await mkdir(dirname(target), { recursive: true });
  const hash = createHash('sha256');
  let total = 0;
  const file = await open(target, 'w');
  let failure: unknown;
  try {
    if (write.bytes !== undefined) {
      const source = createSeededBytes(env.seed, env.taskSpec.id, write.path);
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, write.bytes));
      while (total < write.bytes) {
        const part = chunk.subarray(0, Math.min(CHUNK_BYTES, write.bytes - total));
        source.fill(part);
        hash.update(part);
        await writeAll(file, part);
        total += part.length;
      }
    } else {
      const content = Buffer.from(write.content ?? '', 'utf8');
      for (let at = 0; at < content.length; at += CHUNK_BYTES) {
        const part = content.subarray(at, at + CHUNK_BYTES);
        hash.update(part);
        await writeAll(file, part);
        total += part.length;
      }
    }
  } catch (err) {
    failure = err;
  }
  // close() can report a deferred write error (ENOSPC on some filesystems); the first error wins.
  try {
    await file.close();
  } catch (err) {
    failure ??= err;
  }
  if (failure !== undefined) {
    if (failure instanceof Error) failure.message = `writing ${write.path} (${total} bytes written): ${failure.message}`;
    throw failure;
  }
  return { path: write.path, bytes: total, sha256: hash.digest('hex') };
}

/** Allocates and touches `bytes` bytes, keeping them referenced. */
function allocate(bytes: number): void {
  for (let left = bytes; left > 0; left -= ALLOCATE_CHUNK_BYTES) {
    // A non-zero fill makes Node memset the buffer: zero-filled memory can stay untouched
    // (calloc / lazily mapped pages) and would not count against a cgroup memory limit.
    retained.push(Buffer.alloc(Math.min(left, ALLOCATE_CHUNK_BYTES), 0xa5));
  }
}

async function runStep(env: Environment, step: Step, index: number, files: Map<string, WrittenFile>): Promise<void> {
  const steps = env.taskSpec.steps.length;
  if ('write' in step) {
    const file = await writeStep(env, step.write);
    files.delete(file.path);
    files.set(file.path, file);
  } else if ('sleep' in step) {
    await sleep(step.sleep);
  } else if ('progress' in step) {
    const usage = takeUsage();
    await events?.emit('task.progress', { step: index, steps, fraction: step.progress, ...(usage ? { usage } : {}) });
  } else if ('fail' in step) {
    await failWith(EXIT.failed, { reason: step.fail, message: `step ${index} failed on purpose: ${step.fail}` });
  } else if ('allocate' in step) {
    allocate(step.allocate);
  } else if ('exit' in step) {
    // A simulated crash: no terminal event, but what was already emitted still reaches the pipe.
    ending = true;
    if (heartbeat) clearInterval(heartbeat);
    await events?.flush();
    process.exit(step.exit);
  } else if ('flood' in step) {
    await flood(step.flood);
  }
}

/** Writes one chunk to stdout and waits until the stream takes it (back-pressure, not buffering). */
function writeStdout(chunk: string): Promise<void> {
  return new Promise((done) => process.stdout.write(chunk, () => done()));
}

/** A `flood` step: plain-text lines, then numbered `task.output` events (docs/worker-contract.md). */
async function flood(spec: { bytes?: number; events?: number; perSecond?: number }): Promise<void> {
  const line = `${'flood '.repeat(FLOOD_LINE_BYTES / 4).slice(0, FLOOD_LINE_BYTES - 1)}\n`;
  for (let left = spec.bytes ?? 0; left > 0;) {
    // 64 lines a write: few enough callbacks to be fast, small enough to stay a stream.
    const lines = Math.min(64, Math.ceil(left / line.length));
    let chunk = line.repeat(lines);
    if (chunk.length > left) chunk = `${chunk.slice(0, left - 1)}\n`;
    await events?.flush();
    await writeStdout(chunk);
    left -= chunk.length;
  }
  const count = spec.events ?? 0;
  const startedAt = performance.now();
  for (let index = 1; index <= count; index += 1) {
    if (spec.perSecond !== undefined) {
      const due = startedAt + ((index - 1) * 1000) / spec.perSecond;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
    }
    const written = events?.emit('task.output', { index });
    // Await every 256th write so a fast loop still yields to back-pressure.
    if (index % 256 === 0 || index === count) await written;
  }
}

async function main(): Promise<void> {
  const { identity, result } = readEnvironment(process.env);
  if (result instanceof Error) {
    const what = result instanceof InvalidTaskError ? `KEELHAUL_TASK: ${result.message}` : result.message;
    process.stderr.write(`keelhaul worker: invalid ${result instanceof InvalidTaskError ? 'task' : 'environment'}: ${what}\n`);
    if (identity) {
      events = new EventWriter(identity);
      await failWith(EXIT.invalid, { reason: 'invalid_task', message: what });
    }
    process.exitCode = EXIT.invalid;
    return;
  }
  const env = result;
  events = new EventWriter(env);

  const steps = env.taskSpec.steps;
  const startedAt = performance.now();
  await events.emit('task.started', {
    interfaces: listInterfaces(),
    pid: process.pid,
    uid: process.getuid?.() ?? null,
    node: process.version,
    workspace: env.workspace,
    steps: steps.length,
  });
  const heartbeatMs = env.taskSpec.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  heartbeat = setInterval(() => {
    void events?.emit('heartbeat', { uptimeMs: Math.round(performance.now()) });
  }, heartbeatMs);
  // Steps keep the process alive while they run; the heartbeat alone must not.
  heartbeat.unref();

  const files = new Map<string, WrittenFile>();
  for (const [index, step] of steps.entries()) {
    try {
      const usage = syntheticStepUsage(env.seed, env.taskSpec.id, index);
      pendingUsage = {
        tokensIn: pendingUsage.tokensIn + usage.tokensIn,
        tokensOut: pendingUsage.tokensOut + usage.tokensOut,
        costUsd: roundUsd(pendingUsage.costUsd + usage.costUsd),
      };
      await runStep(env, step, index, files);
    } catch (err) {
      await failWith(EXIT.failed, stepFailure(err, index));
    }
  }
  await end(EXIT.completed, {
    type: 'task.completed',
    fields: { durationMs: Math.round(performance.now() - startedAt), files: [...files.values()] },
  });
}

// Node as a container's PID 1 ignores SIGTERM unless it handles it; the contract wants a
// clean `terminated` event and exit 143 (128 + 15), as if the signal had killed us.
process.on('SIGTERM', () => {
  if (events) void failWith(EXIT.terminated, { reason: 'terminated', message: 'SIGTERM received' });
  else process.exit(EXIT.terminated);
});

// A bug or an unexpected rejection still ends the attempt with a terminal event.
process.on('uncaughtException', (err) => {
  if (events) void failWith(EXIT.failed, stepFailure(err, undefined));
  else {
    process.stderr.write(`keelhaul worker: ${err.stack ?? err.message}\n`);
    process.exit(EXIT.failed);
  }
});

void main();
