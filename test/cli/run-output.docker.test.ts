/**
 * `keelhaul run` output, black-box against the real daemon: `--json` prints only events
 * (each valid against docs/events.schema.json); without a terminal one plain line per event
 * and a budget the run exceeds fails it (exit 1, the budget check FAIL in the output,
 * report.json and junit.xml); on a terminal (util-linux `script` gives the run a pty) a live
 * status line is drawn under the event lines.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/report/index.js';

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;
const bin = resolve('dist/src/cli/main.js');

function keelhaul(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 150_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Two short tasks, no fault: the quickest real run. */
const SMALL = `name: output-small
seed: 7
heartbeatMs: 250
concurrency: 2
tasks:
  count: 2
  steps:
    - progress: 0.5
    - sleep: 300
    - progress: 1
`;

describe('keelhaul run: output on and off a terminal, --json, budget (docker)', () => {
  let dir: string;
  let runsDir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keelhaul-run-output-'));
    runsDir = join(dir, 'runs');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--json: stdout holds only run events, one JSON object a line, each valid against docs/events.schema.json', async () => {
    const r = keelhaul(['run', 'chaos/smoke.yaml', '--json', '--runs-dir', runsDir]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const events = lines.map((l) => JSON.parse(l) as { type: string; run: string; reportPath?: string });
    const ajv = new Ajv2020({ allErrors: true, discriminator: true });
    addFormats(ajv);
    const valid = ajv.compile(JSON.parse(await readFile('docs/events.schema.json', 'utf8')) as object);
    for (const e of events) expect(valid(e), `${JSON.stringify(e)}: ${JSON.stringify(valid.errors)}`).toBe(true);
    expect(events[0]!.type).toBe('run.started');
    expect(events.at(-1)!.type).toBe('run.finished');
    expect(events.filter((e) => e.type === 'fault.injected')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'check.result').length).toBeGreaterThan(5);
    // The same events, in the same order, as the run's events.jsonl.
    const runDir = join(runsDir, events[0]!.run);
    const file = (await readFile(join(runDir, 'events.jsonl'), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { type: string }).type);
    expect(events.map((e) => e.type)).toEqual(file.slice(0, events.length));
    for (const name of ['report.json', 'report.md', 'report.html', 'junit.xml']) expect(existsSync(join(runDir, name)), name).toBe(true);
  });

  it('no terminal, a budget the run exceeds: one plain line per event, FAIL budget, exit 1, in report.json and junit.xml', async () => {
    const path = join(dir, 'tiny-budget.yaml');
    await writeFile(path, `${SMALL.replace('output-small', 'output-budget')}budget: { tokens: 100 }\n`);
    const r = keelhaul(['run', path, '--runs-dir', runsDir]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).not.toContain('\x1b');
    expect(r.stdout).not.toContain('\r');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^run \S+: scenario output-budget, seed 7, 2 task\(s\)/);
    expect(lines.filter((l) => /^ {2}t-0[12]#1 running /.test(l))).toHaveLength(2);
    expect(lines.filter((l) => /^ {2}t-0[12]#1 completed /.test(l))).toHaveLength(2);
    const budgetLine = lines.find((l) => l.includes(' budget: '));
    expect(budgetLine).toMatch(/^ {2}FAIL budget: \d+ tokens, .*over budget: tokens \d+ tokens > 100 tokens \(expected tokens ≤ 100 tokens\)$/);
    expect(lines.at(-2)).toMatch(/^run \S+ FAILED in /);

    const runDir = join(runsDir, lines[0]!.split(' ')[1]!.replace(/:$/, ''));
    const report = JSON.parse(await readFile(join(runDir, 'report.json'), 'utf8')) as RunReport;
    const budget = report.checks.find((c) => c.name === 'budget')!;
    expect(budget.ok).toBe(false);
    expect(report.usage.total.tokens).toBeGreaterThan(100);
    expect(report.usage.total.reports).toBeGreaterThanOrEqual(4);
    expect(report.usage.tasks.map((t) => t.task)).toEqual(['t-01', 't-02']);
    expect(report.attempts.every((a) => a.usage.tokens > 0)).toBe(true);
    expect(report.usage.wasted.tokens).toBe(0);
    const junit = await readFile(join(runDir, 'junit.xml'), 'utf8');
    expect(junit).toMatch(/<testcase classname="keelhaul.output-budget" name="budget"[^>]*>\s*<failure message="[^"]*over budget/);
  });

  it('terminal: a live status line (tasks done, running, failed, faults, usage, elapsed) under the event lines; --log-level warn hides info lines', () => {
    const path = join(dir, 'small.yaml');
    return writeFile(path, SMALL).then(() => {
      const command = [process.execPath, bin, 'run', path, '--runs-dir', runsDir, '--log-level', 'warn'].map((a) => `'${a}'`).join(' ');
      // script(1) runs the command on a pseudo-terminal: stdout.isTTY is true in there.
      const r = spawnSync('script', ['-q', '-e', '-c', command, '/dev/null'], { encoding: 'utf8', timeout: 150_000 });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      const statuses = r.stdout.split('\r\x1b[2K').filter((s) => s.startsWith('['));
      expect(statuses.length).toBeGreaterThan(1);
      for (const s of statuses) expect(s).toMatch(/^\[\d+\.\d s\] done \d\/2, running \d, failed \d \| faults 0 \| tokens \d+ \(\$\d+\.\d{4}\)$/);
      expect(statuses.some((s) => s.includes('done 2/2'))).toBe(true);
      // info lines (run start, attempts, checks that held) are below warn.
      expect(r.stdout).not.toMatch(/running {7}container|ok {3}all-completed/);
    });
  });
});
