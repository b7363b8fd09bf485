#!/usr/bin/env node
// The flake gate (issue 8, item 1): runs the integration suite (vitest project `docker`)
// N times and fails on any difference in outcome between runs; prints a table of runs ×
// tests. `npm run gate:flake -- --runs 10` nightly; `--runs 2` in CI (.ci/run).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { execa } from 'execa';
import { compareRuns, outcomesOfReport, renderTable } from './lib/flake-outcomes.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const positiveInt = (flag) => (text) => {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1) throw new InvalidArgumentError(`Expected \`${flag}\` to be an integer ≥ 1, got \`${text}\``);
  return n;
};

const program = new Command('gate:flake')
  .description('Run the integration suite (vitest project `docker`) N times; fail on any difference in outcome between runs.')
  .option('--runs <n>', 'how many times to run the suite', positiveInt('--runs'), 10)
  .option('--files <filters...>', 'only these test files (vitest filters: a path or part of one), for a subset while developing')
  .option('--project <name>', 'the vitest project to run', 'docker')
  .option('--output <dir>', 'where run-N.json, flake.json and flake.md go (default: .keelhaul/flake-gate/<timestamp>)')
  .option('--only-problems', 'print only the flaky and failing rows (flake.md always has every row)')
  .addHelpText(
    'after',
    `
Each run is \`vitest run --project <name> --reporter=json\`; a test's outcome is passed,
failed, skipped or absent (not reported in that run; a file failing outside its tests is
its own "(file)" row). A test whose outcome differs between runs is FLAKY; one that failed
in every run FAILS. The table (✓ passed, ✗ failed, ○ skipped, – absent) goes to stdout
and flake.md; flake.json holds every outcome.

Exit codes:
  0    every test had the same outcome in every run, and none failed
  1    a flake, or a test that failed in every run
  2    bad usage
  130  interrupted (the suite run in flight is stopped)`,
  )
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

let opts;
try {
  program.parse(process.argv.slice(2), { from: 'user' });
  opts = program.opts();
} catch (error) {
  process.exit(error.exitCode === 0 ? 0 : 2);
}

const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
const output = resolve(opts.output ?? join(root, '.keelhaul', 'flake-gate', stamp));
await mkdir(output, { recursive: true });

let interrupted = false;
let current;
for (const name of ['SIGINT', 'SIGTERM']) {
  process.on(name, () => {
    interrupted = true;
    current?.kill(name);
  });
}

const runs = [];
const startedAt = new Date().toISOString();
for (let i = 1; i <= opts.runs && !interrupted; i++) {
  const jsonFile = join(output, `run-${i}.json`);
  process.stderr.write(`gate:flake: run ${i} of ${opts.runs}${opts.files ? ` (${opts.files.join(' ')})` : ''}\n`);
  const started = Date.now();
  current = execa('vitest', ['run', '--project', opts.project, '--reporter=dot', '--reporter=json', `--outputFile.json=${jsonFile}`, ...(opts.files ?? [])], {
    cwd: root,
    preferLocal: true, // node_modules/.bin/vitest, without npx in between (signals reach vitest itself)
    reject: false,
    stdout: 'inherit',
    stderr: 'inherit',
  });
  const result = await current;
  current = undefined;
  if (interrupted) break;
  let report;
  try {
    report = JSON.parse(await readFile(jsonFile, 'utf8'));
  } catch (error) {
    // vitest died before writing its report: every test of this run is absent.
    process.stderr.write(`gate:flake: run ${i} wrote no JSON report (exit ${result.exitCode}): ${error.message}\n`);
    report = { testResults: [] };
  }
  const outcomes = outcomesOfReport(report, root);
  runs.push({ run: i, exitCode: result.exitCode ?? null, durationMs: Date.now() - started, outcomes });
  process.stderr.write(
    `gate:flake: run ${i}: ${[...outcomes.values()].filter((o) => o === 'failed').length} failed of ${outcomes.size} row(s), vitest exit ${result.exitCode}, ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
}

const table = compareRuns(runs.map((r) => r.outcomes));
const text = renderTable(table, { onlyInteresting: Boolean(opts.onlyProblems) });
const verdict = interrupted
  ? `INTERRUPTED after ${runs.length} complete run(s)`
  : table.flaky.length === 0 && table.failing.length === 0
    ? `PASSED: ${table.rows.length} row(s), the same outcome in all ${runs.length} run(s)`
    : `FAILED: ${table.flaky.length} flaky, ${table.failing.length} failing in every run (of ${table.rows.length} row(s), ${runs.length} run(s))`;
const flake = {
  startedAt,
  endedAt: new Date().toISOString(),
  project: opts.project,
  files: opts.files ?? null,
  runsRequested: opts.runs,
  runs: runs.map((r) => ({ run: r.run, exitCode: r.exitCode, durationMs: r.durationMs })),
  status: interrupted ? 'interrupted' : table.flaky.length === 0 && table.failing.length === 0 ? 'passed' : 'failed',
  flaky: table.flaky.map((r) => r.id),
  failing: table.failing.map((r) => r.id),
  tests: table.rows.map((r) => ({ id: r.id, outcomes: r.outcomes, flaky: r.flaky, failing: r.failing })),
};
await writeFile(join(output, 'flake.json'), `${JSON.stringify(flake, null, 2)}\n`);
await writeFile(join(output, 'flake.md'), `# Flake gate: ${verdict}\n\n${renderTable(table)}\n`);
process.stdout.write(`\n${text}\n\ngate:flake ${verdict}\nreport: ${join(output, 'flake.md')}\n`);
process.exit(interrupted ? 130 : flake.status === 'passed' ? 0 : 1);
