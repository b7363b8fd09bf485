/**
 * Output floods against the controller, run as its own process (the `keelhaul` binary) and
 * sampled with pidusage every 100 ms: a worker printing 200 MiB of plain text to stdout,
 * and one emitting 10,000 task.output events a second for 3 seconds. The controller's RSS
 * stays under {@link RSS_BOUND_BYTES} (output is streamed with back-pressure, not
 * buffered), no event is lost or merged (task.output index 1…N, each its own event), and
 * the attempt's stdout.log holds every byte.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import pidusage from 'pidusage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = resolve('dist/src/cli/main.js');

/**
 * The bound on the controller's RSS during either flood. Measured (docs/security.md
 * "Floods"): 893 MiB before the fixes for 200 MiB of stdout, 140–160 MiB after; a
 * controller idling through a small run sits at 100–130 MiB.
 */
const RSS_BOUND_BYTES = 256 * 1024 * 1024;

/** Runs `keelhaul run` as a child process and samples its RSS until it exits. */
async function runSampled(scenario: string, runsDir: string): Promise<{ code: number | null; stdout: string; stderr: string; maxRss: number; samples: number }> {
  const child = spawn(process.execPath, [bin, 'run', scenario, '--runs-dir', runsDir, '--no-reaper'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let maxRss = 0;
  let samples = 0;
  const timer = setInterval(() => {
    pidusage(child.pid!)
      .then((s) => {
        samples += 1;
        maxRss = Math.max(maxRss, s.memory);
      })
      .catch(() => undefined);
  }, 100);
  const code = await new Promise<number | null>((ok) => child.on('exit', ok));
  clearInterval(timer);
  pidusage.clear();
  return { code, stdout, stderr, maxRss, samples };
}

/** Reads a file line by line (never whole: a flood log is 200 MiB). */
async function eachLine(path: string, visit: (line: string) => void): Promise<void> {
  const reader = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of reader) visit(line);
}

async function onlyRunDir(runsDir: string): Promise<string> {
  const ids = await readdir(runsDir);
  expect(ids).toHaveLength(1);
  return join(runsDir, ids[0]!);
}

describe('output floods (docker)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keelhaul-flood-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('200 MiB of stdout: controller RSS under the bound, stdout.log keeps every byte in whole 1 KiB lines', async () => {
    const scenario = join(dir, 'bytes.yaml');
    await writeFile(scenario, 'name: flood-bytes\nseed: 1\ntasks:\n  - id: bytes\n    steps:\n      - flood: { bytes: 200m }\n');
    const runsDir = join(dir, 'bytes-runs');
    const r = await runSampled(scenario, runsDir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.samples).toBeGreaterThan(5);
    expect(r.maxRss).toBeLessThan(RSS_BOUND_BYTES);
    process.stderr.write(`flood bytes: controller max RSS ${(r.maxRss / 2 ** 20).toFixed(1)} MiB over ${r.samples} samples\n`);

    const runDir = await onlyRunDir(runsDir);
    const log = join(runDir, 'attempts', 'bytes', '1', 'stdout.log');
    let plainBytes = 0;
    let plainLines = 0;
    const lengths = new Set<number>();
    let events = 0;
    await eachLine(log, (line) => {
      if (line.startsWith('{')) {
        events += 1;
        return;
      }
      plainLines += 1;
      plainBytes += Buffer.byteLength(line) + 1;
      lengths.add(line.length);
    });
    expect(plainBytes).toBe(200 * 1024 * 1024);
    expect(plainLines).toBe(200 * 1024);
    expect([...lengths]).toEqual([1023]);
    expect(events).toBeGreaterThanOrEqual(2); // task.started … task.completed
    expect((await stat(log)).size).toBeGreaterThan(200 * 1024 * 1024);

    // The plain lines are counted, not turned into 204,800 events.
    const counts = new Map<string, number>();
    let suppressed: { lines: number; total: number } | undefined;
    await eachLine(join(runDir, 'events.jsonl'), (line) => {
      const e = JSON.parse(line) as { type: string; lines: number; total: number };
      counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
      if (e.type === 'worker.invalid-lines-suppressed') suppressed = e;
    });
    expect(counts.get('worker.invalid-line')).toBe(100);
    expect(suppressed).toEqual(expect.objectContaining({ total: 200 * 1024, lines: 200 * 1024 - 100 }));
  }, 300_000); // 15 s alone; the shared 2-core machine has stretched it to 90 s

  it('10,000 events/s for 3 s: controller RSS under the bound, task.output 1…30000 each its own event, none lost or merged', async () => {
    const scenario = join(dir, 'events.yaml');
    await writeFile(scenario, 'name: flood-events\nseed: 1\ntasks:\n  - id: events\n    steps:\n      - flood: { events: 30000, perSecond: 10000 }\n');
    const runsDir = join(dir, 'events-runs');
    const r = await runSampled(scenario, runsDir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.maxRss).toBeLessThan(RSS_BOUND_BYTES);
    process.stderr.write(`flood events: controller max RSS ${(r.maxRss / 2 ** 20).toFixed(1)} MiB over ${r.samples} samples\n`);

    const runDir = await onlyRunDir(runsDir);
    const indexes: number[] = [];
    let invalid = 0;
    await eachLine(join(runDir, 'events.jsonl'), (line) => {
      const e = JSON.parse(line) as { type: string; event?: { type: string; index?: number } };
      if (e.type === 'worker.invalid-line') invalid += 1;
      if (e.type === 'worker.event' && e.event?.type === 'task.output') indexes.push(e.event.index!);
    });
    expect(invalid).toBe(0);
    expect(indexes).toHaveLength(30000);
    expect(indexes.every((index, i) => index === i + 1)).toBe(true);

    let logged = 0;
    await eachLine(join(runDir, 'attempts', 'events', '1', 'stdout.log'), (line) => {
      const e = JSON.parse(line) as { type: string; index?: number };
      if (e.type === 'task.output') {
        logged += 1;
        expect(e.index).toBe(logged);
      }
    });
    expect(logged).toBe(30000);
  });
});
