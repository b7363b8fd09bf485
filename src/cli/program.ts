import { stat } from 'node:fs/promises';
import { Command, CommanderError, Option } from 'commander';
import { keelhaulVersion } from '../version.js';
import { cleanCommand } from './clean-command.js';
import { doctorCommand } from './doctor-command.js';
import { reportError, UsageError } from './errors.js';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import { imagesBuildCommand } from './images-command.js';
import type { CliIo } from './render.js';
import { resumeCommand, runCommand } from './run-command.js';
import { suiteCommand, type SuiteCommandOptions } from './suite-command.js';
import { statusCommand } from './status-command.js';
import { planCommand, validateCommand } from './plan-command.js';
import { reportCommand } from './report-command.js';
import { reproCommand } from './repro-command.js';
import { parityCommand } from './parity-command.js';
import { SOAK_HELP, soakCommand } from './soak-command.js';
import { runReaper } from '../controller/index.js';
import { LOG_LEVELS } from './run-output.js';

/**
 * Builds the `keelhaul` program. Commands parse flags into typed options and call a
 * function that does the work; the exit code comes back through `setExitCode`, so only
 * the binary's entry (main.ts) calls `process.exit`. Commander's own exits (help,
 * version, usage errors) are turned into exceptions by `exitOverride()`.
 */
