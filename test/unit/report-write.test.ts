import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/atomic-file.js';
import { writeRunReports } from '../../src/report/write-reports.js';
import { failedEvents, failedReport, parseXml } from './report-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'keelhaul-write-reports-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function runDir(withEvents = true): string {
  const dir = join(root, `run-${++n}`);
  mkdirSync(dir);
  if (withEvents)
    writeFileSync(
      join(dir, 'events.jsonl'),
      `${failedEvents()
        .map((e) => JSON.stringify(e))
        .join('\n')}\n{"ts":"2026-01-01T12:00:07`,
    );
  return dir;
}

describe('writeRunReports', () => {
  it('write reports: writes report.json, report.md, report.html and junit.xml, leaving no temp file', async () => {
    const dir = runDir();
    const report = failedReport();
    const { paths } = await writeRunReports(dir, report);
    expect(paths).toEqual({
      json: join(dir, 'report.json'),
      md: join(dir, 'report.md'),
      html: join(dir, 'report.html'),
      junit: join(dir, 'junit.xml'),
    });
    expect(readdirSync(dir).sort()).toEqual(['events.jsonl', 'junit.xml', 'report.html', 'report.json', 'report.md']);
    expect(JSON.parse(readFileSync(paths['json']!, 'utf8'))).toEqual(report);
    expect(readFileSync(paths['md']!, 'utf8')).toContain('| all-completed | FAIL |');
    expect(parseXml(readFileSync(paths['junit']!, 'utf8')).attrs['failures']).toBe('1');
    // The timeline came from events.jsonl (its truncated last line skipped): the abort marker is there.
    expect(readFileSync(paths['html']!, 'utf8')).toContain('class="run-marker run-aborted"');
  });

  it('write reports: only the formats asked for', async () => {
    const dir = runDir();
    const { paths } = await writeRunReports(dir, failedReport(), { formats: ['md', 'junit'] });
    expect(Object.keys(paths)).toEqual(['md', 'junit']);
    expect(readdirSync(dir).sort()).toEqual(['events.jsonl', 'junit.xml', 'report.md']);
  });

  it('write reports: a run directory without events.jsonl still gets its reports', async () => {
    const dir = runDir(false);
    await writeRunReports(dir, failedReport());
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).not.toContain('class="run-marker run-aborted"');
  });

  it('write reports: an unknown format is refused before anything is written', async () => {
    const dir = runDir(false);
    await expect(writeRunReports(dir, failedReport(), { formats: ['pdf' as never] })).rejects.toThrow(/`formats`.*`pdf`/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('write reports: rewriting replaces the files whole', async () => {
    const dir = runDir();
    writeFileSync(join(dir, 'report.md'), 'x'.repeat(100_000));
    await writeRunReports(dir, failedReport(), { formats: ['md'] });
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/^# keelhaul run/);
  });
});

describe('writeFileAtomic', () => {
  it('write reports: writeFileAtomic replaces a file and leaves no temp file, also when writers race', async () => {
    const dir = runDir(false);
    const path = join(dir, 'f.txt');
    writeFileSync(path, 'old');
    await Promise.all(Array.from({ length: 8 }, (_, i) => writeFileAtomic(path, `new ${i}`)));
    expect(readFileSync(path, 'utf8')).toMatch(/^new [0-7]$/);
    expect(readdirSync(dir)).toEqual(['f.txt']);
  });

  it('write reports: writeFileAtomic fails without leaving a temp file behind', async () => {
    const dir = runDir(false);
    mkdirSync(join(dir, 'target-is-a-dir'));
    writeFileSync(join(dir, 'target-is-a-dir', 'keep'), '');
    await expect(writeFileAtomic(join(dir, 'target-is-a-dir'), 'x')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['target-is-a-dir']);
    await expect(writeFileAtomic(join(dir, 'missing', 'f.txt'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
