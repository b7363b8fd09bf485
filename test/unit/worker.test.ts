import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidTaskError, createSeededBytes, parseWorkerTask, roundUsd, syntheticStepUsage, validateWorkerTask } from '../../src/worker/task.js';
import { isKnownWorkerEvent, isTerminalWorkerEvent, parseWorkerEventLine, type WorkerEvent } from '../../src/worker/events.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const workerMain = join(repoRoot, 'dist/src/worker/main.js');

const tempDirs: string[] = [];
function tempWorkspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keelhaul-worker-test-'));
  tempDirs.push(dir);
  return dir;
}

interface WorkerRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
  events: WorkerEvent[];
  stderr: string;
  workspace: string;
}

interface RunOptions {
  task: unknown;
  seed?: number;
  attempt?: number;
  workspace?: string;
  /** Replaces the environment entirely (for invalid-environment tests). */
  env?: Record<string, string>;
  /** Called with each event as it arrives, and the child's pid. */
  onEvent?: (event: WorkerEvent, pid: number) => void;
}

/** Runs the compiled worker as a child process and collects its stdout events. */
function runWorker(opts: RunOptions): Promise<WorkerRun> {
  const workspace = opts.workspace ?? tempWorkspace();
  const env = opts.env ?? {
    PATH: process.env['PATH'] ?? '',
    KEELHAUL_RUN_ID: 'run-1',
    KEELHAUL_TASK_ID: (opts.task as { id?: string }).id ?? 't1',
    KEELHAUL_ATTEMPT: String(opts.attempt ?? 1),
    KEELHAUL_SEED: String(opts.seed ?? 42),
    KEELHAUL_TASK: JSON.stringify(opts.task),
    KEELHAUL_WORKSPACE: workspace,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [workerMain], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const events: WorkerEvent[] = [];
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        lines.push(line);
        const parsed = parseWorkerEventLine(line);
        if (parsed.ok) {
          events.push(parsed.event);
          opts.onEvent?.(parsed.event, child.pid ?? -1);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (pending !== '') lines.push(pending);
      resolve({ code, signal, lines, events, stderr, workspace });
    });
  });
}

const types = (run: WorkerRun): string[] => run.events.filter((e) => e.type !== 'heartbeat').map((e) => e.type);
const last = (run: WorkerRun): WorkerEvent => {
  const e = run.events.at(-1);
  if (!e) throw new Error(`no events; stderr: ${run.stderr}`);
  return e;
};
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

