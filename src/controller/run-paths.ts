import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * Paths inside a run directory built from names that come from outside: run ids given on
 * the command line, task ids and attempt numbers read back from a scenario or state.json.
 * None of them may lead out of the directory it belongs in (docs/security.md "Paths").
 */

/**
 * A run id or task id is one path segment: letters, digits, `_ . -`, starting with a letter
 * or digit (so never `.` or `..`), at most 128 characters. keelhaul's own run ids
 * (`20261122-101530-3fa9`) and the scenario's task ids (at most 63) fit.
 */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * A name that would lead out of the directory it is joined to (`..`, an absolute path, a
 * path separator, NUL) or is not a valid name. Thrown before anything is read or written.
 * The CLI exits 2 on it.
 */
export class UnsafePathError extends Error {
  override name = 'UnsafePathError';
  /** What the value was given as: `run id`, `task id`, `attempt`, `<run>` argument, … */
  readonly field: string;
  /** The refused value, as given. */
  readonly value: string;
  constructor(field: string, value: string, reason: string) {
    super(`${field} ${JSON.stringify(value)} is refused: ${reason}`);
    this.field = field;
    this.value = value;
  }
}

/** Why `value` is not a safe single-segment name, or undefined when it is. */
function unsafeReason(value: string): string | undefined {
  if (value.includes('\0')) return 'it contains a NUL byte';
  if (value === '') return 'it is empty';
  if (value === '.' || value === '..' || value.split(/[/\\]/).includes('..')) return 'it names a parent or current directory (..)';
  if (isAbsolute(value) || value.startsWith('\\')) return 'it is an absolute path';
  if (value.includes('/') || value.includes('\\') || value.includes(sep)) return 'it contains a path separator';
  if (!SAFE_NAME.test(value)) return 'expected letters, digits, _ . - (starting with a letter or digit, at most 128)';
  return undefined;
}

/**
 * Checks that `value` is a single safe path segment (see {@link SAFE_NAME}).
 *
 * @param field how the value was given, named in the error (`run id`, `--run`, `task id`)
 * @throws {UnsafePathError} naming the value and the reason
 */
export function assertSafeName(value: string, field: string): string {
  const reason = unsafeReason(value);
  if (reason !== undefined) throw new UnsafePathError(field, value, reason);
  return value;
}

/**
 * Joins `parts` to `base` and checks that the result stays inside `base` (after resolving
 * `..`), as a second line of defence behind {@link assertSafeName}.
 *
 * @throws {UnsafePathError} when the joined path leaves `base`
 */
export function joinInside(base: string, field: string, ...parts: string[]): string {
  const root = resolve(base);
  const path = resolve(root, ...parts);
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new UnsafePathError(field, parts.join('/'), `it leads out of ${root}`);
  }
  return path;
}

/**
 * The directory of a run argument of `resume`, `status`, `report` (and the library's
 * `resumeRun`): a value with a path separator is a directory the user named and is taken
 * as given (only NUL is refused); any other value is a run id, which must be a safe name,
 * looked up under `runsDir`.
 *
 * @throws {UnsafePathError} for a run id with `..`, NUL or characters outside {@link SAFE_NAME}
 */
export function runDirOf(arg: string, runsDir: string, field = 'run id'): string {
  if (arg.includes('\0')) throw new UnsafePathError(field, arg, 'it contains a NUL byte');
  if (arg.includes('/') || (sep !== '/' && arg.includes(sep))) return resolve(arg);
  return joinInside(runsDir, field, assertSafeName(arg, field));
}

/**
 * `<runDir>/attempts/<task>/<attempt>`, where an attempt's stdout.log and stderr.log go.
 *
 * @throws {UnsafePathError} when the task id is not a safe name or the attempt not a positive integer
 */
export function attemptDirOf(runDir: string, taskId: string, attempt: number): string {
  assertSafeName(taskId, 'task id');
  if (!Number.isSafeInteger(attempt) || attempt < 1) throw new UnsafePathError('attempt', String(attempt), 'expected a positive integer');
  return joinInside(join(runDir, 'attempts'), 'task id', taskId, String(attempt));
}
