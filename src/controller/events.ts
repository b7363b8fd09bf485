import { once } from 'node:events';
import winston from 'winston';
import type { FaultRecord } from '../chaos/index.js';
import type { WorkerEvent } from '../worker/events.js';
import { Redactor } from './redaction.js';

/** How an attempt ended. */
export type AttemptOutcome = 'completed' | 'failed' | 'killed' | 'oom' | 'hung' | 'lost';

/**
 * The run's one event shape: every line of events.jsonl and every line the terminal
 * renders is one of these. `ts` is ISO 8601; `run` the run id.
 */
export type RunEvent = { readonly ts: string; readonly run: string } & (
  | {
      type: 'run.started';
      scenario: string;
      seed: number;
      image: string;
      network: string;
      tasks: number;
      concurrency: number;
      runDir: string;
    }
  | { type: 'run.resumed'; controllerPid: number; previousControllers: number }
  | {
      /** The scenario's Compose topology is up (docs/compose.md): its service containers and networks. */
      type: 'topology.started';
      file: string;
      services: { service: string; containerId: string; containerName: string; imageId: string }[];
      networks: string[];
    }
  | { type: 'attempt.adopted'; task: string; attempt: number; containerId: string; state: string }
  | { type: 'attempt.lost'; task: string; attempt: number; reason: string }
  | { type: 'reaper.started'; pid: number; ttlMs: number }
  | { type: 'reaper.unavailable'; reason: string }
  | { type: 'run.reaped'; containers: number; networks: number; volumes: number; deadControllerPid: number }
  | { type: 'attempt.running'; task: string; attempt: number; containerId: string; containerName: string }
  | {
      type: 'attempt.exited';
      task: string;
      attempt: number;
      containerId: string;
      exitCode: number;
      oomKilled: boolean;
      outcome: AttemptOutcome;
      reason?: string;
      durationMs: number;
    }
  | { type: 'attempt.retrying'; task: string; attempt: number; delayMs: number; previousOutcome: AttemptOutcome }
  | { type: 'task.finished'; task: string; outcome: 'completed' | 'failed'; attempts: number }
  | { type: 'worker.event'; task: string; attempt: number; event: WorkerEvent }
  /** `lineNumber`: the 1-based line of the attempt's stdout.log (absent in runs recorded before it existed). */
  | { type: 'worker.invalid-line'; task: string; attempt: number; lineNumber?: number; line: string; error: string }
  /** Invalid lines past the first 100 of an attempt: counted, not recorded one by one (all are in its stdout.log). */
  | { type: 'worker.invalid-lines-suppressed'; task: string; attempt: number; lines: number; total: number }
  | { type: 'fault.injected'; fault: FaultRecord }
  | { type: 'fault.failed'; fault: FaultRecord }
  | { type: 'fault.skipped'; faultId: string; kind: string; trigger: string; reason: string }
  | { type: 'fault.undone'; faultId: string; kind: string; targets: readonly { containerId: string; task?: string | undefined; attempt?: number | undefined }[] }
  | { type: 'attempt.hung'; task: string; attempt: number; containerId: string; silentMs: number }
  | { type: 'attempt.reattached'; task: string; attempt: number; reason: string }
  | {
      type: 'docker.event';
      time: string;
      timeNano: string;
      action: string;
      containerId: string;
      role?: string;
      task?: string;
      attempt?: number;
      exitCode?: number;
      signal?: string;
    }
  | { type: 'docker.events'; state: 'connected' | 'disconnected' | 'failed'; reason?: string }
  | {
      type: 'monitor.alert';
      kind: 'rss-growth';
      name: string;
      pid: number;
      firstBytes: number;
      rssBytes: number;
      growthBytes: number;
      limitBytes: number;
      time: string;
    }
  | {
      type: 'fault.verified';
      containerId: string;
      network: string;
      phase: 'cut' | 'restored';
      fromProbe: boolean;
      fromTarget: boolean;
      targetRunning: boolean;
    }
  /**
   * The guard on the run's internal network (src/backends/internal-network-guard.ts): host
   * firewall rules that keep its workers off the host's services; `applied: false` says why not.
   */
  | { type: 'network.guarded'; network: string; bridge: string; applied: boolean; reason?: string }
  /**
   * What the isolation probe saw from inside one attempt container (docker exec): its
   * interfaces, and which host addresses it could open a TCP connection to (`ip:port`).
   */
  | {
      type: 'isolation.probed';
      task: string;
      attempt: number;
      containerId: string;
      interfaces: string[];
      reached: string[];
      unreachable: string[];
      error?: string;
    }
  | { type: 'daemon.down'; endpoint: string; limitMs: number }
  | { type: 'daemon.up'; endpoint: string; downMs: number }
  /**
   * The run's cleanup: what it removed by label at the end. `removedBehind`: the containers
   * and workspace volumes of completed tasks the controller had already removed as each
   * task finished (issue 7); absent in runs recorded before it.
   */
  | { type: 'cleanup.finished'; containers: number; networks: number; volumes: number; errors: string[]; removedBehind?: { containers: number; volumes: number } }
  | { type: 'check.result'; name: string; ok: boolean; expected: string; observed: string }
  | { type: 'run.aborted'; reason: string }
  | { type: 'run.finished'; status: 'passed' | 'failed'; durationMs: number; reportPath: string }
);

