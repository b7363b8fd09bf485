// The flake gate's pure part: reads vitest JSON reports (one per run of the suite), builds
// the runs × tests table, and finds flakes (a test whose outcome differs between runs) and
// steady failures (failed in every run). No I/O here, so a unit test drives it with fixtures.

/**
 * @typedef {'passed' | 'failed' | 'skipped' | 'absent'} Outcome
 *   `skipped` covers vitest's skipped, pending and todo; `absent`: the test did not appear in
 *   that run at all (its file failed to load, or the run crashed before reaching it).
 */

/**
 * @typedef {object} TestRow
 * @property {string} id        `<file relative to the root> > <full test name>`
 * @property {Outcome[]} outcomes  one per run, in run order
 * @property {boolean} flaky    outcomes differ between runs
 * @property {boolean} failing  failed (or absent) in every run, failed in at least one
 */

/**
 * Outcomes of one vitest JSON report (`--reporter=json`): test id → outcome. A file that
 * failed outside any test (a hook, a syntax error) gets its own row, `<file> > (file)`,
 * `failed`; absent in runs where the file was fine, so such a failure in one run and not
 * another is a flake too.
 *
 * @param {any} report  the parsed JSON (Jest-compatible shape: testResults[].assertionResults[])
 * @param {string} root  the project root, stripped from file names
 * @returns {Map<string, Outcome>}
 */
export function outcomesOfReport(report, root) {
  /** @type {Map<string, Outcome>} */
  const outcomes = new Map();
  for (const file of report?.testResults ?? []) {
    const name = String(file.name ?? '?').startsWith(root) ? String(file.name).slice(root.length).replace(/^\/+/, '') : String(file.name ?? '?');
    for (const test of file.assertionResults ?? []) {
      const status = test.status === 'passed' ? 'passed' : test.status === 'failed' ? 'failed' : 'skipped';
      outcomes.set(`${name} > ${test.fullName ?? test.title}`, status);
    }
    // A file that failed with no failed test in it failed outside the tests (load error, hook).
    const fileFailed = file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed');
    // Only a failing file gets a row: in the runs where it loaded fine the row is absent,
    // so a file that fails in some runs only shows as flaky.
    if (fileFailed) outcomes.set(`${name} > (file)`, 'failed');
  }
  return outcomes;
}

/**
 * The runs × tests table. Every test seen in any run is a row; a run that did not report
 * it gives `absent`.
 *
 * @param {Map<string, Outcome>[]} runs  one map per run, in order
 * @returns {{ rows: TestRow[], flaky: TestRow[], failing: TestRow[], runs: number }}
 */
export function compareRuns(runs) {
  const ids = [...new Set(runs.flatMap((r) => [...r.keys()]))].sort();
  const rows = ids.map((id) => {
    /** @type {Outcome[]} */
    const outcomes = runs.map((r) => r.get(id) ?? 'absent');
    const flaky = new Set(outcomes).size > 1;
    const failing = outcomes.every((o) => o === 'failed' || o === 'absent') && outcomes.includes('failed');
    return { id, outcomes, flaky, failing };
  });
  return { rows, flaky: rows.filter((r) => r.flaky), failing: rows.filter((r) => r.failing), runs: runs.length };
}

const SYMBOL = { passed: '✓', failed: '✗', skipped: '○', absent: '–' };

/**
 * The table as text for the terminal and as Markdown: one row per test, one column per run
 * (✓ passed, ✗ failed, ○ skipped, – absent), flaky rows marked. `onlyInteresting` keeps the
 * flaky and failing rows (plus a count of the rest), for a long suite.
 *
 * @param {{ rows: TestRow[], runs: number }} table
 * @param {{ onlyInteresting?: boolean }} [options]
 * @returns {string}
 */
export function renderTable(table, options = {}) {
  const shown = options.onlyInteresting ? table.rows.filter((r) => r.flaky || r.failing) : table.rows;
  const header = `| test | ${Array.from({ length: table.runs }, (_, i) => `${i + 1}`).join(' | ')} | verdict |`;
  const rule = `| --- | ${Array.from({ length: table.runs }, () => ':-:').join(' | ')} | --- |`;
  const lines = [header, rule];
  for (const row of shown) {
    const verdict = row.flaky ? '**FLAKY**' : row.failing ? '**FAILS**' : 'stable';
    lines.push(`| ${row.id.replaceAll('|', '\\|')} | ${row.outcomes.map((o) => SYMBOL[o]).join(' | ')} | ${verdict} |`);
  }
  const hidden = table.rows.length - shown.length;
  if (hidden > 0) lines.push(`| (${hidden} more test(s) with the same outcome in every run) | ${Array.from({ length: table.runs }, () => '=').join(' | ')} | stable |`);
  return lines.join('\n');
}
