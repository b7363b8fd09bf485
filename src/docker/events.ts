/**
 * Following the daemon's container events (`GET /events`,
 * https://docs.docker.com/engine/api/v1.41/#operation/SystemEvents) for the resources of
 * one run, across daemon outages.
 *
 * The daemon keeps only its last 256 events in memory and replays those with a time ≥
 * `since` before following live ones (moby daemon/events/events.go). So a reconnect with
 * `since` = the last event seen misses nothing that happened while the daemon stayed up,
 * and re-delivers the events at exactly that time (the bound is inclusive) — which is why
 * deliveries are de-duplicated. A daemon that restarted has an empty buffer: what happened
 * while it was down is not an event anyone can replay, only a container state to inspect.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DockerClient } from './client.js';
import { DockerError } from './errors.js';
import { toApiTimestamp } from './api-time.js';

/** One container event of the daemon, as keelhaul records it in a run's timeline. */
export interface DaemonEvent {
  /** When the daemon emitted it, ISO 8601 with ms precision (from `timeNano`). */
  readonly time: string;
  /**
   * The exact time, nanoseconds since the epoch as a decimal string. A JSON number loses
   * the last digits of a 19-digit nanosecond count, so it is read from the message text.
   */
  readonly timeNano: string;
  /**
   * The event's `Action`: `create`, `start`, `kill`, `die`, `oom`, `stop`, `pause`,
   * `unpause`, `restart`, `destroy`, `rename`, `attach`, …; exec and health events carry a
   * suffix (`exec_start: sh -c …`, `health_status: healthy`).
   */
  readonly action: string;
  /** The container's full id (`Actor.ID`). */
  readonly containerId: string;
  /** `die` only: the exit code (137 for SIGKILL: 128 + 9). */
  readonly exitCode?: number;
  /** `kill` only: the signal as the daemon reports it, a number as a string (`"9"`, `"15"`). */
  readonly signal?: string;
  /** The container's name without the leading `/`, when the event carries it. */
  readonly containerName?: string;
  /** The image reference the container was created from, when the event carries it. */
  readonly image?: string;
  /**
   * The container's labels (the image's labels included: Docker merges them), i.e. the
   * event's `Actor.Attributes` without the attributes Docker adds itself.
   */
  readonly labels: Readonly<Record<string, string>>;
}

/** Attributes Docker adds to a container event's Actor besides the container's labels. */
const NON_LABEL_ATTRIBUTES = new Set(['image', 'name', 'exitCode', 'signal', 'execDuration', 'exitStatus', 'container']);

