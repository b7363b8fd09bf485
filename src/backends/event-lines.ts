import { finished, type Readable } from 'node:stream';
import { LineSplitter } from './line-splitter.js';
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

/** Bytes of one stdout line kept for parsing as an event (1 MiB): a longer line is reported
 * as invalid, never held whole in memory (docs/security.md "Floods"); stdout.log keeps it. */
export const MAX_LINE_BYTES = 1024 * 1024;

/**
 * Splits a worker's stdout into lines and parses each one as a worker event, as the bytes
 * arrive. The result does not depend on how the stream is chunked: a line split across
 * chunks (even inside a multi-byte UTF-8 character: the bytes are joined before decoding)
 * is delivered whole, once. `\n` ends a line and a `\r` before it is dropped, so line
 * numbers are those of `wc -l` / an editor on stdout.log; a final line without a newline is
 * delivered at the end of the stream. Blank lines count for the line number but are not
 * reported. A line longer than `maxLineBytes` is cut there and reported invalid (the rest
 * is counted, never buffered). Never throws on content: {@link parseWorkerEventLine} never does.
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
  maxLineBytes = MAX_LINE_BYTES,
): { closed: Promise<void>; lines: () => number } {
  let seen = 0;
  const splitter = new LineSplitter(maxLineBytes, (line, droppedBytes) => {
    seen += 1;
    if (seen <= skipLines || (droppedBytes === 0 && line.trim() === '')) return;
    if (droppedBytes > 0) {
      handlers.onInvalidLine?.(
        line.slice(0, 500),
        `a line of ${line.length + droppedBytes} bytes or more, past the ${maxLineBytes}-byte limit of one event: not parsed (whole in stdout.log)`,
        seen,
      );
      return;
    }
    const parsed = parseWorkerEventLine(line);
    if (parsed.ok) handlers.onEvent(parsed.event, seen);
    else handlers.onInvalidLine?.(line, parsed.error, seen);
  });
  input.on('data', (chunk: Buffer | string) => splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
  const closed = new Promise<void>((resolve) => {
    finished(input, () => {
      splitter.end();
      resolve();
    });
  });
  return { closed, lines: () => seen };
}
