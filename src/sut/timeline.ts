import { subscribeEvents, type ContainerInfo, type DaemonEvent, type DockerClient } from '../docker/index.js';

/**
 * One container of the system under test as keelhaul saw it: the daemon's events for it
 * (Docker's own clock) and its inspection at creation, when it still existed.
 */
export interface SutContainerRecord {
  readonly containerId: string;
  /** Without the leading `/`. */
  name: string;
  /** Its `sut.taskLabel` value. */
  task: string | undefined;
  labels: Readonly<Record<string, string>>;
  image: string | undefined;
  /** ISO times of its events. */
  createdAt: string | undefined;
  readonly startedAt: string[];
  readonly diedAt: { readonly time: string; readonly exitCode: number | undefined }[];
  oomKilled: boolean;
  destroyedAt: string | undefined;
  /** `GET /containers/{id}/json` right after `create`; undefined when it was gone before keelhaul looked. */
  inspected: ContainerInfo | undefined;
  /** Why the inspection failed. */
  inspectError: string | undefined;
}

/** Options of {@link SutTimeline.start}. */
export interface SutTimelineOptions {
  readonly docker: Pick<DockerClient, 'events' | 'inspectContainer'>;
  /** The SUT's selector, interpolated (`{key: value}`; value `*`: any). */
  readonly labels: Readonly<Record<string, string>>;
  readonly taskLabel: string | undefined;
  /** Called for each event, after the record is updated (the injector's triggers, events.jsonl). */
  readonly onEvent?: (event: DaemonEvent, record: SutContainerRecord) => void;
  /** Called when the subscription connects, breaks or fails for good. */
  readonly onState?: (state: 'connected' | 'disconnected' | 'failed', reason?: string) => void;
}

/** The actions recorded; others (attach, exec_*, health_status, …) are not part of the timeline. */
const ACTIONS = new Set(['create', 'start', 'die', 'oom', 'kill', 'stop', 'pause', 'unpause', 'restart', 'destroy']);

/**
 * The SUT's container timeline, from the daemon's event stream filtered by the SUT's
 * labels (reconnecting with `since` across a daemon outage, so nothing is missed or
 * doubled: src/docker/events.ts). Every matching container is recorded as it appears.
 */
export class SutTimeline {
  readonly #records = new Map<string, SutContainerRecord>();
  readonly #abort = new AbortController();
  readonly #inspections = new Set<Promise<void>>();
  #subscription: Promise<void> = Promise.resolve();
  #failure: string | undefined;

  /** Subscribes from `since` (default now). Returns at once; events arrive in the background. */
  static start(options: SutTimelineOptions, since?: Date): SutTimeline {
    const timeline = new SutTimeline();
    timeline.#subscription = subscribeEvents(options.docker, {
      labels: { ...options.labels },
      ...(since ? { since } : {}),
      signal: timeline.#abort.signal,
      onState: (state, detail) => options.onState?.(state, detail.reason),
      onEvent: (event) => {
        if (!ACTIONS.has(event.action)) return;
        const record = timeline.#record(event, options.taskLabel);
        if (event.action === 'create') {
          const inspection = options.docker
            .inspectContainer(event.containerId)
            .then((info) => {
              record.inspected = info;
              record.name = info.name.replace(/^\//, '');
              record.image = info.image;
            })
            .catch((error: unknown) => {
              record.inspectError = error instanceof Error ? error.message : String(error);
            })
            .finally(() => timeline.#inspections.delete(inspection));
          timeline.#inspections.add(inspection);
        }
        options.onEvent?.(event, record);
      },
    }).catch((error: unknown) => {
      timeline.#failure = error instanceof Error ? error.message : String(error);
      options.onState?.('failed', timeline.#failure);
    });
    return timeline;
  }

  #record(event: DaemonEvent, taskLabel: string | undefined): SutContainerRecord {
    let record = this.#records.get(event.containerId);
    if (!record) {
      record = {
        containerId: event.containerId,
        name: event.containerName ?? '',
        task: taskLabel ? event.labels[taskLabel] : undefined,
        labels: event.labels,
        image: event.image,
        createdAt: undefined,
        startedAt: [],
        diedAt: [],
        oomKilled: false,
        destroyedAt: undefined,
        inspected: undefined,
        inspectError: undefined,
      };
      this.#records.set(event.containerId, record);
    }
    switch (event.action) {
      case 'create':
        record.createdAt = event.time;
        break;
      case 'start':
        record.startedAt.push(event.time);
        break;
      case 'die':
        record.diedAt.push({ time: event.time, exitCode: event.exitCode });
        break;
      case 'oom':
        record.oomKilled = true;
        break;
      case 'destroy':
        record.destroyedAt = event.time;
        break;
    }
    return record;
  }

  /** The containers seen so far, in order of first appearance. */
  get containers(): readonly SutContainerRecord[] {
    return [...this.#records.values()];
  }

  /** Why the subscription ended for good (a filter the daemon refused), if it did. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Waits for inspections under way, then ends the subscription. */
  async stop(): Promise<void> {
    await Promise.all([...this.#inspections]);
    this.#abort.abort();
    await this.#subscription;
  }
}
