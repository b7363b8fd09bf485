import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, sep } from 'node:path';
import { renderReport, readSamplesFile, REPORT_FILE_NAMES, REPORT_FORMATS, REPORT_SCHEMA_VERSION, writeRunReports, type ReportFormat, type RunReport } from '../report/index.js';
import { assertSafeName, UnsafePathError } from '../controller/index.js';
import { EventsFileReadError, readRunEventsFile, type RunEvent } from '../events/index.js';
import { writeFileAtomic } from '../atomic-file.js';
import { UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './render.js';

/** Where `keelhaul run` puts run directories unless told otherwise. */
const DEFAULT_RUNS_DIR = '.keelhaul/runs';
const RUN_ARGUMENT = '<run-dir-or-run-id>';

/** Flags of `keelhaul report`, parsed. */
export interface ReportCommandOptions {
  /** A run directory, its `report.json`, or a run id looked up under {@link runsDir}. */
  readonly runDir: string;
  /**
   * The one format to render, to stdout or to {@link output}. Without it (and without
   * `output`) all four files are (re)written into the run directory.
   */
  readonly format?: ReportFormat | (string & {});
  /** Write the rendered format here (atomically) instead of stdout; the format is taken from the extension when `format` is absent. */
  readonly output?: string;
  /**
   * Where run ids are looked up.
   * @default '.keelhaul/runs'
   */
  readonly runsDir?: string;
}

/** Parses `--format`. @throws {UsageError} naming the value and the formats there are */
export function parseReportFormat(text: string): ReportFormat {
  if ((REPORT_FORMATS as readonly string[]).includes(text)) return text as ReportFormat;
  throw new UsageError('--format', `Expected \`--format\` to be one of ${REPORT_FORMATS.join(', ')}, got \`${text}\``);
}

/** The format an `--output` file name implies, if any. */
function formatFromFileName(file: string): ReportFormat | undefined {
  switch (extname(file).toLowerCase()) {
    case '.json':
      return 'json';
    case '.md':
    case '.markdown':
      return 'md';
    case '.html':
    case '.htm':
      return 'html';
    case '.xml':
      return 'junit';
    default:
      return undefined;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/**
 * The run directory an argument names: a directory as given, the directory of a given
 * `report.json`, or `runsDir/<run id>`. @throws {UsageError} naming every path tried;
 * {UnsafePathError} for a bare name that is `.`, `..` or not a run id (NUL anywhere)
 */
export async function resolveRunDir(arg: string, runsDir = DEFAULT_RUNS_DIR): Promise<string> {
  // A bare name is a run id (or a file in the current directory): never `..`, `.` or NUL.
  if (arg.includes('\0')) throw new UnsafePathError(RUN_ARGUMENT, arg, 'it contains a NUL byte');
  if (!arg.includes('/') && !arg.includes(sep)) assertSafeName(arg, RUN_ARGUMENT);
  if (await isDirectory(arg)) return arg;
  if (basename(arg) === REPORT_FILE_NAMES.json && (await isDirectory(dirname(arg)))) return dirname(arg);
  const tried = [arg];
  const looksLikeRunId = arg !== '' && !arg.includes('/') && !arg.includes(sep) && arg !== '.' && arg !== '..';
  if (looksLikeRunId) {
    const underRuns = join(runsDir, arg);
    if (await isDirectory(underRuns)) return underRuns;
    tried.push(underRuns);
  }
  throw new UsageError(
    RUN_ARGUMENT,
    `No run directory at ${tried.map((p) => `\`${p}\``).join(' or ')}. Name a run directory or a run id under ${runsDir}; \`keelhaul run <scenario>\` creates one.`,
  );
}

/**
 * Reads and checks a run's report.json. @throws {UsageError} when it is missing, not JSON,
 * or of another schema version
 */
export async function readRunReport(runDir: string): Promise<RunReport> {
  const path = join(runDir, REPORT_FILE_NAMES.json);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError(
        RUN_ARGUMENT,
        `No ${REPORT_FILE_NAMES.json} at \`${path}\`: the run has not finished (or its controller died before the end). \`keelhaul run <scenario>\` writes one when a run ends.`,
      );
    }
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(RUN_ARGUMENT, `\`${path}\` is not valid JSON (${error instanceof Error ? error.message : String(error)}).`);
  }
  const obj = value as Partial<Record<keyof RunReport, unknown>> | null;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new UsageError(RUN_ARGUMENT, `\`${path}\` is not a keelhaul report: expected a JSON object.`);
  }
  if (obj.schemaVersion !== REPORT_SCHEMA_VERSION) {
    throw new UsageError(RUN_ARGUMENT, `\`${path}\` has schemaVersion ${JSON.stringify(obj.schemaVersion)}; this keelhaul reads schemaVersion ${REPORT_SCHEMA_VERSION}.`);
  }
  for (const field of ['tasks', 'attempts', 'faults', 'checks'] as const) {
    if (!Array.isArray(obj[field])) throw new UsageError(RUN_ARGUMENT, `\`${path}\` is not a complete keelhaul report: \`${field}\` must be an array.`);
  }
  if (typeof obj.usage !== 'object' || obj.usage === null) throw new UsageError(RUN_ARGUMENT, `\`${path}\` is not a complete keelhaul report: \`usage\` must be an object.`);
  return value as RunReport;
}

