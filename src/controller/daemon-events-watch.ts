import { Label, subscribeEvents, type DaemonEvent, type DockerClient } from '../docker/index.js';
import type { RunEventInput } from './events.js';

/** Container actions recorded in the run's timeline as `docker.event`. */
const RECORDED = new Set(['die', 'oom', 'kill', 'pause', 'unpause', 'start', 'stop', 'restart']);

/** What {@link watchDaemonEvents} feeds. */
export interface DaemonEventsWatchOptions {
  readonly docker: Pick<DockerClient, 'events'>;
  readonly runId: string;
  /** The run's start: a resumed run replays what the daemon still holds from it. */
  readonly since: Date;
  /** Receives every event of the run's containers (the exit tracker: exit codes from `die`). */
  readonly onAnyEvent: (event: DaemonEvent) => void;
  /** Receives the recorded actions only (`die`, `oom`, `kill`, `pause`, …), before they are emitted. */
  readonly onRecorded: (event: DaemonEvent) => void;
  /** The events stream went up (`true`) or down. */
  readonly onConnected: (connected: boolean) => void;
  readonly emit: (event: RunEventInput) => void;
}

/** A running watch: {@link stop} ends it and resolves once it has. */
export interface DaemonEventsWatch {
  stop(): Promise<void>;
}

/**
 * Follows the daemon's own account of the run's containers (die, oom, kill, pause, …)
 * across outages (`subscribeEvents`, reconnecting with `since`), records each as a
 * `docker.event` with its role, task and attempt labels, and the stream's state as
 * `docker.events`. Never rejects: a stream that fails for good is emitted as
 * `docker.events` `failed`.
 */
export function watchDaemonEvents(options: DaemonEventsWatchOptions): DaemonEventsWatch {
  const { emit } = options;
  const abort = new AbortController();
  const done = subscribeEvents(options.docker, {
    labels: { [Label.run]: options.runId },
    since: options.since,
    signal: abort.signal,
    onEvent: (e) => {
      options.onAnyEvent(e);
      if (!RECORDED.has(e.action)) return;
      options.onRecorded(e);
      const task = e.labels[Label.task];
      const attempt = e.labels[Label.attempt];
      const role = e.labels[Label.role];
      emit({
        type: 'docker.event',
        time: e.time,
        timeNano: e.timeNano,
        action: e.action,
        containerId: e.containerId,
        ...(role ? { role } : {}),
        ...(task ? { task } : {}),
        ...(attempt ? { attempt: Number(attempt) } : {}),
        ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
        ...(e.signal !== undefined ? { signal: e.signal } : {}),
      });
    },
    onState: (s, d) => {
      options.onConnected(s === 'connected');
      emit({ type: 'docker.events', state: s, ...(d.reason ? { reason: d.reason } : {}) });
    },
  }).catch((error: unknown) => {
    emit({ type: 'docker.events', state: 'failed', reason: error instanceof Error ? error.message : String(error) });
  });
  return {
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}
