import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
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
 * Appends events to `events.jsonl`, one JSON object per line, and fans them out to
 * listeners (the terminal renderer, the library API).
 *
 * The file is a plain append-mode `fs.WriteStream`, not a winston transport: the
 * event-schema check reads the file back mid-run and needs a flush that means "every
 * earlier line is in the file", which winston's File transport cannot give (its `logged`
 * comes before the write, and ending it with a backlog threw "write after end" and never
 * finished: test/unit/event-log-flush.test.ts, 20,000 events). winston still decides what
 * the terminal prints (src/cli/run-output.ts).
 */
export class EventLog {
  readonly #runId: string;
  readonly #file: WriteStream;
  readonly #listeners = new Set<(event: RunEvent) => void>();
  #closed = false;
  #emitted = 0;
  #written = 0;

  readonly #redactor: Redactor;

  /**
   * @param path the events.jsonl file; created or appended to
   * @param options.redactor replaces secret values in every event before it is written or broadcast
   */
  constructor(runId: string, path: string, options: { redactor?: Redactor } = {}) {
    this.#runId = runId;
    this.#redactor = options.redactor ?? Redactor.none();
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

  /** Stamps, writes and broadcasts one event; returns the stamped event. */
  emit(input: RunEventInput): RunEvent {
    const event = this.#redactor.value({ ts: new Date().toISOString(), run: this.#runId, ...input } as RunEvent);
    if (!this.#closed) {
      this.#emitted += 1;
      this.#file.write(`${JSON.stringify(event)}\n`, () => {
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
