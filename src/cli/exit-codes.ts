/**
 * Exit codes of the `keelhaul` binary, for CI to act on:
 * - 0: the run passed (every check held) / the command did what it was asked;
 * - 1: the run finished and at least one check failed (or the run itself failed: timeout, lost daemon);
 * - 2: bad input or an environment that cannot run: malformed scenario, unknown fault kind,
 *      missing image, no daemon, bad flags. Nothing was started;
 * - 130: interrupted (SIGINT/SIGTERM) after cleaning up, as shells report 128 + SIGINT's 2.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  badInput: 2,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