/**
 * The run's events for the timeline (src/events/ reader): unreadable lines are reported on
 * stderr, a missing file is no events. @throws {EventsFileReadError} when it cannot be read
 */
async function readEventsFor(runDir: string, io: CliIo): Promise<RunEvent[]> {
  const path = join(runDir, 'events.jsonl');
  try {
    const { events, invalidLines } = await readRunEventsFile(path);
    if (invalidLines.length) {
      const shown = invalidLines
        .slice(0, 3)
        .map((l) => `line ${l.line}: ${l.error}`)
        .join('; ');
      io.err(`keelhaul: ${path}: skipped ${invalidLines.length} unreadable line(s) (${shown}${invalidLines.length > 3 ? '; …' : ''})`);
    }
    return events;
  } catch (error) {
    if (error instanceof EventsFileReadError && error.code === 'ENOENT') {
      io.err(`keelhaul: ${path} is missing; the reports have no timeline`);
      return [];
    }
    throw error;
  }
}

/**
 * `keelhaul report <run-dir-or-run-id> [--format json|md|html|junit] [--output FILE]`:
 * reads the run's report.json and
 * - with `--format`: writes that format to stdout, or to `--output` (atomically);
 * - with `--output` alone: takes the format from the file's extension;
 * - with neither: (re)writes report.json, report.md, report.html and junit.xml in the run
 *   directory and prints their paths, one a line.
 *
 * @throws {UsageError} (exit 2) for a missing run directory or report.json, a bad format
 */
export async function reportCommand(options: ReportCommandOptions, io: CliIo): Promise<ExitCode> {
  let format = options.format !== undefined ? parseReportFormat(options.format) : undefined;
  if (format === undefined && options.output !== undefined) {
    format = formatFromFileName(options.output);
    if (format === undefined) {
      throw new UsageError('--output', `Cannot tell the format of \`${options.output}\` from its extension; pass \`--format\` (${REPORT_FORMATS.join(', ')})`);
    }
  }
  const runDir = await resolveRunDir(options.runDir, options.runsDir);
  const report = await readRunReport(runDir);

  if (format === undefined) {
    const events = await readEventsFor(runDir, io);
    const { paths } = await writeRunReports(runDir, report, { events });
    for (const path of Object.values(paths)) io.out(path);
    return ExitCode.ok;
  }

  const events = format === 'md' || format === 'html' ? await readEventsFor(runDir, io) : [];
  const samples = format === 'html' ? await readSamplesFile(join(runDir, report.resources?.samplesFile ?? 'samples.jsonl')) : [];
  const text = format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderReport(format, report, events, samples);
  if (options.output === undefined) {
    io.out(text.replace(/\n$/, ''));
    return ExitCode.ok;
  }
  try {
    await writeFileAtomic(options.output, text);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EISDIR') {
      throw new UsageError('--output', `Cannot write \`${options.output}\` (${code}): check that its directory exists and is writable`);
    }
    throw error;
  }
  io.out(options.output);
  return ExitCode.ok;
}
