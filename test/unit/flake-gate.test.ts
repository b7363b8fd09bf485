/**
 * The flake gate's comparison (scripts/lib/flake-outcomes.mjs) over vitest JSON reports:
 * the same outcome in every run is stable; any difference — a test that failed once, a
 * file that failed to load in one run — is a flake; a test that failed every time fails.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script with JSDoc types, outside the TypeScript project
import { compareRuns, outcomesOfReport, renderTable } from '../../scripts/lib/flake-outcomes.mjs';

const root = '/repo';
type Status = 'passed' | 'failed' | 'skipped' | 'pending';
const report = (files: Record<string, Record<string, Status>>, failedFiles: string[] = []): unknown => ({
  testResults: Object.entries(files).map(([name, tests]) => ({
    name: `${root}/${name}`,
    status: failedFiles.includes(name) || Object.values(tests).includes('failed') ? 'failed' : 'passed',
    assertionResults: Object.entries(tests).map(([fullName, status]) => ({ fullName, status })),
  })),
});

describe('flake gate (runs × tests)', () => {
  it('flake gate: the same outcomes in every run are stable, nothing flaky or failing', () => {
    const run = report({ 'test/a.docker.test.ts': { 'a one': 'passed', 'a two': 'skipped' } });
    const table = compareRuns([outcomesOfReport(run, root), outcomesOfReport(run, root)]);
    expect(table.rows.map((r: { id: string }) => r.id)).toEqual(['test/a.docker.test.ts > a one', 'test/a.docker.test.ts > a two']);
    expect(table.flaky).toEqual([]);
    expect(table.failing).toEqual([]);
  });

  it('flake gate: a test that fails in one run of three is flaky; one that fails in all is failing', () => {
    const ok = report({ 'test/a.docker.test.ts': { 'a one': 'passed', 'a two': 'failed' } });
    const bad = report({ 'test/a.docker.test.ts': { 'a one': 'failed', 'a two': 'failed' } });
    const table = compareRuns([ok, bad, ok].map((r) => outcomesOfReport(r, root)));
    expect(table.flaky.map((r: { id: string }) => r.id)).toEqual(['test/a.docker.test.ts > a one']);
    expect(table.flaky[0].outcomes).toEqual(['passed', 'failed', 'passed']);
    expect(table.failing.map((r: { id: string }) => r.id)).toEqual(['test/a.docker.test.ts > a two']);
    const text = renderTable(table);
    expect(text).toContain('| test/a.docker.test.ts > a one | ✓ | ✗ | ✓ | **FLAKY** |');
    expect(text).toContain('**FAILS**');
  });

  it('flake gate: a file that fails to load in one run makes its tests absent there and its (file) row flaky', () => {
    const ok = report({ 'test/b.docker.test.ts': { 'b one': 'passed' } });
    const crashed = report({ 'test/b.docker.test.ts': {} }, ['test/b.docker.test.ts']);
    const table = compareRuns([ok, crashed].map((r) => outcomesOfReport(r, root)));
    expect(table.flaky.map((r: { id: string; outcomes: string[] }) => [r.id, r.outcomes])).toEqual([
      ['test/b.docker.test.ts > (file)', ['absent', 'failed']],
      ['test/b.docker.test.ts > b one', ['passed', 'absent']],
    ]);
  });

  it('flake gate: pending and todo count as skipped; a run with no report has every test absent', () => {
    const run = report({ 'test/c.docker.test.ts': { 'c one': 'pending' } });
    const table = compareRuns([outcomesOfReport(run, root), outcomesOfReport({ testResults: [] }, root)]);
    expect(table.rows[0].outcomes).toEqual(['skipped', 'absent']);
    expect(table.flaky).toHaveLength(1);
  });
});
