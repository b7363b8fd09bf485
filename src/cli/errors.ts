import { DaemonUnavailableError, DockerError, ImageBuildError, ImageNotFoundError } from '../docker/index.js';
import { FaultSupportError } from '../chaos/index.js';
import { MissingSecretError, ReproError, ResumeError, StateError, UnsafePathError } from '../controller/index.js';
import { ComposeError } from '../compose/index.js';
import { DaemonStartError } from '../daemon/index.js';
import { ScenarioError } from '../scenario/index.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './render.js';

/** A usage problem found by a command itself (a bad flag value); exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The flag or argument at fault, e.g. `--seed`. */
  readonly option: string;
  constructor(option: string, message: string) {
    super(message);
    this.option = option;
  }
}

/**
 * Prints an error the way a user can act on it and returns the exit code: 2 for bad input
 * and an environment that cannot run, 1 for anything else.
 */
export function reportError(error: unknown, io: CliIo): ExitCode {
  if (error instanceof ScenarioError || error instanceof UsageError || error instanceof StateError || error instanceof ResumeError || error instanceof UnsafePathError || error instanceof MissingSecretError || error instanceof ReproError || error instanceof ComposeError || error instanceof FaultSupportError || error instanceof DaemonStartError) {
    io.err(`keelhaul: ${error.message}`);
    return ExitCode.badInput;
  }
  if (error instanceof ImageNotFoundError || error instanceof DaemonUnavailableError) {
    io.err(`keelhaul: ${error.message}`);
    return ExitCode.badInput;
  }
  if (error instanceof ImageBuildError) {
    io.err(`keelhaul: ${error.message}`);
    if (error.log.length) io.err(`last lines of the build:\n  ${error.log.slice(-15).join('\n  ')}`);
    return ExitCode.failed;
  }
  if (error instanceof DockerError) {
    io.err(`keelhaul: ${error.message}`);
    return ExitCode.failed;
  }
  if (error instanceof Error && error.name === 'WorkerImageInputError') {
    io.err(`keelhaul: ${error.message}`);
    return ExitCode.badInput;
  }
  io.err(`keelhaul: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return ExitCode.failed;
}