/** A {@link RunEvent} before the log stamps `ts` and `run`. */
export type RunEventInput = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'ts' | 'run'> : never) : never;

/**
 * Appends events to `events.jsonl` through winston, one JSON object per line, and fans
 * them out to listeners (the terminal renderer, the library API).
 */
export class EventLog {
  readonly #runId: string;
  readonly #path: string;
  #logger!: winston.Logger;
  #file!: winston.transport;
  readonly #listeners = new Set<(event: RunEvent) => void>();
  #closed = false;
  #emitted = 0;
  #logged = 0;
  /** Events emitted while {@link flush} reopens the file, written once it is open again. */
  #held: RunEvent[] | undefined;

  readonly #redactor: Redactor;

  /**
   * @param path the events.jsonl file; created or appended to
   * @param options.redactor replaces secret values in every event before it is written or broadcast
   */
  constructor(runId: string, path: string, options: { redactor?: Redactor } = {}) {
    this.#runId = runId;
    this.#path = path;
    this.#redactor = options.redactor ?? Redactor.none();
    this.#open();
  }

  #open(): void {
    const file = new winston.transports.File({ filename: this.#path });
    this.#file = file;
    this.#logger = winston.createLogger({
      level: 'info',
      // The event is the whole line: no winston level/message wrapper, one schema.
      format: winston.format.printf((info) => JSON.stringify(info['event'])),
      transports: [file],
    });
    file.on('logged', () => {
      this.#logged += 1;
    });
  }

  async #end(): Promise<void> {
    // The logger's own 'finish' can come before the file transport has flushed
    // (winston#1504); wait for the transport.
    const done = once(this.#file, 'finish');
    this.#logger.end();
    await done;
  }

  /**
   * Events emitted but not yet handed to the file's stream: winston's File transport emits
   * `logged` once it has written an event to its stream (not once it reached the disk).
   * Grows when the controller emits faster than the file takes them.
   */
  get backlog(): number {
    return this.#closed ? 0 : this.#emitted - this.#logged - (this.#held?.length ?? 0);
  }

  /** Stamps, writes and broadcasts one event; returns the stamped event. */
  emit(input: RunEventInput): RunEvent {
    const event = this.#redactor.value({ ts: new Date().toISOString(), run: this.#runId, ...input } as RunEvent);
    if (!this.#closed) {
      this.#emitted += 1;
      if (this.#held) this.#held.push(event);
      else this.#logger.info({ message: event.type, event });
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
   * Resolves once every event emitted before the call is in the file (handed to the
   * kernel, readable by another reader; not fsynced): winston's `logged` comes before that,
   * so the transport is ended, which flushes it, and a new one opened on the same file.
   * Events emitted meanwhile are held and written, in order, once it is open again.
   */
  async flush(): Promise<void> {
    while (this.#held) await new Promise((resolve) => setImmediate(resolve));
    if (this.#closed) return;
    this.#held = [];
    try {
      await this.#end();
    } finally {
      this.#open();
      const held = this.#held;
      this.#held = undefined;
      for (const event of held) this.#logger.info({ message: event.type, event });
    }
  }

  /** Flushes and closes the file. Later events reach listeners only. */
  async close(): Promise<void> {
    if (this.#closed) return;
    while (this.#held) await new Promise((resolve) => setImmediate(resolve));
    this.#closed = true;
    await this.#end();
  }
}
