/**
 * Exit codes of the `keelhaul` binary, for CI to act on (README "Exit codes", `--help`):
 * - 0: the run passed (every check held) / the command did what it was asked;
 * - 1: the run finished and at least one check failed — the system under test misbehaved
 *      (or the run itself failed: timeout, a daemon lost past its outage limit);
 * - 2: bad input: a malformed scenario, an unknown fault kind, a bad flag, a run id that
 *      names nothing resumable. Nothing was started;
 * - 3: the environment cannot run it: no daemon answers, a missing image, no root for a
 *      fault that acts from the host, a missing host tool, a fault or setting the chosen
 *      backend cannot apply, a private daemon that would not start. Nothing was started;
 * - 4: keelhaul's own error (a bug): the stack is written to the run directory
 *      (`error.log`) or, before one exists, to `.keelhaul/errors/`;
 * - 130: interrupted (SIGINT/SIGTERM) after cleaning up, as shells report 128 + SIGINT's 2.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  badInput: 2,
  environment: 3,
  internal: 4,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit codes as `--help` prints them (every command that runs a scenario shows these). */
export const EXIT_CODES_HELP = `
Exit codes:
  0    the run passed: every check held (other commands: done)
  1    the run finished and a check failed (the system under test misbehaved), or the run itself failed
  2    bad input: the scenario, a flag, a run id; nothing was started
  3    this environment cannot run it: no daemon, a missing image, no root or tool for a fault,
       a fault the backend cannot apply; nothing was started
  4    keelhaul's own error (a bug): the stack is in the run directory's error.log (or .keelhaul/errors/)
  130  interrupted; the run's resources were removed before exiting`;