beforeAll(() => {
  // The worker is tested as it ships: compiled. `npm test` builds first.
  if (!existsSync(workerMain)) throw new Error(`${workerMain} is missing: run \`npm run build\` first`);
  const built = statSync(workerMain).mtimeMs;
  const srcDir = join(repoRoot, 'src/worker');
  for (const f of readdirSync(srcDir)) {
    if (f.endsWith('.ts') && statSync(join(srcDir, f)).mtimeMs > built) {
      throw new Error(`${workerMain} is older than src/worker/${f}: run \`npm run build\` first`);
    }
  }
});

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('worker process', () => {
  it('write/sleep/progress task: started, progress…, completed in order, exit 0, files as reported', async () => {
    const task = {
      id: 't1',
      heartbeatMs: 50,
      steps: [
        { write: { path: 'notes/hello.txt', content: 'hello, keelhaul\n' } },
        { sleep: 20 },
        { progress: 0.5 },
        { write: { path: './data//blob.bin', bytes: 200_000 } },
        { progress: 1 },
      ],
    };
    const run = await runWorker({ task });
    expect(run.code, run.stderr).toBe(0);
    expect(types(run)).toEqual(['task.started', 'task.progress', 'task.progress', 'task.completed']);

    // Every line is an event, numbered 1…n, carrying the identity from the environment.
    expect(run.lines.length).toBe(run.events.length);
    for (const line of run.lines) expect(parseWorkerEventLine(line).ok, line).toBe(true);
    expect(run.events.map((e) => e.seq)).toEqual(run.events.map((_, i) => i + 1));
    for (const e of run.events) {
      expect(e).toMatchObject({ run: 'run-1', task: 't1', attempt: 1 });
      expect(Number.isNaN(Date.parse(e.ts))).toBe(false);
    }

    const started = run.events[0];
    expect(started).toMatchObject({ type: 'task.started', pid: expect.any(Number), node: process.version });
    expect(started).toMatchObject({ workspace: run.workspace, steps: 5 });
    expect((started as { interfaces: { name: string }[] }).interfaces.map((i) => i.name)).toContain('lo');

    const progress = run.events.filter((e) => e.type === 'task.progress');
    expect(progress).toMatchObject([
      { step: 2, steps: 5, fraction: 0.5 },
      { step: 4, steps: 5, fraction: 1 },
    ]);

    expect(readFileSync(join(run.workspace, 'notes/hello.txt'), 'utf8')).toBe('hello, keelhaul\n');
    const blob = readFileSync(join(run.workspace, 'data/blob.bin'));
    expect(blob.length).toBe(200_000);

    const done = last(run);
    expect(isTerminalWorkerEvent(done)).toBe(true);
    expect(done).toMatchObject({
      type: 'task.completed',
      durationMs: expect.any(Number),
      files: [
        { path: 'notes/hello.txt', bytes: 16, sha256: sha256(Buffer.from('hello, keelhaul\n')) },
        { path: 'data/blob.bin', bytes: 200_000, sha256: sha256(blob) },
      ],
    });
  });

  it('write bytes: same seed gives the same bytes on any attempt, another seed different bytes', async () => {
    const task = { id: 'det', steps: [{ write: { path: 'r.bin', bytes: 100_003 } }] };
    const a = await runWorker({ task, seed: 7, attempt: 1 });
    const b = await runWorker({ task, seed: 7, attempt: 3 });
    const c = await runWorker({ task, seed: 8, attempt: 1 });
    for (const r of [a, b, c]) expect(r.code, r.stderr).toBe(0);
    const [fa, fb, fc] = [a, b, c].map((r) => readFileSync(join(r.workspace, 'r.bin')));
    expect(fa!.equals(fb!)).toBe(true);
    expect(fa!.equals(fc!)).toBe(false);
    expect(types(a)).toEqual(types(c));

    // The content is exactly the documented seeded stream, so checks can recompute it.
    const expected = Buffer.alloc(100_003);
    createSeededBytes(7, 'det', 'r.bin').fill(expected);
    expect(fa!.equals(expected)).toBe(true);
  });

  it('fail step: task.failed with the step reason, exit 1, later steps do not run', async () => {
    const task = {
      id: 't1',
      steps: [{ progress: 0.1 }, { fail: 'agent_gave_up' }, { write: { path: 'never.txt', content: 'x' } }],
    };
    const run = await runWorker({ task });
    expect(run.code).toBe(1);
    expect(types(run)).toEqual(['task.started', 'task.progress', 'task.failed']);
    expect(last(run)).toMatchObject({ type: 'task.failed', reason: 'agent_gave_up', message: expect.any(String) });
    expect(existsSync(join(run.workspace, 'never.txt'))).toBe(false);
  });

  it.each([
    ['an absolute path', '/etc/evil', 'steps[0].write.path'],
    ['a `..` segment', 'a/../../evil', 'steps[0].write.path'],
  ])('invalid task (%s): task.failed invalid_task, exit 2, nothing written', async (_what, path, field) => {
    const run = await runWorker({ task: { id: 't1', steps: [{ write: { path, content: 'x' } }] } });
    expect(run.code).toBe(2);
    expect(types(run)).toEqual(['task.failed']);
    expect(last(run)).toMatchObject({ reason: 'invalid_task', run: 'run-1', task: 't1', attempt: 1 });
    expect((last(run) as { message: string }).message).toContain(field);
    expect(run.stderr).toContain(field);
    expect(readdirSync(run.workspace)).toEqual([]);
  });

  it('invalid environment without an identity: no event, a message on stderr, exit 2', async () => {
    const run = await runWorker({ task: {}, env: { PATH: process.env['PATH'] ?? '', KEELHAUL_TASK: '{}' } });
    expect(run.code).toBe(2);
    expect(run.lines).toEqual([]);
    expect(run.stderr).toContain('KEELHAUL_RUN_ID');
  });

  it('invalid seed with a known identity: task.failed invalid_task, exit 2', async () => {
    const run = await runWorker({
      task: {},
      env: {
        PATH: process.env['PATH'] ?? '',
        KEELHAUL_RUN_ID: 'r',
        KEELHAUL_TASK_ID: 't',
        KEELHAUL_ATTEMPT: '2',
        KEELHAUL_SEED: '4294967296',
        KEELHAUL_TASK: '{"id":"t","steps":[]}',
      },
    });
    expect(run.code).toBe(2);
    expect(run.events).toMatchObject([{ type: 'task.failed', reason: 'invalid_task', attempt: 2 }]);
    expect(run.stderr).toContain('KEELHAUL_SEED');
  });

  it('SIGTERM during a sleep: task.failed terminated, exit 143', async () => {
    const run = await runWorker({
      task: { id: 't1', steps: [{ sleep: 30_000 }] },
      onEvent: (e, pid) => {
        if (e.type === 'task.started') process.kill(pid, 'SIGTERM');
      },
    });
    expect(run.code).toBe(143);
    expect(types(run)).toEqual(['task.started', 'task.failed']);
    expect(last(run)).toMatchObject({ reason: 'terminated' });
  });

  it('heartbeats: at least 2 over a 350 ms sleep at heartbeatMs 100, none after the terminal event', async () => {
    const run = await runWorker({ task: { id: 't1', heartbeatMs: 100, steps: [{ sleep: 350 }] } });
    expect(run.code).toBe(0);
    const beats = run.events.filter((e) => e.type === 'heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(2);
    for (const b of beats) expect(b).toMatchObject({ uptimeMs: expect.any(Number) });
    expect(last(run).type).toBe('task.completed');
  });

  it('exit step: exits with that code, no terminal event, earlier events delivered', async () => {
    const run = await runWorker({ task: { id: 't1', steps: [{ progress: 0.3 }, { exit: 3 }, { progress: 1 }] } });
    expect(run.code).toBe(3);
    expect(types(run)).toEqual(['task.started', 'task.progress']);
  });

  it('allocate step: the task completes', async () => {
    const run = await runWorker({ task: { id: 't1', steps: [{ allocate: 8 * 1024 * 1024 }] } });
    expect(run.code).toBe(0);
    expect(types(run)).toEqual(['task.started', 'task.completed']);
  });

  it('a write that hits ENOSPC: task.failed disk_full with code ENOSPC, exit 1', async () => {
    // /dev/full fails every write with ENOSPC: a disk-full volume without mounting one.
    const workspace = tempWorkspace();
    symlinkSync('/dev/full', join(workspace, 'full.bin'));
    const run = await runWorker({ workspace, task: { id: 't1', steps: [{ write: { path: 'full.bin', bytes: 1000 } }] } });
    expect(run.code).toBe(1);
    expect(last(run)).toMatchObject({ type: 'task.failed', reason: 'disk_full', code: 'ENOSPC' });
  });

  it('task id different from KEELHAUL_TASK_ID: invalid_task, exit 2', async () => {
    const run = await runWorker({
      task: { id: 'other', steps: [] },
      env: {
        PATH: process.env['PATH'] ?? '',
        KEELHAUL_RUN_ID: 'r',
        KEELHAUL_TASK_ID: 't',
        KEELHAUL_ATTEMPT: '1',
        KEELHAUL_SEED: '1',
        KEELHAUL_TASK: '{"id":"other","steps":[]}',
      },
    });
    expect(run.code).toBe(2);
    expect(last(run)).toMatchObject({ reason: 'invalid_task' });
  });
});

describe('worker usage and flood', () => {
  const usageOf = (e: WorkerEvent): { tokensIn: number; tokensOut: number; costUsd: number } | undefined =>
    (e as { usage?: { tokensIn: number; tokensOut: number; costUsd: number } }).usage;

  it("reports seeded usage since the previous report; the sum equals every step's figure, on every attempt", async () => {
    const task = { id: 'u1', steps: [{ sleep: 1 }, { progress: 0.5 }, { write: { path: 'a', content: 'x' } }, { progress: 1 }, { sleep: 1 }] };
    const runs = [await runWorker({ task, seed: 9, attempt: 1 }), await runWorker({ task, seed: 9, attempt: 2 })];
    const expected = task.steps.map((_, i) => syntheticStepUsage(9, 'u1', i));
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      const reported = run.events.map(usageOf).filter((u) => u !== undefined);
      // progress(1) reports steps 0–1, progress(3) steps 2–3, task.completed step 4.
      expect(reported).toHaveLength(3);
      expect(reported.reduce((n, u) => n + u.tokensIn, 0)).toBe(expected.reduce((n, u) => n + u.tokensIn, 0));
      expect(reported.reduce((n, u) => n + u.tokensOut, 0)).toBe(expected.reduce((n, u) => n + u.tokensOut, 0));
      expect(roundUsd(reported.reduce((n, u) => n + u.costUsd, 0))).toBe(roundUsd(expected.reduce((n, u) => n + u.costUsd, 0)));
      expect(usageOf(last(run))).toBeDefined();
    }
    expect(runs[0]?.events.map(usageOf).filter(Boolean)).toEqual(runs[1]?.events.map(usageOf).filter(Boolean));
    // Another seed, other figures.
    expect(syntheticStepUsage(10, 'u1', 0)).not.toEqual(syntheticStepUsage(9, 'u1', 0));
  });

  it('a failing task reports the usage of the steps it ran on task.failed', async () => {
    const run = await runWorker({ task: { id: 'u2', steps: [{ sleep: 1 }, { fail: 'nope' }] }, seed: 3 });
    expect(run.code).toBe(1);
    const failed = last(run);
    expect(failed.type).toBe('task.failed');
    const u0 = syntheticStepUsage(3, 'u2', 0);
    const u1 = syntheticStepUsage(3, 'u2', 1);
    expect(usageOf(failed)).toEqual({ tokensIn: u0.tokensIn + u1.tokensIn, tokensOut: u0.tokensOut + u1.tokensOut, costUsd: roundUsd(u0.costUsd + u1.costUsd) });
  });

  it('flood: plain-text bytes exactly as asked, then task.output events 1..N in order, none merged', async () => {
    const run = await runWorker({ task: { id: 'f1', steps: [{ flood: { bytes: 300_000, events: 2000 } }] } });
    expect(run.code, run.stderr).toBe(0);
    const text = run.lines.filter((l) => !l.startsWith('{'));
    expect(text.reduce((n, l) => n + l.length + 1, 0)).toBe(300_000);
    const outputs = run.events.filter((e) => e.type === 'task.output').map((e) => (e as { index?: number }).index);
    expect(outputs).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(run.lines.every((l) => !l.startsWith('{') || parseWorkerEventLine(l).ok)).toBe(true);
  });

  it('flood with perSecond paces the events (no faster than asked)', async () => {
    const startedAt = Date.now();
    const run = await runWorker({ task: { id: 'f2', steps: [{ flood: { events: 21, perSecond: 100 } }] } });
    expect(run.code, run.stderr).toBe(0);
    const ts = run.events.filter((e) => e.type === 'task.output').map((e) => Date.parse(e.ts));
    expect(ts).toHaveLength(21);
    // 21 events at 100/s span at least 200 ms (a lower bound: pacing can only be slower under load).
    expect((ts.at(-1) ?? 0) - (ts[0] ?? 0)).toBeGreaterThanOrEqual(190);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(190);
  });

  it('flood step validation names the field', () => {
    expect(() => validateWorkerTask({ id: 'x', steps: [{ flood: {} }] })).toThrow(/steps\[0\]\.flood/);
    expect(() => validateWorkerTask({ id: 'x', steps: [{ flood: { bytes: -1 } }] })).toThrow(/steps\[0\]\.flood\.bytes/);
    expect(() => validateWorkerTask({ id: 'x', steps: [{ flood: { lines: 3 } }] })).toThrow(/steps\[0\]\.flood\.lines/);
    expect(validateWorkerTask({ id: 'x', steps: [{ flood: { events: 3, perSecond: 10 } }] }).steps).toEqual([{ flood: { events: 3, perSecond: 10 } }]);
  });

  it('the event parser rejects a malformed usage and accepts a good one', () => {
    const base = { ts: 't', type: 'task.progress', run: 'r', task: 't', attempt: 1, fraction: 0.5 };
    expect(parseWorkerEventLine(JSON.stringify({ ...base, usage: { tokensIn: 1, tokensOut: 2, costUsd: 0.1 } })).ok).toBe(true);
    const bad = parseWorkerEventLine(JSON.stringify({ ...base, usage: { tokensIn: -1, tokensOut: 2, costUsd: 0.1 } }));
    expect(bad).toMatchObject({ ok: false, error: expect.stringMatching(/usage/) });
  });
});

