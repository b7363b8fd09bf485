/**
 * Splits a worker's stdout into lines with a bound on what one line may hold in memory.
 *
 * Why not `readline`: it keeps a line whole until its newline, so a worker that prints one
 * 200 MB line (or never a newline) grows the controller by 200 MB. Here a line keeps its
 * first `maxLineBytes` bytes; the rest is counted and dropped (the attempt's stdout.log,
 * written from the same stream, still has every byte). `\n` ends a line, a `\r` before it
 * is dropped (as readline's `crlfDelay: Infinity`); a last line without `\n` is delivered
 * at {@link LineSplitter.end}.
 */
export class LineSplitter {
  readonly #maxLineBytes: number;
  readonly #onLine: (line: string, droppedBytes: number) => void;
  #parts: Buffer[] = [];
  #kept = 0;
  #dropped = 0;

  /**
   * @param maxLineBytes bytes of one line kept for parsing (≥ 1)
   * @param onLine called per line, in order: its text (UTF-8, at most `maxLineBytes` bytes;
   *   a character cut at the bound becomes U+FFFD) and how many bytes past the bound were dropped
   */
  constructor(maxLineBytes: number, onLine: (line: string, droppedBytes: number) => void) {
    this.#maxLineBytes = maxLineBytes;
    this.#onLine = onLine;
  }

  /** Feeds a chunk of output; calls `onLine` for each line it completes. */
  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) {
        this.#keep(chunk.subarray(start));
        return;
      }
      this.#keep(chunk.subarray(start, newline));
      this.#flush();
      start = newline + 1;
    }
  }

  /** The output ended: delivers a last line that had no newline. */
  end(): void {
    if (this.#kept > 0 || this.#dropped > 0) this.#flush();
  }

  #keep(bytes: Buffer): void {
    const room = this.#maxLineBytes - this.#kept;
    if (bytes.length <= room) {
      if (bytes.length > 0) this.#parts.push(bytes);
      this.#kept += bytes.length;
      return;
    }
    if (room > 0) this.#parts.push(bytes.subarray(0, room));
    this.#kept += Math.max(0, room);
    this.#dropped += bytes.length - Math.max(0, room);
  }

  #flush(): void {
    let line = Buffer.concat(this.#parts).toString('utf8');
    if (this.#dropped === 0 && line.endsWith('\r')) line = line.slice(0, -1);
    const dropped = this.#dropped;
    this.#parts = [];
    this.#kept = 0;
    this.#dropped = 0;
    this.#onLine(line, dropped);
  }
}
