import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { keelhaulVersion } from '../version.js';
import { DaemonUnavailableError, DockerError, ImageBuildError, ImageNotFoundError } from '../docker/index.js';
import { FaultSupportError } from '../chaos/index.js';
import { MissingSecretError, ReproError, ResumeError, StateError, UnsafePathError } from '../controller/index.js';
import { ComposeError } from '../compose/index.js';
import { DaemonStartError } from '../daemon/index.js';
import { InterpolationError, ScenarioError } from '../scenario/index.js';
import { SutParityError } from '../parity/index.js';
import { SutStartError } from '../sut/index.js';
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
 * An error that escaped a run after its run directory existed: `reportError` writes the
 * stack of an unexpected `cause` to `<runDir>/error.log` rather than to `.keelhaul/errors/`.
 */
export class RunCommandError extends Error {
  override name = 'RunCommandError';
  /** The run directory the error happened in. */
  readonly runDir: string;
  constructor(runDir: string, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.runDir = runDir;
  }
}

/** Where `reportError` writes the stack of keelhaul's own errors when no run directory is known. */
export const ERROR_LOG_DIR = join('.keelhaul', 'errors');

/**
 * Prints an error the way a user can act on it and returns the exit code (exit-codes.ts):
 * 2 for bad input, 3 for an environment that cannot run, 4 for anything unexpected — a
 * bug in keelhaul, whose stack goes to a file (the run directory's `error.log`, else
 * {@link ERROR_LOG_DIR}) that the message names.
 */
export function reportError(error: unknown, io: CliIo): ExitCode {
  const runDir = error instanceof RunCommandError ? error.runDir : undefined;
  const cause = error instanceof RunCommandError ? error.cause : error;
  const code = exitCodeOf(cause);
  if (code !== ExitCode.internal) {
    io.err(`keelhaul: ${(cause as Error).message}`);
    if (cause instanceof ImageBuildError && cause.log.length) io.err(`last lines of the build:\n  ${cause.log.slice(-15).join('\n  ')}`);
    return code;
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  const stack = cause instanceof Error ? (cause.stack ?? message) : String(cause);
  const file = writeErrorLog(stack, runDir);
  io.err(`keelhaul: internal error (a bug in keelhaul, not in what it tested): ${message}`);
  io.err(file ? `keelhaul: the stack is in ${file}; please report it with that file` : `keelhaul: the stack (no file could be written):\n${stack}`);
  return ExitCode.internal;
}

/** The exit code an error means; {@link ExitCode.internal} for any error keelhaul did not expect. */
export function exitCodeOf(error: unknown): ExitCode {
  if (
    error instanceof ScenarioError ||
    error instanceof UsageError ||
    error instanceof StateError ||
    error instanceof ResumeError ||
    error instanceof UnsafePathError ||
    error instanceof MissingSecretError ||
    error instanceof ReproError ||
    error instanceof ComposeError ||
    error instanceof SutParityError ||
    error instanceof SutStartError ||
    error instanceof InterpolationError
  ) {
    return ExitCode.badInput;
  }
  if (
    error instanceof FaultSupportError ||
    error instanceof DaemonStartError ||
    error instanceof ImageNotFoundError ||
    error instanceof DaemonUnavailableError ||
    error instanceof ImageBuildError ||
    error instanceof DockerError
  ) {
    return ExitCode.environment;
  }
  // images/ words a missing busybox or node binary on the host this way (no import: a cycle).
  if (error instanceof Error && error.name === 'WorkerImageInputError') return ExitCode.environment;
  return ExitCode.internal;
}

/** Writes `stack` to `<runDir>/error.log` or a new file under {@link ERROR_LOG_DIR}; its path, or undefined when nothing could be written. */
function writeErrorLog(stack: string, runDir: string | undefined): string | undefined {
  const text = `keelhaul ${keelhaulVersion} on Node.js ${process.version}, ${new Date().toISOString()}\nargv: ${process.argv.slice(2).join(' ')}\n\n${stack}\n`;
  for (const file of [runDir ? join(runDir, 'error.log') : undefined, join(ERROR_LOG_DIR, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`)]) {
    if (file === undefined) continue;
    try {
      mkdirSync(dirname(file), { recursive: true });
      appendFileSync(file, text);
      return resolve(file);
    } catch {
      // The run directory may be gone or read-only: try the next place.
    }
  }
  return undefined;
}
