import { Command, CommanderError } from 'commander';
import { keelhaulVersion } from '../version.js';
import { cleanCommand } from './clean-command.js';
import { doctorCommand } from './doctor-command.js';
import { reportError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { imagesBuildCommand } from './images-command.js';
import type { CliIo } from './render.js';
import { runCommand } from './run-command.js';

const EXIT_CODES_HELP = `
Exit codes:
  0    the run passed: every check held (other commands: done)
  1    the run finished and a check failed, or the run itself failed
  2    bad input or an environment that cannot run (scenario, flags, image, daemon); nothing was started
  130  interrupted; the run's resources were removed before exiting`;

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
    .argument('<scenario>', 'scenario file (YAML), e.g. chaos/smoke.yaml')
    .option('--seed <n>', 'seed for every random choice (unsigned 32-bit); overrides the scenario\'s; printed and stored with the run')
    .option('--runs-dir <dir>', 'where run directories go', '.keelhaul/runs')
    .option('-v, --verbose', 'also print every worker event')
    .addHelpText('after', `
The run directory (.keelhaul/runs/<run-id>/) holds scenario.yaml (as run, with its seed),
events.jsonl, attempts/<task>/<n>/{stdout,stderr}.log and report.json.
${EXIT_CODES_HELP}`)
    .action(async (scenarioPath: string, opts: { seed?: string; runsDir: string; verbose?: boolean }) =>
      act(() =>
        runCommand(
          {
            scenarioPath,
            ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
            runsDir: opts.runsDir,
            verbose: opts.verbose ?? false,
            ...signal,
          },
          io,
        ),
      ),
    );

  const images = program.command('images').description('Build the images keelhaul runs (offline: no registry needed).');
  images
    .command('build')
    .description('Build keelhaul/worker:<version> FROM scratch from the host\'s node, its libraries, busybox-static and the compiled worker; skipped when nothing changed.')
    .option('--force', 'rebuild even when the image is up to date')
    .option('-q, --quiet', 'do not print the builder\'s output')
    .action(async (opts: { force?: boolean; quiet?: boolean }) =>
      act(() => imagesBuildCommand({ force: opts.force ?? false, quiet: opts.quiet ?? false, ...signal }, io)),
    );

  program
    .command('doctor')
    .description('Check that a Docker daemon answers (version, API version) and that the worker image exists; say what to do when not.')
    .action(async () => act(() => doctorCommand(io)));

  program
    .command('clean')
    .description('Remove the containers, networks and volumes of a run (by its run label), or of every run whose controller is gone (--all).')
    .argument('[run-id]', 'the run to clean')
    .option('--all', 'every keelhaul run on this daemon whose controller process is not alive')
    .action(async (runId: string | undefined, opts: { all?: boolean }) =>
      act(() => cleanCommand({ ...(runId ? { runId } : {}), all: opts.all ?? false }, io)),
    );

  return program;
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
