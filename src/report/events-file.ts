import { open } from 'node:fs/promises';
import type { RunEvent } from '../controller/events.js';

/** A line of events.jsonl that is not an event, and why. `line` is 1-based. */
export interface InvalidEventLine {
  readonly line: number;
  readonly error: string;
}

/** What {@link readEventsFile} found. */
export interface EventsFile {
  /** The events, in file order. */
  events: RunEvent[];
  /** Lines that could not be read as an event (a line cut short by a crash, a stray write). */
  invalidLines: InvalidEventLine[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses one line of events.jsonl. Only the fields every event has are checked (`ts`,
 * `run`, `type` are non-empty strings): an event type a newer keelhaul writes is kept, and
 * the renderers ignore types they do not know.
 */
export function parseEventLine(text: string): { ok: true; event: RunEvent } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  if (!isObject(value)) return { ok: false, error: 'not a JSON object' };
  for (const field of ['ts', 'run', 'type'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '') return { ok: false, error: `\`${field}\` must be a non-empty string` };
  }
  return { ok: true, event: value as unknown as RunEvent };
}

/**
 * Reads a run's `events.jsonl` tolerantly: a line that is not an event (typically the last
 * one, cut short when the controller was killed mid-write) is reported with its 1-based
 * line number instead of failing the whole read. Blank lines are skipped.
 *
 * Streams the file line by line, so a long run's log is never held as one string.
 *
 * @throws the file system error when the file cannot be opened (ENOENT, EACCES)
 */
export async function readEventsFile(path: string): Promise<EventsFile> {
  const events: RunEvent[] = [];
  const invalidLines: InvalidEventLine[] = [];
  // Opened first so that a missing file rejects here, not somewhere inside the line iterator.
  const handle = await open(path, 'r');
  let n = 0;
  try {
    // readLines treats \r\n as one break (crlfDelay: Infinity).
    for await (const raw of handle.readLines({ encoding: 'utf8', autoClose: false })) {
      n += 1;
      const text = raw.trim();
      if (text === '') continue;
      const parsed = parseEventLine(text);
      if (parsed.ok) events.push(parsed.event);
      else invalidLines.push({ line: n, error: parsed.error });
    }
  } finally {
    await handle.close();
  }
  return { events, invalidLines };
}