interface RawEventMessage {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  time?: number;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/**
 * Parses one line of the events stream into a {@link DaemonEvent}. Returns `undefined` for
 * a line that is blank, not JSON, or not a container event (networks, volumes, images).
 */
export function parseDaemonEvent(line: string): DaemonEvent | undefined {
  const text = line.trim();
  if (!text) return undefined;
  let raw: RawEventMessage;
  try {
    raw = JSON.parse(text) as RawEventMessage;
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  // API < 1.22 had no Type; those messages are container events with `status` and `id`.
  const type = raw.Type ?? 'container';
  if (type !== 'container') return undefined;
  const action = raw.Action ?? raw.status;
  const containerId = raw.Actor?.ID ?? raw.id;
  if (!action || !containerId) return undefined;

  // The top-level timeNano is the last one in the message; a label value cannot match the
  // pattern because its quotes are escaped and a digit never follows `":"` in a string.
  const matches = [...text.matchAll(/"timeNano":\s*(\d+)/g)];
  const nanoText = matches.at(-1)?.[1] ?? (raw.timeNano !== undefined ? BigInt(Math.round(raw.timeNano)).toString() : BigInt(raw.time ?? 0) * 1_000_000_000n + '');
  const nano = BigInt(nanoText);

  const attributes = raw.Actor?.Attributes ?? {};
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (!NON_LABEL_ATTRIBUTES.has(key)) labels[key] = value;
  }
  const exitCode = attributes['exitCode'] !== undefined ? Number(attributes['exitCode']) : undefined;
  return {
    time: new Date(Number(nano / 1_000_000n)).toISOString(),
    timeNano: nano.toString(),
    action,
    containerId,
    ...(exitCode !== undefined && Number.isFinite(exitCode) ? { exitCode } : {}),
    ...(attributes['signal'] !== undefined ? { signal: attributes['signal'] } : {}),
    ...(attributes['name'] !== undefined ? { containerName: attributes['name'].replace(/^\//, '') } : {}),
    ...(attributes['image'] !== undefined ? { image: attributes['image'] } : {}),
    labels,
  };
}

/** Options of {@link subscribeEvents}. */
export interface SubscribeEventsOptions {
  /** Only container events of containers carrying all of these labels (`{key: value}`). */
  readonly labels: Record<string, string>;
  /**
   * Replay buffered events (the daemon keeps its last 256) from this time on: a Date, or
   * the `timeNano` of the last {@link DaemonEvent} already recorded, which replays from
   * just after it. A resumed run passes the last `timeNano` its previous controller
   * recorded (or the run's start), so that what happened while no controller listened is
   * delivered and nothing recorded is delivered twice.
   * @default the time of the call: only events from now on
   */
  readonly since?: Date | string;
  /** Called once per event, in the daemon's order, never twice for the same event. A throw ends the subscription. */
  readonly onEvent: (event: DaemonEvent) => void;
  /**
   * Called when the stream comes up (`connected`) and when it breaks or cannot be opened
   * (`disconnected`, with the reason), once per change.
   */
  readonly onState?: (state: 'connected' | 'disconnected', detail: { reason?: string }) => void;
  /** Ends the subscription; the returned promise then resolves. */
  readonly signal: AbortSignal;
  /**
   * First delay before reconnecting, ms; doubled after each failed try up to
   * `maxReconnectDelayMs`, and back to this once a connection has delivered an event or
   * stayed up for a second.
   * @default 100
   */
  readonly reconnectDelayMs?: number;
  /** @default 2000 */
  readonly maxReconnectDelayMs?: number;
  /**
   * How long to wait for the daemon to answer the request, ms. A daemon restoring its
   * containers accepts connections without answering (DOCKER-NOTES), so an unbounded
   * request could wait for the whole restore.
   * @default 5000
   */
  readonly connectTimeoutMs?: number;
}

/** Carries what `onEvent` threw past the stream's own error handling. */
class ListenerError {
  constructor(readonly cause: unknown) {}
}

/** Whether a failure is the daemon refusing the request itself (HTTP 4xx), which no retry fixes. */
function isClientError(error: unknown): boolean {
  if (!(error instanceof DockerError) || error.name === 'DaemonUnavailableError') return false;
  return error.status !== undefined && error.status >= 400 && error.status < 500;
}

function parseTimeNano(value: string): bigint {
  if (!/^\d{1,30}$/.test(value)) {
    throw new TypeError(`Expected \`since\` to be a Date or a timeNano (decimal nanoseconds since the epoch), got \`${value}\` (string)`);
  }
  return BigInt(value);
}

function validateDelay(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new TypeError(`Expected \`${name}\` to be a number of ms ≥ 0, got \`${String(value)}\` (${typeof value})`);
  }
  return value;
}

/**
 * Follows the container events of the containers carrying `labels` until `signal` aborts,
 * across daemon outages: when the stream breaks (the daemon stopped: ENOENT; was killed:
 * ECONNREFUSED; restarted; the connection dropped) it reconnects with backoff and
 * `since` = the exact time of the last event delivered, and drops events already
 * delivered (same time, action and container). Events that happened while the daemon
 * itself was down are not replayable (see the module comment); inspect the containers
 * after a `connected` that followed a `disconnected`.
 *
 * @returns a promise that resolves once `signal` aborts (at once when it already has).
 * @throws {TypeError} for an invalid option (a negative delay, a `since` string that is
 *   not a timeNano), naming it and the value.
 * @throws {DockerError} when the daemon answers the request with a client error (HTTP
 *   4xx, e.g. a filter it refuses), which no reconnect would fix; or whatever `onEvent`
 *   throws. Daemon unavailability never rejects: it is retried until `signal` aborts.
 */
export async function subscribeEvents(docker: Pick<DockerClient, 'events'>, options: SubscribeEventsOptions): Promise<void> {
  const { signal, onEvent, onState } = options;
  const initialDelay = validateDelay('reconnectDelayMs', options.reconnectDelayMs, 100);
  const maxDelay = Math.max(initialDelay, validateDelay('maxReconnectDelayMs', options.maxReconnectDelayMs, 2000));
  const connectTimeoutMs = validateDelay('connectTimeoutMs', options.connectTimeoutMs, 5000);
  // The replay bound of the next connection: the caller's since (or now) until an event
  // arrives, then the exact time of the newest event delivered. Only event times from the
  // daemon's own clock move it, so a client clock out of step with the daemon's cannot
  // make a reconnect skip or repeat events.
  const initialSince = typeof options.since === 'string' ? toApiTimestamp(parseTimeNano(options.since) + 1n) : toApiTimestamp(options.since ?? new Date());
  if (signal.aborted) return;

  let newest: bigint | undefined;
  /** Keys of delivered events at the newest time: the only ones a replay can repeat. */
  const delivered = new Map<string, bigint>();
  let state: 'connected' | 'disconnected' | undefined;
  const setState = (next: 'connected' | 'disconnected', reason?: string): void => {
    if (state === next) return;
    state = next;
    onState?.(next, reason === undefined ? {} : { reason });
  };

  const deliver = (event: DaemonEvent): boolean => {
    // The rest of a chunk read before an abort is not delivered: after abort, nothing is.
    if (signal.aborted) return false;
    const nano = BigInt(event.timeNano);
    const key = `${event.timeNano}|${event.action}|${event.containerId}`;
    if (delivered.has(key)) return false;
    // An event older than the newest can arrive only out of order; a replay from the
    // newest time cannot repeat it, so no key is kept for it.
    if (newest === undefined || nano >= newest) {
      delivered.set(key, nano);
      if (newest === undefined || nano > newest) {
        newest = nano;
        for (const [k, t] of delivered) if (t < nano) delivered.delete(k);
      }
    }
    try {
      onEvent(event);
    } catch (error) {
      throw new ListenerError(error);
    }
    return true;
  };

  let delay = initialDelay;
  while (!signal.aborted) {
    const connection = new AbortController();
    let stream: Readable | undefined;
    const abortConnection = (): void => {
      connection.abort(signal.reason);
      // Not left to the client: ending the read loop must not depend on it honouring the signal.
      stream?.destroy();
    };
    signal.addEventListener('abort', abortConnection, { once: true });
    let connectedAt: number | undefined;
    let deliveredHere = 0;
    let reason: string | undefined;
    try {
      let timer: NodeJS.Timeout | undefined;
      try {
        timer = setTimeout(() => connection.abort(new Error(`no answer within ${connectTimeoutMs} ms`)), connectTimeoutMs);
        stream = await docker.events({
          labels: options.labels,
          since: newest === undefined ? initialSince : toApiTimestamp(newest),
          signal: connection.signal,
        });
      } finally {
        clearTimeout(timer);
      }
      if (signal.aborted) break; // answered just as the caller gave up
      connectedAt = Date.now();
      setState('connected');
      // Messages are newline-delimited JSON (the daemon's json.Encoder); a chunk may end
      // mid-message, so keep the tail for the next one.
      let tail = '';
      for await (const chunk of stream) {
        tail += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
        let newline: number;
        while ((newline = tail.indexOf('\n')) >= 0) {
          const line = tail.slice(0, newline);
          tail = tail.slice(newline + 1);
          const event = parseDaemonEvent(line);
          if (event && deliver(event)) deliveredHere += 1;
        }
      }
      const last = parseDaemonEvent(tail);
      if (last && deliver(last)) deliveredHere += 1;
      reason = 'the daemon ended the events stream';
    } catch (error) {
      if (error instanceof ListenerError) throw error.cause;
      if (signal.aborted) break;
      if (isClientError(error)) throw error;
      if (connectedAt === undefined && connection.signal.aborted) {
        reason = `the daemon did not answer GET /events within ${connectTimeoutMs} ms`;
      } else {
        // A DaemonUnavailableError (ENOENT, ECONNREFUSED) while connecting, or the
        // response cut short (ECONNRESET, "aborted") when the daemon went away mid-stream.
        const code = (error as { code?: unknown } | undefined)?.code;
        reason = `${typeof code === 'string' ? `${code}: ` : ''}${error instanceof Error ? error.message : String(error)}`;
      }
    } finally {
      signal.removeEventListener('abort', abortConnection);
      stream?.destroy();
    }
    if (signal.aborted) break;
    setState('disconnected', reason);
    const healthy = deliveredHere > 0 || (connectedAt !== undefined && Date.now() - connectedAt >= 1000);
    delay = healthy ? initialDelay : delay;
    try {
      await sleep(delay, undefined, { signal });
    } catch {
      break; // aborted while waiting
    }
    delay = Math.min(maxDelay, Math.max(delay * 2, 1));
  }
}

/** A container's end as its `die` event tells it. */
export interface ContainerExit {
  /** The event's `exitCode` attribute (137 for SIGKILL: 128 + 9). */
  readonly exitCode: number;
  /** Whether an `oom` event came for the container since its last `start` (the daemon sends `oom` before `die`). */
  readonly oomKilled: boolean;
  /** When the daemon emitted `die`, ISO 8601 with ms precision. */
  readonly time: string;
}

/**
 * The last known life of each container, from its `start`, `oom` and `die` events: lets a
 * caller that already follows the events learn an exit code without inspecting the
 * container. An inspect right after the exit takes 7–28 ms on a busy daemon (it is tearing
 * the container down), against the `die` event that arrives within ~1 ms of the attached
 * stream's end (bench/README.md "Detection").
 *
 * Only `die` events that carry `exitCode` count; a `start` after a `die` (a restart)
 * clears the exit, so a waiter never takes an earlier life's exit for the current one.
 */
export class ContainerExitTracker {
  readonly #exits = new Map<string, ContainerExit>();
  readonly #oom = new Set<string>();
  readonly #waiters = new Map<string, Set<(exit: ContainerExit | undefined) => void>>();
  #connected = true;

  /**
   * Whether the events stream is up (`subscribeEvents`' `onState`). While it is down no
   * `die` can arrive: {@link waitForExit} answers at once with what it knows, so the caller
   * inspects without waiting — the outage path (daemon down, restarting) stays as it was.
   */
  setConnected(connected: boolean): void {
    this.#connected = connected;
    if (!connected) {
      for (const waiters of this.#waiters.values()) for (const resolve of waiters) resolve(undefined);
    }
  }

  /** Feeds one event (any action; only `start`, `oom` and `die` matter). */
  note(event: DaemonEvent): void {
    const id = event.containerId;
    if (event.action === 'start') {
      this.#exits.delete(id);
      this.#oom.delete(id);
    } else if (event.action === 'oom') {
      this.#oom.add(id);
    } else if (event.action === 'die' && event.exitCode !== undefined) {
      const exit: ContainerExit = { exitCode: event.exitCode, oomKilled: this.#oom.has(id), time: event.time };
      this.#exits.set(id, exit);
      const waiters = this.#waiters.get(id);
      this.#waiters.delete(id);
      for (const resolve of waiters ?? []) resolve(exit);
    }
  }

  /** The exit of the container's last life, if its `die` has arrived and no `start` since. */
  exitOf(containerId: string): ContainerExit | undefined {
    return this.#exits.get(containerId);
  }

  /**
   * Resolves with the container's exit once its `die` event is in, or `undefined` after
   * `timeoutMs` (ms) without one (the container still runs: its output stream ended for
   * another reason), or as soon as the events stream is down.
   */
  waitForExit(containerId: string, timeoutMs: number): Promise<ContainerExit | undefined> {
    const known = this.#exits.get(containerId);
    if (known || !this.#connected) return Promise.resolve(known);
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(containerId);
      if (!waiters) this.#waiters.set(containerId, (waiters = new Set()));
      const done = (exit: ContainerExit | undefined): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(containerId) === waiters) this.#waiters.delete(containerId);
        resolve(exit);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      waiters.add(done);
    });
  }
}
