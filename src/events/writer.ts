import { once } from 'node:events';
import { closeSync, createWriteStream, fstatSync, openSync, readSync, writeSync, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { RunEvent, RunEventInput } from './schema.js';

/**
 * Replaces secret values in an event before it is written or broadcast (the controller's
 * `Redactor` fits). Returns a value of the same shape.
 */
export interface EventRedactor {
  value<T>(value: T): T;
}

/** One event as its line of events.jsonl: compact JSON and `\n`. */
export function formatEventLine(event: RunEvent): string {
  return `${JSON.stringify(event)}\n`;
}

/**
 * Ends a torn last line: when the file is not empty and its last byte is not `\n` (a
 * writer was killed mid-line), appends `\n`, so that the next line appended starts a line
 * of its own and only the torn one is lost (the reader reports it as a malformed line).
 * A missing file is left missing. Best effort, never throws: a file that cannot be read
 * or written here fails the same way for the write stream, whose errors the log absorbs.
 */
function endTornLineSync(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'a+');
  } catch {
    return;
  }
  try {
    const { size } = fstatSync(fd);
    if (size === 0) return;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] !== 0x0a) writeSync(fd, '\n');
  } catch {
    // see above: the stream reports nothing either
  } finally {
    closeSync(fd);
  }
}

/**
 * Appends one complete event to an events.jsonl that another process may be writing too
 * (the reaper appends `run.reaped` after the controller died): ends a torn last line first
 * (see the EventLog docstring), then appends the line in one `write` on an `O_APPEND`
 * descriptor. Creates the file when missing.
 *
 * @throws the file system error when the file cannot be opened or written (ENOSPC, EACCES)
 */
export async function appendRunEvent(path: string, event: RunEvent): Promise<void> {
  const handle = await open(path, 'a+');
  try {
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const { buffer } = await handle.read(Buffer.alloc(1), 0, 1, size - 1);
      if (buffer[0] !== 0x0a) prefix = '\n';
    }
    await handle.appendFile(`${prefix}${formatEventLine(event)}`);
  } finally {
    await handle.close();
  }
}

/**
 * Appends events to `events.jsonl`, one JSON object per line ({@link formatEventLine}),
 * and fans them out to listeners (the terminal renderer, the library API). The run's one
 * writer of events in-process; {@link appendRunEvent} is the same line format for a
 * process that appends a single event (the reaper).
 *
 * The file is a plain append-mode `fs.WriteStream`, not a winston transport: the
 * event-schema check reads the file back mid-run and needs a flush that means "every
 * earlier line is in the file", which winston's File transport cannot give (its `logged`
 * comes before the write, and ending it with a backlog threw "write after end" and never
 * finished: test/unit/event-log-flush.test.ts, 20,000 events). winston still decides what
 * the terminal prints (src/cli/run-output.ts).
 *
 * Opening an existing file whose last line is torn (a killed controller, before a resume)
 * first ends that line with `\n`, so the first new event is not glued to it.
 */
export class EventLog {
  readonly #runId: string;
  readonly #file: WriteStream;
  readonly #listeners = new Set<(event: RunEvent) => void>();
  #closed = false;
  #emitted = 0;
  #written = 0;

  readonly #redactor: EventRedactor | undefined;

  /**
   * @param runId stamped as `run` on every event
   * @param path the events.jsonl file; created or appended to
   * @param options.redactor replaces secret values in every event before it is written or broadcast
   */
  constructor(runId: string, path: string, options: { redactor?: EventRedactor } = {}) {
    this.#runId = runId;
    this.#redactor = options.redactor;
    endTornLineSync(path);
    this.#file = createWriteStream(path, { flags: 'a' });
    // A write error (disk full) must not crash the controller; the event-schema check
    // reading the file back shows what is missing.
    this.#file.on('error', () => undefined);
  }

  /**
   * Events emitted but not yet written to the file (handed to the kernel). Grows when the
   * controller emits faster than the disk takes them.
   */
  get backlog(): number {
    return this.#closed ? 0 : this.#emitted - this.#written;
  }

  /** Stamps (`ts` now, `run`), redacts, writes and broadcasts one event; returns the stamped event. */
  emit(input: RunEventInput): RunEvent {
    const stamped = { ts: new Date().toISOString(), run: this.#runId, ...input } as RunEvent;
    const event = this.#redactor ? this.#redactor.value(stamped) : stamped;
    if (!this.#closed) {
      this.#emitted += 1;
      this.#file.write(formatEventLine(event), () => {
        this.#written += 1;
      });
    }
    for (const listener of this.#listeners) listener(event);
    return event;
  }

  /** Adds a listener; returns a function that removes it. */
  subscribe(listener: (event: RunEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves once every event emitted before the call is in the file (written to its file
   * descriptor, readable by another reader; not fsynced): a stream's writes complete in
   * order, so the callback of an empty write comes after all of them.
   */
  async flush(): Promise<void> {
    if (this.#closed) return;
    await new Promise<void>((resolve) => this.#file.write('', () => resolve()));
  }

  /** Flushes and closes the file. Later events reach listeners only. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = once(this.#file, 'close').catch(() => undefined);
    this.#file.end();
    await closed;
  }
}
