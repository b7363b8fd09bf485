import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseWorkerEventLine, type WorkerEvent } from '../worker/events.js';

/** What {@link followWorkerEventLines} reports for each line of a worker's stdout. */
export interface WorkerEventLineHandlers {
  /** A line that parsed as a worker event; `lineNumber` is 1-based over the whole stream. */
  onEvent(event: WorkerEvent, lineNumber: number): void;
  /**
   * A non-blank line that is not a worker event (a log line, garbage, a malformed event):
   * `error` is the parser's reason, `lineNumber` the 1-based line of the stream.
   */
  onInvalidLine?(line: string, error: string, lineNumber: number): void;
}

/**
 * Splits a worker's stdout into lines and parses each one as a worker event, as the bytes
 * arrive. The result does not depend on how the stream is chunked: a line split across
 * chunks (even inside a multi-byte UTF-8 character — readline decodes with a
 * StringDecoder) is delivered whole, once. `\n` and `\r\n` end a line (`crlfDelay:
 * Infinity`: a `\r\n` split across chunks is still one line end); a final line without a
 * newline is delivered at the end of the stream. Blank lines count for the line number but
 * are not reported. Never throws on content: {@link parseWorkerEventLine} never does.
 *
 * @param skipLines the first lines were delivered before (a replay of the daemon's log):
 *   they are counted but not reported
 * @returns `closed` resolves when the stream ended (or was destroyed); `lines()` is the
 *   number of lines seen so far
 */
export function followWorkerEventLines(
  input: Readable,
  handlers: WorkerEventLineHandlers,
  skipLines = 0,
): { closed: Promise<void>; lines: () => number } {
  const reader = createInterface({ input, crlfDelay: Infinity });
  let seen = 0;
  reader.on('line', (line) => {
    seen += 1;
    if (seen <= skipLines || line.trim() === '') return;
    const parsed = parseWorkerEventLine(line);
    if (parsed.ok) handlers.onEvent(parsed.event, seen);
    else handlers.onInvalidLine?.(line, parsed.error, seen);
  });
  const closed = new Promise<void>((resolve) => reader.once('close', () => resolve()));
  return { closed, lines: () => seen };
}