export function createProgram(io: CliIo, context: { signal?: AbortSignal; setExitCode: (code: ExitCode) => void }): Command {
  const program = new Command('keelhaul');
  const act = async (work: () => Promise<ExitCode>): Promise<void> => {
    try {
      context.setExitCode(await work());
    } catch (error) {
      context.setExitCode(reportError(error, io));
    }
  };
  const signal = context.signal ? { signal: context.signal } : {};

  program
    .description('A Docker harness for agent orchestrators: launch labelled worker containers, inject faults, prove the run recovered and nothing leaked.')
    .version(keelhaulVersion, '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP);

  program
    .command('run')
    .description('Run a scenario: launch its tasks as worker containers, inject its faults, clean up, check its invariants and write a report.')
    .argument('<scenario...>', "scenario file(s) (YAML), e.g. chaos/smoke.yaml; several files, a directory (its *.yaml) or a quoted pattern ('chaos/*.yaml') run as a suite")
    .option('--seed <n>', "seed for every random choice (unsigned 32-bit); overrides the scenario's; printed and stored with the run")
    .option('--parallel <n>', 'suites: run this many scenarios at once (default 1: in order)')
    .option('--junit <file>', 'suites: write one JUnit file with a testsuite per run (each run also writes its own junit.xml)')
    .option('--runs-dir <dir>', 'where run directories go', '.keelhaul/runs')
    .option('--compose <file>', "a Compose file to launch as the run's topology (overrides the scenario's topology.file; docs/compose.md)")
    .option('-v, --verbose', 'also print every worker event (same as --log-level verbose)')
    .option('--json', 'print every run event as one JSON line on stdout (the events.jsonl shape) and nothing else there')
    .addOption(
      new Option(
        '--log-level <level>',
        'print events at this level and above: error (what failed the run), warn, info (default), verbose (every worker and Docker event), debug',
      ).choices(LOG_LEVELS),
    )
    .option('--no-reaper', "start no reaper (nothing removes the run's resources if this process is killed)")
    .addOption(new Option('--backend <backend>', "run workers as containers (docker) or as local processes (local); overrides the scenario's backend").choices(['docker', 'local']))
    .addHelpText(
      'after',
      `
The run directory (.keelhaul/runs/<run-id>/) holds scenario.yaml (as run, with its seed),
state.json, completions.jsonl, events.jsonl, samples.jsonl, reaper.log,
attempts/<task>/<n>/{stdout,stderr}.log, report.json, report.md, report.html and junit.xml.

Output: one line per attempt transition, fault and check. On a terminal a status line
under them shows tasks done / running / failed, faults injected, agent usage and the
elapsed time; without a terminal (CI) there is no status line, only the event lines.
--json prints the events themselves, one JSON object per line.

Suites: several scenarios (files, a directory, a quoted pattern) run in order, or
--parallel N at once (each line prefixed with its scenario); then a summary table, one
merged JUnit file (--junit FILE) and suite-<time>.json in --runs-dir. The exit code is
the worst of the runs (130, 4, 3, 2, 1, 0 in that order).
${EXIT_CODES_HELP}`,
    )
    .action(
      async (
        scenarioPaths: string[],
        opts: {
          seed?: string;
          runsDir: string;
          compose?: string;
          verbose?: boolean;
          json?: boolean;
          logLevel?: string;
          reaper: boolean;
          backend?: string;
          parallel?: string;
          junit?: string;
        },
      ) =>
        act(() =>
          runOrSuite(
            {
              scenarioPaths,
              ...(opts.parallel !== undefined ? { parallel: opts.parallel } : {}),
              ...(opts.junit !== undefined ? { junit: opts.junit } : {}),
              ...(opts.compose !== undefined ? { compose: opts.compose } : {}),
              ...(opts.backend !== undefined ? { backend: opts.backend } : {}),
              ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
              runsDir: opts.runsDir,
              verbose: opts.verbose ?? false,
              json: opts.json ?? false,
              ...(opts.logLevel !== undefined ? { logLevel: opts.logLevel } : {}),
              reaper: opts.reaper,
              ...signal,
            },
            io,
          ),
        ),
    );

  program
    .command('soak')
    .description(
      'Loop a scenario with its faults for a duration, sampling controller RSS and fds, dockerd RSS and labelled resources between iterations; fail on a failed iteration, a leak, or growth past a bound.',
    )
    .argument('<scenario>', 'scenario file (YAML), e.g. chaos/smoke.yaml')
    .option('--duration <d>', 'how long to keep starting iterations (30m, 2m, 90s, 1h)', '30m')
    .option('--seed <n>', "seed of the first iteration; iteration n uses seed + n - 1 (default: the scenario's, else 0)")
    .option('--output <dir>', 'where soak.json, soak.md and the runs go (default: .keelhaul/soaks/<soak-id>)')
    .option('--max-rss-growth <size>', "bound on the controller's RSS growth (default 64m)")
    .option('--max-fd-growth <n>', 'bound on the growth of open file descriptors (default 10)')
    .option('--max-dockerd-rss-growth <size>', "bound on dockerd's RSS growth (default 256m)")
    .option('--iterations <n>', 'stop after this many iterations, even when time remains')
    .option('--warmup <n>', 'iterations not judged for growth (default 2)')
    .option('--no-reaper', 'start no reaper per run')
    .option('--json', "print one JSON line per iteration, then the soak report (soak.json's shape) as the last line, and nothing else on stdout")
    .addHelpText('after', SOAK_HELP)
    .action(
      async (
        scenarioPath: string,
        opts: {
          duration: string;
          seed?: string;
          output?: string;
          maxRssGrowth?: string;
          maxFdGrowth?: string;
          maxDockerdRssGrowth?: string;
          iterations?: string;
          warmup?: string;
          reaper: boolean;
          json?: boolean;
        },
      ) =>
        act(() =>
          soakCommand(
            {
              scenarioPath,
              duration: opts.duration,
              ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
              ...(opts.output !== undefined ? { output: opts.output } : {}),
              ...(opts.maxRssGrowth !== undefined ? { maxRssGrowth: opts.maxRssGrowth } : {}),
              ...(opts.maxFdGrowth !== undefined ? { maxFdGrowth: opts.maxFdGrowth } : {}),
              ...(opts.maxDockerdRssGrowth !== undefined ? { maxDockerdRssGrowth: opts.maxDockerdRssGrowth } : {}),
              ...(opts.iterations !== undefined ? { iterations: opts.iterations } : {}),
              ...(opts.warmup !== undefined ? { warmup: opts.warmup } : {}),
              reaper: opts.reaper,
              json: opts.json ?? false,
              ...signal,
            },
            io,
          ),
        ),
    );

  program
    .command('plan')
    .description(
      'Print the fault plan of a scenario and seed without touching Docker: when each fault fires, whether its probability draw says yes, and the draws that pick its targets.',
    )
    .argument('<scenario>', 'scenario file (YAML)')
    .option('--seed <n>', "seed (default: the scenario's, else 0)")
    .option('--json', 'print the plan as JSON')
    .addOption(new Option('--backend <backend>', "refuse (exit 2) what this backend cannot apply; default: the scenario's backend").choices(['docker', 'local']))
    .action(async (scenarioPath: string, opts: { seed?: string; json?: boolean; backend?: string }) =>
      act(() =>
        planCommand(
          { scenarioPath, ...(opts.seed !== undefined ? { seed: opts.seed } : {}), json: opts.json ?? false, ...(opts.backend !== undefined ? { backend: opts.backend } : {}) },
          io,
        ),
      ),
    );

  program
    .command('validate')
    .description('Check a scenario file: exit 0 with a summary, or exit 2 with each error naming its line and field.')
    .argument('<scenario>', 'scenario file (YAML)')
    .addOption(new Option('--backend <backend>', "also refuse what this backend cannot apply; default: the scenario's backend").choices(['docker', 'local']))
    .option('--json', 'print the summary and the host requirements as one JSON object')
    .action(async (scenarioPath: string, opts: { backend?: string; json?: boolean }) =>
      act(() => validateCommand({ scenarioPath, ...(opts.backend !== undefined ? { backend: opts.backend } : {}), json: opts.json ?? false }, io)),
    );

  program
    .command('parity')
    .description(
      'Run a scenario with workers as containers and as local processes, with the same seed, and compare the outcomes: task states, attempts, event types per attempt, workspace files.',
    )
    .argument('<scenario>', 'scenario file (YAML); every fault must be one the local backend applies (kill, stop, pause, fill-disk)')
    .option('--seed <n>', "seed for both runs (default: the scenario's, else a random one, printed)")
    .option('--runs-dir <dir>', 'where the two run directories go', '.keelhaul/runs')
    .option('--json', 'print the parity result as JSON')
    .addHelpText(
      'after',
      `
Compared: the run's status; per task its final state and number of attempts; per attempt
its outcome, exit code and worker event types in order (heartbeats left out: their number
is timing); per task the workspace's files (paths and SHA-256). Memory, pids and CPU
limits apply only to containers: a task that needs more than the limit differs, and the
table names it. parity.json and parity.md go into both run directories.

Exit codes:
  0    parity: every compared value is the same
  1    a value differs (the table names task and field), or a run could not finish
  2    bad input: the scenario or a flag
  3    the local backend cannot apply a fault or setting of the scenario, or no daemon answers
  4    keelhaul's own error (a bug)
  130  interrupted`,
    )
    .action(async (scenarioPath: string, opts: { seed?: string; runsDir: string; json?: boolean }) =>
      act(() => parityCommand({ scenarioPath, ...(opts.seed !== undefined ? { seed: opts.seed } : {}), runsDir: opts.runsDir, json: opts.json ?? false, ...signal }, io)),
    );

  program
    .command('resume')
    .description('Take over a run whose controller died: re-attach running attempts, judge exited ones, re-run missing ones, never re-run a completed task; then finish it.')
    .argument('<run>', 'run id (under --runs-dir) or run directory')
    .option('--runs-dir <dir>', 'where run directories are', '.keelhaul/runs')
    .option('-v, --verbose', 'also print every worker event (same as --log-level verbose)')
    .option('--json', 'print every run event as one JSON line on stdout and nothing else there')
    .addOption(new Option('--log-level <level>', 'print events at this level and above (see run --help)').choices(LOG_LEVELS))
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (run: string, opts: { runsDir: string; verbose?: boolean; json?: boolean; logLevel?: string }) =>
      act(() =>
        resumeCommand(
          { run, runsDir: opts.runsDir, verbose: opts.verbose ?? false, json: opts.json ?? false, ...(opts.logLevel !== undefined ? { logLevel: opts.logLevel } : {}), ...signal },
          io,
        ),
      ),
    );

  program
    .command('repro')
    .description(
      "Re-run one attempt of a run exactly (image id, environment, network mode, volumes, resources, seed, its faults re-timed from the task's start) as a new run, and say whether its failure reproduced; or export it as a Compose file.",
    )
    .argument('<run>', 'run id (under --runs-dir) or run directory')
    .option('--task <id>', 'the task (default: that of the first failed, killed, oom or hung attempt)')
    .option('--attempt <n>', 'the attempt number (default: the first failed, killed, oom or hung one)')
    .option(
      '--export <format-and-file...>',
      "`--export compose <file>`: write the attempt (and the run's topology) as a Compose file docker-compose accepts, instead of running it",
    )
    .option('--runs-dir <dir>', 'where run directories are, and where the repro run goes', '.keelhaul/runs')
    .option('-v, --verbose', 'also print every worker event')
    .addHelpText(
      'after',
      `
The repro is a new run with its own id and labels: one attempt, no retry, the same seed.
Reproduced means the same outcome, exit code and reason as the original (docs/repro.md).

Exit codes:
  0    the failure reproduced (--export: the file was written)
  1    it did not: the outcome, exit code or reason differ
  2    bad input: no such run, task or attempt, nothing failed, a bad flag
  3    no daemon answers, or the image is missing
  4    keelhaul's own error (a bug)
  130  interrupted`,
    )
    .action(async (run: string, opts: { task?: string; attempt?: string; export?: string[]; runsDir: string; verbose?: boolean }) =>
      act(() =>
        reproCommand(
          {
            run,
            ...(opts.task !== undefined ? { task: opts.task } : {}),
            ...(opts.attempt !== undefined ? { attempt: opts.attempt } : {}),
            ...(opts.export !== undefined ? { export: opts.export } : {}),
            runsDir: opts.runsDir,
            verbose: opts.verbose ?? false,
            ...signal,
          },
          io,
        ),
      ),
    );

  program
    .command('report')
    .description("Render a finished run's report: one format to stdout or a file, or (re)write report.json, report.md, report.html and junit.xml in its run directory.")
    .argument('<run-dir-or-run-id>', 'a run directory, its report.json, or a run id under --runs-dir')
    .addOption(new Option('--format <format>', 'render one format to stdout (or to --output)').choices(['json', 'md', 'html', 'junit']))
    .option('--output <file>', 'write the rendered format to this file (atomically); without --format the extension decides (.json .md .html .xml)')
    .option('--runs-dir <dir>', 'where run ids are looked up', '.keelhaul/runs')
    .action(async (runDir: string, opts: { format?: string; output?: string; runsDir: string }) =>
      act(() => reportCommand({ runDir, runsDir: opts.runsDir, ...(opts.format ? { format: opts.format } : {}), ...(opts.output ? { output: opts.output } : {}) }, io)),
    );

  program
    .command('status')
    .description('Without a run id: one line per run. With one: its tasks by state, its attempts, and its containers found by label query.')
    .argument('[run]', 'run id or run directory')
    .option('--runs-dir <dir>', 'where run directories are', '.keelhaul/runs')
    .option('--json', 'print the runs (or the run) as one JSON object')
    .action(async (run: string | undefined, opts: { runsDir: string; json?: boolean }) =>
      act(() => statusCommand({ ...(run ? { run } : {}), runsDir: opts.runsDir, json: opts.json ?? false }, io)),
    );

  program
    .command('reaper', { hidden: true })
    .description("(internal) watch a run's controller; remove the run's resources when it has been dead for the TTL")
    .argument('<run-dir>')
    .requiredOption('--ttl <ms>', 'how long the controller must be dead, ms')
    .action(async (runDir: string, opts: { ttl: string }) =>
      act(async () => {
        const ttlMs = Number(opts.ttl);
        if (!Number.isInteger(ttlMs) || ttlMs < 0) throw new UsageError('--ttl', `Expected \`--ttl\` to be a whole number of ms, got \`${opts.ttl}\``);
        await runReaper({ runDir, ttlMs, ...signal });
        return ExitCode.ok;
      }),
    );

  const images = program.command('images').description('Build the images keelhaul runs (offline: no registry needed).');
  images
    .command('build')
    .description("Build keelhaul/worker:<version> FROM scratch from the host's node, its libraries, busybox-static and the compiled worker; skipped when nothing changed.")
    .option('--force', 'rebuild even when the image is up to date')
    .option('-q, --quiet', "do not print the builder's output")
    .action(async (opts: { force?: boolean; quiet?: boolean }) => act(() => imagesBuildCommand({ force: opts.force ?? false, quiet: opts.quiet ?? false, ...signal }, io)));

  program
    .command('doctor')
    .description(
      'Check that a Docker daemon answers (version, API version) and that the worker image exists; say what to do when not. With a scenario: also what it needs from this host (root, tc, iptables, a private daemon) and its image.',
    )
    .argument('[scenario]', 'a scenario file: check what it needs too')
    .option('--json', 'print the findings as one JSON object ({ ready, findings: [{ name, ok, detail, fix? }] })')
    .addHelpText(
      'after',
      `
Exit codes:
  0    keelhaul can run (the scenario, when given)
  2    the scenario is not valid
  3    something is missing: each MISS line says what to do`,
    )
    .action(async (scenarioPath: string | undefined, opts: { json?: boolean }) =>
      act(() => doctorCommand(io, { ...(scenarioPath !== undefined ? { scenarioPath } : {}), json: opts.json ?? false })),
    );

  program
    .command('clean')
    .description("Remove runs' containers, networks and volumes by their run label.")
    .option('--run <run-id>', 'one run')
    .option('--stale', 'every run whose controller (pid and start time) is no longer a live process')
    .option('--all', 'every keelhaul run on this daemon, live ones included')
    .option('--runs-dir <dir>', "where run directories are (to read resumed runs' controllers)", '.keelhaul/runs')
    .option('--json', 'print what was kept and removed as one JSON object ({ kept: [{ run, pid }], runs: [{ run, containers, networks, volumes, errors }] })')
    .action(async (opts: { run?: string; stale?: boolean; all?: boolean; runsDir: string; json?: boolean }) =>
      act(() =>
        cleanCommand({ ...(opts.run ? { runId: opts.run } : {}), stale: opts.stale ?? false, all: opts.all ?? false, runsDir: opts.runsDir, json: opts.json ?? false }, io),
      ),
    );

  return program;
}

/** One scenario file and no suite flag: a plain run, as ever; anything else: a suite. */
async function runOrSuite(options: SuiteCommandOptions, io: CliIo): Promise<ExitCode> {
  const [only, ...rest] = options.scenarioPaths;
  const plainFile =
    only !== undefined &&
    rest.length === 0 &&
    !/[*?]/.test(only) &&
    !(await stat(only).then(
      (i) => i.isDirectory(),
      () => false,
    ));
  if (plainFile && options.parallel === undefined && options.junit === undefined) {
    const { scenarioPaths: _paths, parallel: _parallel, junit: _junit, ...run } = options;
    return runCommand({ ...run, scenarioPath: only }, io);
  }
  return suiteCommand(options, io);
}

/**
 * Runs the CLI on `argv` (without node and script) and returns the exit code.
 * Never calls process.exit.
 */
export async function runCli(argv: readonly string[], io: CliIo, signal?: AbortSignal): Promise<ExitCode> {
  let code: ExitCode = ExitCode.ok;
  const program = createProgram(io, { ...(signal ? { signal } : {}), setExitCode: (c) => (code = c) });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version are successful exits; anything else commander refuses is usage.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.badInput;
    }
    return reportError(error, io);
  }
  return code;
}