describe('parseWorkerTask', () => {
  const fieldOf = (json: string): string => {
    try {
      parseWorkerTask(json);
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidTaskError);
      expect((err as InvalidTaskError).name).toBe('InvalidTaskError');
      return (err as InvalidTaskError).field;
    }
    throw new Error(`accepted: ${json}`);
  };

  it('accepts every step kind and returns a clean copy with normalised paths', () => {
    const task = parseWorkerTask(
      JSON.stringify({
        id: 'a',
        extra: 'ignored',
        heartbeatMs: 250,
        writes: ['./out//x.txt'],
        steps: [
          { write: { path: './out//x.txt', content: 'hi' } },
          { write: { path: 'r.bin', bytes: 10 } },
          { write: { path: 'empty' } },
          { sleep: 0 },
          { progress: 0.25 },
          { allocate: 1024 },
          { exit: 0 },
          { fail: 'why' },
        ],
      }),
    );
    expect(task).toEqual({
      id: 'a',
      heartbeatMs: 250,
      writes: ['out/x.txt'],
      steps: [
        { write: { path: 'out/x.txt', content: 'hi' } },
        { write: { path: 'r.bin', bytes: 10 } },
        { write: { path: 'empty' } },
        { sleep: 0 },
        { progress: 0.25 },
        { allocate: 1024 },
        { exit: 0 },
        { fail: 'why' },
      ],
    });
  });

  it('leaves a missing heartbeatMs missing (the worker applies the 1000 ms default)', () => {
    expect(parseWorkerTask('{"id":"a","steps":[]}')).toEqual({ id: 'a', steps: [] });
  });

  it('not JSON: field `$`, the SyntaxError as cause', () => {
    try {
      parseWorkerTask('{nope');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidTaskError);
      expect((err as InvalidTaskError).field).toBe('$');
      expect((err as InvalidTaskError).cause).toBeInstanceOf(SyntaxError);
    }
  });

  it.each([
    ['[]', '$'],
    ['null', '$'],
    ['"task"', '$'],
    ['{"steps":[]}', 'id'],
    ['{"id":"","steps":[]}', 'id'],
    ['{"id":3,"steps":[]}', 'id'],
    ['{"id":"a"}', 'steps'],
    ['{"id":"a","steps":{}}', 'steps'],
    ['{"id":"a","steps":[null]}', 'steps[0]'],
    ['{"id":"a","steps":[[]]}', 'steps[0]'],
    ['{"id":"a","steps":[{}]}', 'steps[0]'],
    ['{"id":"a","steps":[{"sleep":1,"progress":1}]}', 'steps[0]'],
    ['{"id":"a","steps":[{"dance":1}]}', 'steps[0]'],
    ['{"id":"a","steps":[{"sleep":1},{"sleep":-1}]}', 'steps[1].sleep'],
    ['{"id":"a","steps":[{"sleep":"1"}]}', 'steps[0].sleep'],
    ['{"id":"a","steps":[{"sleep":3000000000}]}', 'steps[0].sleep'],
    ['{"id":"a","steps":[{"progress":1.5}]}', 'steps[0].progress'],
    ['{"id":"a","steps":[{"fail":""}]}', 'steps[0].fail'],
    ['{"id":"a","steps":[{"allocate":1.5}]}', 'steps[0].allocate'],
    ['{"id":"a","steps":[{"exit":256}]}', 'steps[0].exit'],
    ['{"id":"a","steps":[{"write":"x"}]}', 'steps[0].write'],
    ['{"id":"a","steps":[{"write":{}}]}', 'steps[0].write.path'],
    ['{"id":"a","steps":[{"write":{"path":"/abs"}}]}', 'steps[0].write.path'],
    ['{"id":"a","steps":[{"write":{"path":"../up"}}]}', 'steps[0].write.path'],
    ['{"id":"a","steps":[{"write":{"path":"a/../../up"}}]}', 'steps[0].write.path'],
    ['{"id":"a","steps":[{"write":{"path":"..\\\\up"}}]}', 'steps[0].write.path'],
    ['{"id":"a","steps":[{"write":{"path":"C:/x"}}]}', 'steps[0].write.path'],
    ['{"id":"a","steps":[{"write":{"path":"a\\u0000b"}}]}', 'steps[0].write.path'],
    ['{"id":"a","steps":[{"write":{"path":"."}}]}', 'steps[0].write.path'],
    ['{"id":"a","steps":[{"write":{"path":"dir/"}}]}', 'steps[0].write.path'],
    ['{"id":"a","steps":[{"write":{"path":"x","content":1}}]}', 'steps[0].write.content'],
    ['{"id":"a","steps":[{"write":{"path":"x","bytes":-1}}]}', 'steps[0].write.bytes'],
    ['{"id":"a","steps":[{"write":{"path":"x","content":"a","bytes":1}}]}', 'steps[0].write.bytes'],
    ['{"id":"a","steps":[{"write":{"path":"x","byte":1}}]}', 'steps[0].write.byte'],
    ['{"id":"a","steps":[],"heartbeatMs":5}', 'heartbeatMs'],
    ['{"id":"a","steps":[],"heartbeatMs":"100"}', 'heartbeatMs'],
    ['{"id":"a","steps":[],"writes":"x"}', 'writes'],
    ['{"id":"a","steps":[],"writes":["ok","/abs"]}', 'writes[1]'],
  ])('rejects %s naming field %s', (json, field) => {
    expect(fieldOf(json)).toBe(field);
  });

  it('validateWorkerTask takes an already-parsed value', () => {
    expect(validateWorkerTask({ id: 'a', steps: [{ sleep: 1 }] })).toEqual({ id: 'a', steps: [{ sleep: 1 }] });
    expect(() => validateWorkerTask(undefined)).toThrow(InvalidTaskError);
  });

  it('createSeededBytes: the stream does not depend on how it is split into fills', () => {
    const whole = new Uint8Array(1001);
    createSeededBytes(1, 't', 'p').fill(whole);
    const parts = new Uint8Array(1001);
    const src = createSeededBytes(1, 't', 'p');
    let at = 0;
    for (const n of [1, 2, 3, 4, 5, 7, 64, 3, 912]) {
      src.fill(parts.subarray(at, at + n));
      at += n;
    }
    expect(at).toBe(1001);
    expect(Buffer.from(parts).equals(Buffer.from(whole))).toBe(true);
    const other = new Uint8Array(1001);
    createSeededBytes(1, 't', 'q').fill(other);
    expect(Buffer.from(other).equals(Buffer.from(whole))).toBe(false);
  });
});

