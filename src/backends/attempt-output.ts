import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { followWorkerEventLines } from './event-lines.js';
import type { AttemptObserver } from './types.js';

/** An attempt's output, as both backends have it: a container's demultiplexed streams or a process's pipes. */
export interface AttemptStreams {
  readonly stdout: Readable;
  readonly stderr: Readable;
}

/** How {@link consumeAttemptOutput} treats what was delivered before. */
export interface ConsumeOptions {
  /** A filter each log file is written through (secret redaction, docs/security.md); none when absent. */
  readonly redactStream?: (() => NodeJS.ReadWriteStream) | undefined;
  /** The first `skipLines` stdout lines were delivered before (a replay after an outage). @default 0 */
  readonly skipLines?: number;
  /**
   * Events with `seq` ≤ this were recorded by an earlier controller and are not delivered
   * again (events without `seq` always are). Absent: every event is delivered.
   */
  readonly skipThroughSeq?: number;
}

/** A consumed output: when it is all written and parsed, and how many stdout lines it had. */
export interface ConsumedOutput {
  /** Resolves (never rejects) once both streams ended and both log files are closed. */
  readonly drained: Promise<unknown>;
  /** Stdout lines seen so far, the skipped ones included. */
  readonly lines: () => number;
}

/**
 * Writes an attempt's output to `<logDir>/stdout.log` and `stderr.log` (whole, through the
 * redaction filter) and parses stdout line by line into worker events for the observer
 * (`followWorkerEventLines`: bounded lines, line numbers of stdout.log). Shared by both
 * backends so that a container and a process are read the same way. Creates `logDir`.
 */
export function consumeAttemptOutput(output: AttemptStreams, logDir: string, observer: AttemptObserver, options: ConsumeOptions = {}): ConsumedOutput {
  mkdirSync(logDir, { recursive: true });
  const stdoutLog = createWriteStream(join(logDir, 'stdout.log'));
  const stderrLog = createWriteStream(join(logDir, 'stderr.log'));
  const filter = options.redactStream;
  (filter ? output.stderr.pipe(filter()) : output.stderr).pipe(stderrLog);
  (filter ? output.stdout.pipe(filter()) : output.stdout).pipe(stdoutLog);
  const skipThroughSeq = options.skipThroughSeq;
  const lines = followWorkerEventLines(
    output.stdout,
    {
      onEvent: (event) => {
        if (skipThroughSeq === undefined || event.seq === undefined || event.seq > skipThroughSeq) observer.onEvent(event);
      },
      onInvalidLine: (line, error, lineNumber) => observer.onInvalidLine?.(line, error, lineNumber),
    },
    options.skipLines ?? 0,
  );
  return { drained: Promise.all([lines.closed, finished(stdoutLog), finished(stderrLog)]), lines: lines.lines };
}

/** Resolves once the file stream closed or failed: a log that cannot be written does not hold up the attempt's exit. */
export function finished(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.closed) resolve();
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
  });
}
