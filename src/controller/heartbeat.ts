/** How a {@link HeartbeatWatch} decides and acts. */
export interface HeartbeatWatchOptions {
  /** The scenario's `heartbeatTimeoutMs`: silence longer than this is a hang, ms. */
  readonly timeoutMs: number;
  /** Whether the daemon is down now: silence then is the daemon's, not the worker's, and the watch re-arms. */
  readonly daemonDown: () => boolean;
  /** Called when the attempt is declared hung (the caller emits `attempt.hung` and kills it); again after a later event re-armed the watch and it fell silent again. */
  readonly onHung: () => void;
}

/**
 * The heartbeat watch of one attempt: silent (no worker event) for `timeoutMs` — paused,
 * hung, its stdout blocked — it is declared hung. Every event re-arms it
 * ({@link rearm}); silence during a daemon outage does not count (a worker's stdout pipe
 * blocks until the daemon is back, DOCKER-NOTES). Starts armed; {@link stop} at the exit.
 */
export class HeartbeatWatch {
  readonly #options: HeartbeatWatchOptions;
  #timer: NodeJS.Timeout | undefined;
  #hung = false;

  constructor(options: HeartbeatWatchOptions) {
    this.#options = options;
    this.rearm();
  }

  /** Whether the watch declared the attempt hung. */
  get hung(): boolean {
    return this.#hung;
  }

  /** Starts the silence over (an event arrived). */
  rearm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (this.#options.daemonDown()) {
        this.rearm();
        return;
      }
      this.#hung = true;
      this.#options.onHung();
    }, this.#options.timeoutMs);
  }

  /** Ends the watch (the attempt exited). */
  stop(): void {
    clearTimeout(this.#timer);
  }
}