describe('parseWorkerEventLine', () => {
  const base = { ts: '2025-01-01T00:00:00.000Z', run: 'r', task: 't', attempt: 1 };
  const line = (o: unknown): string => JSON.stringify(o);

  it('accepts a known event and returns it with its extra fields', () => {
    const r = parseWorkerEventLine(line({ ...base, type: 'task.failed', reason: 'disk_full', code: 'ENOSPC', extra: 1 }));
    expect(r).toEqual({ ok: true, event: { ...base, type: 'task.failed', reason: 'disk_full', code: 'ENOSPC', extra: 1 } });
    if (r.ok && isKnownWorkerEvent(r.event) && r.event.type === 'task.failed') {
      expect(r.event.reason).toBe('disk_full');
    } else {
      expect.unreachable();
    }
  });

  it('accepts an unknown type as a custom event (user workers add their own)', () => {
    const r = parseWorkerEventLine(line({ ...base, type: 'agent.tool_call', tool: 'grep' }));
    expect(r.ok).toBe(true);
    if (!r.ok || isKnownWorkerEvent(r.event)) return expect.unreachable();
    expect(r.event['tool']).toBe('grep');
  });

  it('tolerates surrounding whitespace and a CRLF ending', () => {
    expect(parseWorkerEventLine(`  ${line({ ...base, type: 'heartbeat' })}\r`).ok).toBe(true);
  });

  it.each([
    ['missing ts', { run: 'r', task: 't', attempt: 1, type: 'heartbeat' }, 'ts'],
    ['ts not a string', { ...base, ts: 1, type: 'heartbeat' }, 'ts'],
    ['missing type', { ...base }, 'type'],
    ['empty type', { ...base, type: '' }, 'type'],
    ['missing run', { ...base, run: undefined, type: 'heartbeat' }, 'run'],
    ['task a number', { ...base, task: 5, type: 'heartbeat' }, 'task'],
    ['attempt 0', { ...base, attempt: 0, type: 'heartbeat' }, 'attempt'],
    ['attempt 1.5', { ...base, attempt: 1.5, type: 'heartbeat' }, 'attempt'],
    ['attempt a string', { ...base, attempt: '1', type: 'heartbeat' }, 'attempt'],
    ['seq 0', { ...base, seq: 0, type: 'heartbeat' }, 'seq'],
    ['task.failed without reason', { ...base, type: 'task.failed' }, 'reason'],
    ['task.progress without fraction', { ...base, type: 'task.progress' }, 'fraction'],
    ['task.progress fraction 2', { ...base, type: 'task.progress', fraction: 2 }, 'fraction'],
    ['task.completed files not an array', { ...base, type: 'task.completed', files: {} }, 'files'],
    ['task.started interfaces wrong', { ...base, type: 'task.started', interfaces: [{ name: 1 }] }, 'interfaces'],
  ])('rejects an event with %s, naming the field', (_what, obj, field) => {
    const r = parseWorkerEventLine(line(obj));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(field);
  });

  it.each([
    '',
    '   ',
    'hello world',
    'npm warn something',
    '{',
    '{"a":',
    '{}',
    '[]',
    '[{"ts":"x","type":"heartbeat","run":"r","task":"t","attempt":1}]',
    'null',
    '42',
    '"string"',
    'true',
    '{"__proto__":{"ts":"x"}}',
    '{"a":' + '['.repeat(100_000),
    '{"a":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}',
    '\u0000\uffff\ud800',
  ])('never throws and rejects %j', (input) => {
    let r: ReturnType<typeof parseWorkerEventLine> | undefined;
    expect(() => (r = parseWorkerEventLine(input))).not.toThrow();
    expect(r?.ok).toBe(false);
  });

  it('never throws on non-string input or random bytes', () => {
    for (const v of [undefined, null, 1, {}, [], Symbol('x')]) {
      expect(parseWorkerEventLine(v as unknown as string).ok).toBe(false);
    }
    let s = 12345;
    for (let i = 0; i < 500; i++) {
      let text = '{';
      for (let j = 0; j < 40; j++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        text += String.fromCharCode(s % 128);
      }
      expect(() => parseWorkerEventLine(text)).not.toThrow();
    }
  });
});
