import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { parseReportFormat, reportCommand, resolveRunDir } from '../../src/cli/report-command.js';
import { failedEvents, failedReport, parseXml, RUN_ID } from './report-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'keelhaul-report-command-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A runs directory holding one finished run; returns both paths. */
function finishedRun(options: { report?: string | false; events?: string } = {}): { runsDir: string; runDir: string } {
  const runsDir = join(root, `runs-${++n}`);
  const runDir = join(runsDir, RUN_ID);
  mkdirSync(runDir, { recursive: true });
  if (options.report !== false) writeFileSync(join(runDir, 'report.json'), options.report ?? JSON.stringify(failedReport(), null, 2));
  writeFileSync(
    join(runDir, 'events.jsonl'),
    options.events ??
      `${failedEvents()
        .map((e) => JSON.stringify(e))
        .join('\n')}\n`,
  );
  return { runsDir, runDir };
}

function collectingIo(): { out: (l: string) => void; err: (l: string) => void; stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { out: (l) => stdout.push(l), err: (l) => stderr.push(l), stdout, stderr };
}

describe('keelhaul report', () => {
  it('report command: --format md prints the Markdown report of a run id looked up under the runs directory', async () => {
    const { runsDir } = finishedRun();
    const io = collectingIo();
    expect(await reportCommand({ runDir: RUN_ID, runsDir, format: 'md' }, io)).toBe(0);
    const text = io.stdout.join('\n');
    expect(text).toMatch(/^# keelhaul run 20260101-120000-abcd: FAILED/);
    expect(text).toContain('| all-completed | FAIL |');
    expect(io.stderr).toEqual([]);
  });

  it('report command: --format junit and json print to stdout from a run directory path', async () => {
    const { runDir } = finishedRun();
    const io = collectingIo();
    await reportCommand({ runDir, format: 'junit' }, io);
    expect(parseXml(io.stdout.join('\n')).attrs['failures']).toBe('1');
    const io2 = collectingIo();
    await reportCommand({ runDir: join(runDir, 'report.json'), format: 'json' }, io2);
    expect(JSON.parse(io2.stdout.join('\n'))).toEqual(failedReport());
  });

  it('report command: --output writes the file atomically and prints its path; the format may come from the extension', async () => {
    const { runDir } = finishedRun();
    const out = join(root, `out-${n}`);
    mkdirSync(out);
    const io = collectingIo();
    await reportCommand({ runDir, format: 'html', output: join(out, 'r.html') }, io);
    await reportCommand({ runDir, output: join(out, 'results.xml') }, io);
    expect(io.stdout).toEqual([join(out, 'r.html'), join(out, 'results.xml')]);
    expect(readFileSync(join(out, 'r.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/);
    expect(parseXml(readFileSync(join(out, 'results.xml'), 'utf8')).name).toBe('testsuites');
    expect(readdirSync(out).sort()).toEqual(['r.html', 'results.xml']);
  });

  it('report command: without --format it rewrites all four files in the run directory and prints their paths', async () => {
    const { runsDir, runDir } = finishedRun();
    const io = collectingIo();
    expect(await reportCommand({ runDir: RUN_ID, runsDir }, io)).toBe(0);
    expect(io.stdout).toEqual(['report.json', 'report.md', 'report.html', 'junit.xml'].map((f) => join(runDir, f)));
    expect(readdirSync(runDir).sort()).toEqual(['events.jsonl', 'junit.xml', 'report.html', 'report.json', 'report.md']);
  });

  it('report command: unreadable event lines are named on stderr; stdout stays the report', async () => {
    const { runDir } = finishedRun({ events: `${JSON.stringify(failedEvents()[0])}\n{"ts":"2026-01-01T1` });
    const io = collectingIo();
    await reportCommand({ runDir, format: 'html' }, io);
    expect(io.stderr).toHaveLength(1);
    expect(io.stderr[0]).toMatch(/events\.jsonl: skipped 1 unreadable line\(s\) \(line 2: not JSON/);
    expect(io.stdout.join('\n')).toMatch(/^<!DOCTYPE html>/);
  });

  it('report command: a missing run is a UsageError naming the paths tried and suggesting keelhaul run', async () => {
    const { runsDir } = finishedRun();
    const error = await reportCommand({ runDir: 'no-such-run', runsDir, format: 'md' }, collectingIo()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain('`no-such-run`');
    expect((error as Error).message).toContain(`\`${join(runsDir, 'no-such-run')}\``);
    expect((error as Error).message).toContain('keelhaul run');
    await expect(resolveRunDir(join(root, 'nowhere', 'x'))).rejects.toThrow(/No run directory at `.*nowhere\/x`\./);
  });

  it('report command: a run directory without report.json is a UsageError naming report.json', async () => {
    const { runDir } = finishedRun({ report: false });
    await expect(reportCommand({ runDir }, collectingIo())).rejects.toThrow(
      new UsageError(
        '<run-dir-or-run-id>',
        `No report.json at \`${join(runDir, 'report.json')}\`: the run has not finished (or its controller died before the end). \`keelhaul run <scenario>\` writes one when a run ends.`,
      ),
    );
  });

  it('report command: a broken or foreign report.json is a UsageError', async () => {
    await expect(reportCommand({ runDir: finishedRun({ report: '{"schemaVersion": 2, "runId": ' }).runDir }, collectingIo())).rejects.toThrow(/is not valid JSON/);
    await expect(reportCommand({ runDir: finishedRun({ report: '{"schemaVersion": 1}' }).runDir }, collectingIo())).rejects.toThrow(
      /has schemaVersion 1; this keelhaul reads schemaVersion 2/,
    );
    await expect(reportCommand({ runDir: finishedRun({ report: '{"schemaVersion": 2}' }).runDir }, collectingIo())).rejects.toThrow(/`tasks` must be an array/);
  });

  it('report command: a bad --format, an --output of unknown type or in a missing directory are UsageErrors', async () => {
    const { runDir } = finishedRun();
    expect(() => parseReportFormat('pdf')).toThrow('Expected `--format` to be one of json, md, html, junit, got `pdf`');
    await expect(reportCommand({ runDir, format: 'pdf' }, collectingIo())).rejects.toMatchObject({ name: 'UsageError', option: '--format' });
    await expect(reportCommand({ runDir, output: join(root, 'x.pdf') }, collectingIo())).rejects.toMatchObject({ option: '--output' });
    await expect(reportCommand({ runDir, format: 'md', output: join(root, 'missing', 'x.md') }, collectingIo())).rejects.toMatchObject({ option: '--output' });
  });
});
