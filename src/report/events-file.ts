/**
 * The report's names for reading events.jsonl, kept for the library API: the reading itself
 * is src/events/'s tolerant reader (`readRunEventsFile`, `parseEventLine`).
 */
import { readRunEventsFile, type RunEvent } from '../events/index.js';

export { parseEventLine } from '../events/index.js';

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

/**
 * Reads a run's `events.jsonl` tolerantly (src/events/ `readRunEventLines`: a line that is
 * not an event — typically the last one, cut short when the controller was killed
 * mid-write — is reported with its 1-based line number instead of failing the whole read;
 * blank lines are skipped but counted), streaming line by line.
 *
 * @throws {EventsFileReadError} (src/events/) when the file cannot be opened or read; its `code` is the
 *   errno code (ENOENT, EACCES) and `cause` the file system error
 */
export async function readEventsFile(path: string): Promise<EventsFile> {
  const { events, invalidLines } = await readRunEventsFile(path);
  return { events, invalidLines: invalidLines.map(({ line, error }) => ({ line, error })) };
}
