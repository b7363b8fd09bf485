import winston from 'winston';
import type { RunEvent } from '../controller/index.js';
import { UsageError } from './errors.js';
import { renderEvent, type CliIo } from './render.js';

/*
 * What `keelhaul run` and `resume` print while a run goes on:
 * - `--json`: every run event as one JSON line on stdout (the shape of events.jsonl,
 *   docs/events.schema.json) and nothing else there; errors go to stderr.
 * - otherwise one line per event (renderEvent), filtered by `--log-level` through a winston
 *   logger; on a TTY, a live status line under them (tasks done / running / failed, faults
 *   injected, agent usage, elapsed), redrawn in place and refreshed every second.
 */

/** `--log-level` values: winston's npm levels that keelhaul uses, most severe first. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'verbose', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Parses `--log-level`. @throws {UsageError} naming the flag and the levels allowed */
export function parseLogLevel(text: string): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(text)) return text as LogLevel;
  throw new UsageError('--log-level', `Expected \`--log-level\` to be one of ${LOG_LEVELS.join(', ')}, got \`${text}\``);
}

/**
 * The level an event prints at: `error` for what failed the run (an abort, a failed check or
 * task, a fault that failed), `warn` for trouble the run may survive (a hung or lost
 * attempt, one that could not be launched — printed with the daemon's error —, a worker's
 * task.failed, a daemon outage, a monitor alert, no reaper), `verbose` for detail (every worker event, Docker's own events, the reaper), `info` for the rest.
 */
export function eventLevel(event: RunEvent): LogLevel {
  switch (event.type) {
    case 'run.aborted':
    case 'fault.failed':
      return 'error';
    case 'check.result':
      return event.ok ? 'info' : 'error';
    case 'task.finished':
      return event.outcome === 'completed' ? 'info' : 'error';
    case 'attempt.hung':
    case 'attempt.lost':
    case 'attempt.launch-failed':
    case 'daemon.down':
    case 'monitor.alert':
    case 'reaper.unavailable':
      return 'warn';
    case 'docker.events':
      return event.state === 'connected' ? 'verbose' : 'warn';
    case 'worker.event':
      return event.event.type === 'task.failed' ? 'warn' : 'verbose';
    case 'worker.invalid-line':
    case 'docker.event':
    case 'reaper.started':
      return 'verbose';
    default:
      return 'info';
  }
}

/** A run's progress as the events tell it, for the status line. */
export class RunProgress {
  tasks = 0;
  done = 0;
  failed = 0;
  running = 0;
  faultsInjected = 0;
  tokens = 0;
  costUsd = 0;
  startedAtMs: number | undefined;
  finished = false;

  /** Takes in one event. */
  observe(event: RunEvent): void {
    switch (event.type) {
      case 'run.started':
        this.tasks = event.tasks;
        this.startedAtMs = Date.parse(event.ts);
        break;
      case 'run.resumed':
        this.startedAtMs ??= Date.parse(event.ts);
        break;
      case 'attempt.running':
      case 'attempt.adopted':
        this.running += 1;
        break;
      case 'attempt.exited':
        this.running = Math.max(0, this.running - 1);
        break;
      case 'task.finished':
        if (event.outcome === 'completed') this.done += 1;
        else this.failed += 1;
        break;
      case 'fault.injected':
        this.faultsInjected += 1;
        break;
      case 'worker.event': {
        const usage = (event.event as { usage?: { tokensIn?: unknown; tokensOut?: unknown; costUsd?: unknown } }).usage;
        if (usage && typeof usage.tokensIn === 'number' && typeof usage.tokensOut === 'number' && typeof usage.costUsd === 'number') {
          this.tokens += usage.tokensIn + usage.tokensOut;
          this.costUsd += usage.costUsd;
        }
        break;
      }
      case 'run.finished':
        this.finished = true;
        break;
      default:
        break;
    }
  }

  /**
   * `[12.3 s] done 2/4, running 2, failed 0 | faults 1 | tokens 22647 ($0.1398)`: elapsed
   * since the run started, tasks completed / all, attempts running, tasks failed, faults
   * injected, agent usage so far. Short enough for an 80-column terminal.
   */
  line(nowMs: number): string {
    const elapsed = this.startedAtMs === undefined ? 0 : Math.max(0, nowMs - this.startedAtMs) / 1000;
    const total = this.tasks ? `/${this.tasks}` : '';
    return `[${elapsed.toFixed(1)} s] done ${this.done}${total}, running ${this.running}, failed ${this.failed} | faults ${this.faultsInjected} | tokens ${this.tokens} ($${this.costUsd.toFixed(4)})`;
  }
}

/** Options of {@link createRunOutput}. */
export interface RunOutputOptions {
  /** One JSON event per line on stdout, nothing else. @default false */
  readonly json?: boolean;
  /** Events below this level are not printed (json mode prints every event). @default 'info' */
  readonly logLevel?: LogLevel;
}

/** What a command feeds run events to, and closes when the run is over. */
export interface RunOutput {
  readonly onEvent: (event: RunEvent) => void;
  /** Stops the status line's timer and leaves the terminal on a fresh line. */
  readonly close: () => void;
}

/**
 * Builds the printer of a run's events (see the file comment). The status line appears
 * only when `io.tty` is set (stdout is a terminal) and not in json mode; its refresh timer
 * is unref'd and stopped by `close()`.
 */
export function createRunOutput(io: CliIo, options: RunOutputOptions = {}): RunOutput {
  if (options.json) {
    return { onEvent: (event) => io.out(JSON.stringify(event)), close: () => undefined };
  }
  const tty = io.tty;
  const progress = new RunProgress();
  let statusShown = false;
  const clearStatus = (): void => {
    if (tty && statusShown) tty.write('\r\x1b[2K');
    statusShown = false;
  };
  const drawStatus = (): void => {
    if (!tty || progress.startedAtMs === undefined || progress.finished) return;
    const text = progress.line(Date.now());
    // One terminal row, never wrapped: a wrapped line could not be erased with \r.
    tty.write(`\r\x1b[2K${text.slice(0, Math.max(10, tty.columns - 1))}`);
    statusShown = true;
  };
  // winston decides which levels print (its npm levels, as events.jsonl's logger uses);
  // the lines are written here, synchronously, so they keep their order with stderr and
  // none is pending when the binary exits.
  const logger = winston.createLogger({ level: options.logLevel ?? 'info', levels: winston.config.npm.levels, silent: true });
  const print = (level: LogLevel, line: string): void => {
    if (!logger.isLevelEnabled(level)) return;
    clearStatus();
    io.out(line);
    drawStatus();
  };
  const timer = tty
    ? setInterval(() => {
        clearStatus();
        drawStatus();
      }, 1000)
    : undefined;
  timer?.unref();
  let printedChecksHeader = false;
  return {
    onEvent: (event) => {
      progress.observe(event);
      const level = eventLevel(event);
      if (event.type === 'check.result' && !printedChecksHeader) {
        printedChecksHeader = true;
        print('info', 'checks:');
      }
      const line = renderEvent(event, { verbose: true });
      if (line !== undefined) print(level, line);
      else if (tty) {
        clearStatus();
        drawStatus();
      }
    },
    close: () => {
      clearInterval(timer);
      clearStatus();
    },
  };
}
