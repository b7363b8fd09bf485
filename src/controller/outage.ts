import { setTimeout as sleep } from 'node:timers/promises';
import { DaemonUnavailableError } from '../docker/index.js';

/** What an outage reports: `daemon.down` when it starts, `daemon.up` (after `downMs` ms) when the daemon answers again. */
export type OutageEvent =
  { readonly type: 'daemon.down'; readonly endpoint: string; readonly limitMs: number } | { readonly type: 'daemon.up'; readonly endpoint: string; readonly downMs: number };

/** How {@link DaemonOutage} watches the daemon. */
export interface DaemonOutageOptions {
  /** The daemon's endpoint, for events and the error. */
  readonly endpoint: string;
  /** The scenario's `daemon.outageLimitMs`: how long to wait for the daemon, ms. */
  readonly limitMs: number;
  /** One bounded ping; rejects when the daemon does not answer within `timeoutMs` ms. */
  readonly ping: (options: { timeoutMs: number }) => Promise<unknown>;
  readonly emit: (event: OutageEvent) => void;
  /** @default node's timers/promises setTimeout */
  readonly sleep?: (ms: number) => Promise<unknown>;
  /** ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** Each ping of an outage is bounded: a restoring daemon accepts connections without answering. */
const PING_TIMEOUT_MS = 2000;

/** Pings, and the pause between them, with which {@link DaemonOutage.waitIfGoingAway} watches a daemon that refused a launch. */
const GOING_AWAY_PINGS = 6;
const GOING_AWAY_INTERVAL_MS = 500;

/**
 * A daemon outage, shared by everyone who meets it (an attempt's follower, a launch, the
 * heartbeat watch): the first {@link wait} emits `daemon.down`, tells the `onDown` listeners,
 * pings with backoff (100 ms doubling to 1 s) and resolves at `daemon.up`; later callers
 * join the same wait. Past `limitMs` it rejects and {@link gaveUp} stays true.
 */
export class DaemonOutage {
  readonly #options: DaemonOutageOptions;
  readonly #onDown: (() => void)[] = [];
  readonly #onUp: (() => void)[] = [];
  #current: Promise<void> | undefined;
  #gaveUp = false;

  constructor(options: DaemonOutageOptions) {
    this.#options = options;
  }

  /** Calls `listener` at the start of every outage, after `daemon.down` is emitted. */
  onDown(listener: () => void): void {
    this.#onDown.push(listener);
  }

  /** Calls `listener` at the end of every outage the daemon came back from, after `daemon.up` is emitted. */
  onUp(listener: () => void): void {
    this.#onUp.push(listener);
  }

  /** The outage in progress, if any: resolves at `daemon.up`, rejects when it gave up. */
  get current(): Promise<void> | undefined {
    return this.#current;
  }

  /** Whether an outage is in progress (silence now is the daemon's, not a worker's). */
  get active(): boolean {
    return this.#current !== undefined;
  }

  /** Whether an outage outlasted `limitMs`: the run gives up, resumable. */
  get gaveUp(): boolean {
    return this.#gaveUp;
  }

  /**
   * Waits for the daemon to answer, starting an outage unless one is in progress.
   * @throws {DaemonUnavailableError} (code `ETIMEDOUT`) when it does not answer within `limitMs`
   */
  wait(): Promise<void> {
    this.#current ??= this.#watch().finally(() => {
      this.#current = undefined;
    });
    return this.#current;
  }

  /**
   * After a launch failed with a daemon error: a daemon shutting down answers pings for a
   * while but refuses work ("database not open"), then stops answering (ECONNREFUSED).
   * Watches it for up to 6 pings 500 ms apart; the first that goes unanswered starts (or
   * joins) the outage and waits it out, so the next launch waits for the daemon rather
   * than spinning into it. Resolves after about 3 s when the daemon keeps answering.
   * @returns `true` when the daemon stopped answering (and came back), `false` when it answered every ping
   * @throws {DaemonUnavailableError} when the outage outlasts `limitMs`
   */
  async waitIfGoingAway(): Promise<boolean> {
    const pause = this.#options.sleep ?? sleep;
    for (let i = 0; i < GOING_AWAY_PINGS; i++) {
      const up = await this.#options.ping({ timeoutMs: PING_TIMEOUT_MS }).then(
        () => true,
        () => false,
      );
      if (!up) {
        await this.wait();
        return true;
      }
      await pause(GOING_AWAY_INTERVAL_MS);
    }
    return false;
  }

  async #watch(): Promise<void> {
    const { endpoint, limitMs, ping, emit } = this.#options;
    const pause = this.#options.sleep ?? sleep;
    const now = this.#options.now ?? Date.now;
    const since = now();
    emit({ type: 'daemon.down', endpoint, limitMs });
    for (const listener of this.#onDown) listener();
    let delay = 100;
    while (now() - since < limitMs) {
      try {
        await ping({ timeoutMs: PING_TIMEOUT_MS });
        emit({ type: 'daemon.up', endpoint, downMs: now() - since });
        this.#current = undefined;
        for (const listener of this.#onUp) listener();
        return;
      } catch {
        await pause(delay);
        delay = Math.min(delay * 2, 1000);
      }
    }
    this.#gaveUp = true;
    throw new DaemonUnavailableError(endpoint, {
      operation: `wait for the daemon to come back (daemon.outageLimitMs ${limitMs} ms)`,
      code: 'ETIMEDOUT',
    });
  }
}
