import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import PQueue from 'p-queue';
import { writeFileAtomic } from '../atomic-file.js';
import { renderJunitReport, type RunReport } from '../report/index.js';
import { reportError, UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './render.js';
import { runScenarioCommand, type RunCommandOptions } from './run-command.js';

/** A name pattern with `*` (any run of characters but `/`) and `?` (one), as shells read them. */
function patternToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${escaped}$`);
}

/**
 * The scenario files named by `run`'s arguments, in order, each once: a file as it is; a
 * directory: its `*.yaml` and `*.yml` files, sorted by name; a pattern with `*` or `?` in
 * its last segment (quoted, so the shell left it alone): the matching files of that
 * directory, sorted.
 *
 * @throws {UsageError} naming an argument that is neither a file, a directory, nor a pattern matching any file
 */
export async function expandScenarioArgs(args: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const add = (file: string): void => {
    if (!out.includes(file)) out.push(file);
  };
  for (const arg of args) {
    const name = basename(arg);
    if (/[*?]/.test(name) && !/[*?]/.test(dirname(arg))) {
      const dir = dirname(arg);
      const re = patternToRegExp(name);
      const matches = (await readdir(dir).catch(() => [] as string[])).filter((f) => re.test(f)).sort();
      if (matches.length === 0) throw new UsageError('<scenario>', `\`${arg}\` matches no file`);
      for (const f of matches) add(join(dir, f));
      continue;
    }
    const info = await stat(arg).catch(() => undefined);
    if (info?.isDirectory()) {
      const files = (await readdir(arg)).filter((f) => /\.ya?ml$/.test(f)).sort();
      if (files.length === 0) throw new UsageError('<scenario>', `\`${arg}\` is a directory with no .yaml or .yml file`);
      for (const f of files) add(join(arg, f));
      continue;
    }
    // A file, or a path that does not exist: the scenario loader names it (exit 2) as for a single run.
    add(arg);
  }
  return out;
}

/** One row of a suite: a scenario and how its run ended. */
export interface SuiteRow {
  readonly scenario: string;
  readonly runId: string | null;
  readonly status: 'passed' | 'failed' | 'error';
  readonly exitCode: ExitCode;
  /** The names of the checks that failed, or the error that stopped the run before it started. */
  readonly failed: readonly string[];
  readonly durationMs: number;
  readonly runDir: string | null;
}

/** The worst of several exit codes: interrupted, then keelhaul's own error, environment, bad input, a failed check, passed. */
export function worstExitCode(codes: readonly ExitCode[]): ExitCode {
  const rank: readonly ExitCode[] = [ExitCode.ok, ExitCode.failed, ExitCode.badInput, ExitCode.environment, ExitCode.internal, ExitCode.interrupted];
  return codes.reduce<ExitCode>((worst, c) => (rank.indexOf(c) > rank.indexOf(worst) ? c : worst), ExitCode.ok);
}

/** Options of {@link suiteCommand}: those of `run` for every scenario, and the suite's own. */
export interface SuiteCommandOptions extends Omit<RunCommandOptions, 'scenarioPath'> {
  readonly scenarioPaths: readonly string[];
  /** `--parallel N`: runs at once (default 1, in order). */
  readonly parallel?: string;
  /** `--junit FILE`: one JUnit file with a `<testsuite>` per run. */
  readonly junit?: string;
}

/**
 * `keelhaul run A.yaml B.yaml dir/ 'chaos/*.yaml' [--parallel N] [--junit FILE]`: runs
 * several scenarios, in order (or N at once, each output line prefixed with its scenario),
 * prints a summary table, writes one merged JUnit file and `suite.json` (the rows) in the
 * runs directory, and returns the worst exit code of the runs ({@link worstExitCode}). A
 * scenario refused before it started (bad input, no image) is a row with its error; the
 * others still run.
 */
export async function suiteCommand(options: SuiteCommandOptions, io: CliIo): Promise<ExitCode> {
  const parallel = options.parallel === undefined ? 1 : Number(options.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 16)
    throw new UsageError('--parallel', `Expected \`--parallel\` to be a whole number from 1 to 16, got \`${options.parallel}\``);
  const files = await expandScenarioArgs(options.scenarioPaths);
  const runsDir = resolve(options.runsDir ?? join('.keelhaul', 'runs'));
  const rows: (SuiteRow | undefined)[] = files.map(() => undefined);
  const reports: (RunReport | undefined)[] = files.map(() => undefined);
  if (!options.json) io.out(`suite: ${files.length} scenario(s)${parallel > 1 ? `, ${parallel} at once` : ', in order'}`);
  const queue = new PQueue({ concurrency: parallel });
  await Promise.all(
    files.map((file, i) =>
      queue.add(async () => {
        if (options.signal?.aborted) return;
        const prefix = parallel > 1 ? `[${basename(file)}] ` : '';
        const runIo: CliIo = { out: (l) => io.out(`${prefix}${l}`), err: (l) => io.err(`${prefix}${l}`) };
        const started = Date.now();
        try {
          const { code, result } = await runScenarioCommand({ ...options, scenarioPath: file }, runIo);
          reports[i] = result.report;
          rows[i] = {
            scenario: file,
            runId: result.report.runId,
            status: result.report.status,
            exitCode: code,
            failed: [...result.report.checks.filter((c) => !c.ok).map((c) => c.name), ...(result.report.error ? [`run: ${result.report.error}`] : [])],
            durationMs: result.report.durationMs,
            runDir: result.runDir,
          };
        } catch (error) {
          const lines: string[] = [];
          const code = reportError(error, { out: (l) => lines.push(l), err: (l) => lines.push(l) });
          for (const l of lines) runIo.err(l);
          rows[i] = {
            scenario: file,
            runId: null,
            status: 'error',
            exitCode: code,
            failed: [lines[0]?.replace(/^keelhaul: /, '') ?? String(error)],
            durationMs: Date.now() - started,
            runDir: null,
          };
        }
      }),
    ),
  );
  const done = rows.filter((r): r is SuiteRow => r !== undefined);
  const code = options.signal?.aborted ? ExitCode.interrupted : worstExitCode(done.map((r) => r.exitCode));
  const suitePath = join(runsDir, `suite-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFileAtomic(suitePath, `${JSON.stringify({ exitCode: code, rows: done }, null, 2)}\n`);
  if (options.junit) await writeFileAtomic(resolve(options.junit), renderJunitReport(reports.filter((r): r is RunReport => r !== undefined)));
  const say = (l: string): void => (options.json ? io.err(l) : io.out(l));
  say('');
  say('suite summary:');
  const width = Math.max(8, ...done.map((r) => r.scenario.length));
  say(`  ${'scenario'.padEnd(width)}  ${'status'.padEnd(7)}  exit  ${'time'.padStart(7)}  run / what failed`);
  for (const r of done) {
    say(
      `  ${r.scenario.padEnd(width)}  ${r.status.padEnd(7)}  ${String(r.exitCode).padStart(4)}  ${`${(r.durationMs / 1000).toFixed(1)} s`.padStart(7)}  ${r.runId ?? '-'}${r.failed.length ? `: ${r.failed.join(', ')}` : ''}`,
    );
  }
  say(`suite ${code === ExitCode.ok ? 'PASSED' : 'FAILED'}: ${done.filter((r) => r.status === 'passed').length} of ${files.length} passed; exit ${code}`);
  say(`suite report: ${suitePath}`);
  if (options.junit) say(`junit: ${resolve(options.junit)}`);
  return code;
}
