import { createReadStream } from 'node:fs';
import type { RunEvent } from './schema.js';

/**
 * Why a line of events.jsonl is not an event:
 * - `torn`: the file's last line, with no newline after it, that is not an event: a write
 *   cut short (the controller killed mid-line) or still under way;
 * - `not-json`: a complete line that does not parse as JSON;
 * - `not-an-event`: JSON, but not an object with non-empty string `ts`, `run` and `type`.
 */
export type InvalidLineProblem = 'torn' | 'not-json' | 'not-an-event';

/** A line of events.jsonl that is not an event. */
export interface InvalidRunEventLine {
  /** The line's 1-based number in the file (blank lines count). */
  readonly line: number;
  readonly problem: InvalidLineProblem;
  /**
   * Why, in words: `not JSON (<the parser's message>)`, `not a JSON object`, or
   * `` `type` must be a non-empty string `` (and the same for `ts`, `run`).
   */
  readonly error: string;
  /** The line as read, without its line break. */
  readonly text: string;
  /** For `not-an-event`: the parsed JSON value (a checker may explain it further). */
  readonly value?: unknown;
}

/** One line of events.jsonl as {@link readRunEventLines} yields it. */
export type RunEventLine =
  | { readonly kind: 'event'; readonly line: number; readonly event: RunEvent }
  | ({ readonly kind: 'invalid' } & InvalidRunEventLine)
  /** An empty or whitespace-only line: no event and no error (the writer never writes one). */
  | { readonly kind: 'blank'; readonly line: number };

/** What to do when the file does not exist. */
export interface ReadRunEventsOptions {
  /**
   * `'error'`: reject with an {@link EventsFileReadError} whose `code` is `ENOENT`;
   * `'empty'`: read a missing file as one with no line.
   * @default 'error'
   */
  readonly missing?: 'error' | 'empty';
}

/** events.jsonl could not be read (missing, a directory, no permission, an I/O error). */
export class EventsFileReadError extends Error {
  override readonly name = 'EventsFileReadError';
  /** The file. */
  readonly path: string;
  /** The errno code of the cause (`ENOENT`, `EISDIR`, `EACCES`…), when it had one. */
  readonly code: string | undefined;

  constructor(path: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(`cannot read ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.path = path;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses one line of events.jsonl. Only the envelope every event has is checked (`ts`,
 * `run`, `type` are non-empty strings): an event type a newer keelhaul writes is kept, and
 * readers ignore types they do not know. Checking the whole event against the schema is
 * the event-schema check's job (src/checks/event-schema.ts), so the `RunEvent` type of the
 * result vouches for the envelope only: a reader of a field of a file written by another
 * version (or another writer) should not rely on its presence. Never throws.
 */
export function parseEventLine(text: string): { ok: true; event: RunEvent } | { ok: false; error: string; value?: unknown } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  if (!isObject(value)) return { ok: false, error: 'not a JSON object', value };
  for (const field of ['ts', 'run', 'type'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '') return { ok: false, error: `\`${field}\` must be a non-empty string`, value };
  }
  return { ok: true, event: value as unknown as RunEvent };
}

function classify(text: string, line: number, last: boolean): RunEventLine {
  const trimmed = text.trim();
  if (trimmed === '') return { kind: 'blank', line };
  const parsed = parseEventLine(trimmed);
  if (parsed.ok) return { kind: 'event', line, event: parsed.event };
  const problem: InvalidLineProblem = last ? 'torn' : 'value' in parsed ? 'not-an-event' : 'not-json';
  return { kind: 'invalid', line, problem, error: parsed.error, text, ...('value' in parsed ? { value: parsed.value } : {}) };
}

/**
 * Reads events.jsonl line by line, streaming (a long run's log is never held whole; the
 * longest line is), and yields every line as an event, an invalid line or a blank line,
 * in file order. Tolerant, precisely:
 * - lines end at `\n`; a `\r` before it is dropped (CRLF files read the same); a line is
 *   trimmed of surrounding whitespace before it is parsed;
 * - a line is an event when it is a JSON object with non-empty string `ts`, `run` and
 *   `type` ({@link parseEventLine}); its other fields are not checked, so an unknown type
 *   from a newer keelhaul is yielded as an event;
 * - a complete line (ending in `\n`) that is not an event is yielded as `invalid` with its
 *   1-based line number and problem `not-json` or `not-an-event`; reading goes on;
 * - the last line without a `\n` after it is yielded as an event when it is one (the write
 *   was cut between the object and its newline), else as `invalid` with problem `torn`;
 * - an empty or whitespace-only line is yielded as `blank` (it counts for line numbers);
 * - an empty file yields nothing; a missing file rejects, or yields nothing with
 *   `missing: 'empty'`.
 * Content never makes it throw. Breaking out of the loop closes the file.
 *
 * @throws {EventsFileReadError} when the file cannot be opened or read (`code` says why);
 *   with `missing: 'empty'` a missing file (ENOENT) is not an error
 */
export async function* readRunEventLines(path: string, options: ReadRunEventsOptions = {}): AsyncGenerator<RunEventLine, void, undefined> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  let pending = '';
  let line = 0;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let start = 0;
      let end = chunk.indexOf('\n');
      while (end !== -1) {
        const piece = pending + chunk.slice(start, end);
        pending = '';
        line += 1;
        yield classify(piece.endsWith('\r') ? piece.slice(0, -1) : piece, line, false);
        start = end + 1;
        end = chunk.indexOf('\n', start);
      }
      pending += chunk.slice(start);
    }
  } catch (error) {
    if (options.missing === 'empty' && (error as NodeJS.ErrnoException).code === 'ENOENT' && line === 0) return;
    throw new EventsFileReadError(path, error);
  } finally {
    stream.destroy();
  }
  if (pending !== '') yield classify(pending, line + 1, true);
}

/** What {@link readRunEventsFile} found. */
export interface RunEventsFile {
  /** The events, in file order. */
  readonly events: RunEvent[];
  /** The lines that are not events, in file order (blank lines are neither). */
  readonly invalidLines: InvalidRunEventLine[];
  /** How many lines the file has, blank lines included. */
  readonly lines: number;
}

/**
 * Reads a whole events.jsonl with {@link readRunEventLines} (same tolerance) and returns
 * its events and its invalid lines. For a file that may be long, prefer iterating
 * {@link readRunEventLines} and keeping only what is needed.
 *
 * @throws {EventsFileReadError} when the file cannot be read (a missing file only without `missing: 'empty'`)
 */
export async function readRunEventsFile(path: string, options: ReadRunEventsOptions = {}): Promise<RunEventsFile> {
  const events: RunEvent[] = [];
  const invalidLines: InvalidRunEventLine[] = [];
  let lines = 0;
  for await (const entry of readRunEventLines(path, options)) {
    lines = entry.line;
    if (entry.kind === 'event') events.push(entry.event);
    else if (entry.kind === 'invalid') {
      const { kind: _kind, ...invalid } = entry;
      invalidLines.push(invalid);
    }
  }
  return { events, invalidLines, lines };
}
