import { expandLabelKey, Label, type ContainerSummary, type DockerClient } from '../docker/index.js';
import type { FaultSpec, TargetSelector, Trigger } from '../scenario/index.js';
import type { WorkerEvent } from '../worker/events.js';
import type { SeededRandom } from './random.js';

/** The slice of the Docker client a fault needs: find targets by label, act on them. */
export type FaultDockerClient = Pick<DockerClient, 'listContainers' | 'killContainer'>;

/** One container a fault acted on, identified by its labels. */
export interface FaultTarget {
  readonly containerId: string;
  readonly task: string | undefined;
  readonly attempt: number | undefined;
}

/** What happened when a fault fired: the record reports, checks and repro share. */
export interface FaultRecord {
  /** `name` from the scenario, else `f<index+1>`. */
  readonly faultId: string;
  readonly kind: FaultSpec['kind'];
  /** The trigger in words, e.g. `on the 2nd task.started`. */
  readonly trigger: string;
  /** ISO time the fault fired. */
  readonly firedAt: string;
  /** ms since the run started. */
  readonly offsetMs: number;
  readonly targets: readonly FaultTarget[];
  readonly params: Readonly<Record<string, unknown>>;
  /** `injected`: acted on every target; `no-target`: nothing matched; `failed`: the Docker call failed. */
  readonly status: 'injected' | 'no-target' | 'failed';
  readonly error?: string;
}

/** Events the injector reports, in the run's one event shape (type + fields). */
export type FaultEvent =
  | { type: 'fault.injected'; record: FaultRecord }
  | { type: 'fault.failed'; record: FaultRecord }
  | { type: 'fault.skipped'; faultId: string; kind: string; trigger: string; reason: string };

const ORDINALS = ['th', 'st', 'nd', 'rd'];
function ordinal(n: number): string {
  const v = n % 100;
  return `${n}${ORDINALS[(v - 20) % 10] ?? ORDINALS[v] ?? ORDINALS[0]}`;
}

/** A trigger in words for messages and reports: `at 2000 ms`, `on the 2nd task.started of t-02`. */
export function describeTrigger(trigger: Trigger): string {
  if ('at' in trigger) return `at ${trigger.at} ms`;
  const { event, nth, task, attempt } = trigger.on;
  return `on the ${ordinal(nth)} ${event}${task ? ` of ${task}` : ''}${attempt ? ` (attempt ${attempt})` : ''}`;
}

/** The id of the fault at `index`. */
export function faultId(fault: FaultSpec, index: number): string {
  return fault.name ?? `f${index + 1}`;
}

interface ArmedFault {
  readonly id: string;
  readonly spec: FaultSpec;
  readonly random: SeededRandom;
  matched: number;
  fired: boolean;
  timer?: NodeJS.Timeout;
}

/**
 * Fires the scenario's faults when their triggers match and acts on targets found by
 * label query. Each fault fires at most once. Every random choice comes from a fork of
 * the run's generator named after the fault, so the same seed gives the same targets.
 */
export class Injector {
  readonly #docker: FaultDockerClient;
  readonly #runId: string;
  readonly #emit: (event: FaultEvent) => void;
  readonly #armed: ArmedFault[];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #records: FaultRecord[] = [];
  readonly #targeted = new Map<string, string[]>();
  #startedAt = 0;
  #stopped = false;

  constructor(options: {
    faults: readonly FaultSpec[];
    random: SeededRandom;
    docker: FaultDockerClient;
    runId: string;
    emit: (event: FaultEvent) => void;
    /**
     * For a resumed run: faults that already fired (never fired again), their records,
     * and the worker events seen before, which prime the `on` triggers' counters.
     */
    resume?: { records: readonly FaultRecord[]; priorEvents: readonly WorkerEvent[] };
  }) {
    this.#docker = options.docker;
    this.#runId = options.runId;
    this.#emit = options.emit;
    const fired = new Set(options.resume?.records.map((r) => r.faultId));
    this.#records.push(...(options.resume?.records ?? []));
    for (const record of this.#records) {
      for (const t of record.targets) this.#targeted.set(t.containerId, [...this.faultsTargeting(t.containerId), record.faultId]);
    }
    this.#armed = options.faults.map((spec, i) => {
      const id = faultId(spec, i);
      return { id, spec, random: options.random.fork(`fault:${id}`), matched: 0, fired: fired.has(id) };
    });
    for (const event of options.resume?.priorEvents ?? []) this.#count(event);
  }

  /** Faults fired so far. */
  get records(): readonly FaultRecord[] {
    return this.#records;
  }

  /**
   * Ids of the faults that acted on a container. A target is recorded before the fault
   * acts on it, so an attempt's exit is never judged before it is known to be a fault's doing.
   */
  faultsTargeting(containerId: string): readonly string[] {
    return this.#targeted.get(containerId) ?? [];
  }

  /**
   * Arms time triggers. `at` offsets count from `runStartedAtMs` (default: now), so a
   * resumed run keeps the original schedule; an offset already past fires at once.
   */
  start(runStartedAtMs = Date.now()): void {
    this.#startedAt = runStartedAtMs;
    for (const fault of this.#armed) {
      const trigger = fault.spec.trigger;
      if ('at' in trigger && !fault.fired) {
        fault.timer = setTimeout(() => this.#fire(fault), Math.max(0, runStartedAtMs + trigger.at - Date.now()));
      }
    }
  }

  /** Feeds a worker event to the event triggers. Synchronous: the fault runs in the background. */
  observe(event: WorkerEvent): void {
    if (this.#stopped) return;
    for (const fault of this.#count(event)) this.#fire(fault);
  }

  /** Counts an event against the `on` triggers; returns the faults whose nth match it is. */
  #count(event: WorkerEvent): ArmedFault[] {
    const due: ArmedFault[] = [];
    for (const fault of this.#armed) {
      const trigger = fault.spec.trigger;
      if (fault.fired || !('on' in trigger)) continue;
      const on = trigger.on;
      if (event.type !== on.event) continue;
      if (on.task !== undefined && event.task !== on.task) continue;
      if (on.attempt !== undefined && event.attempt !== on.attempt) continue;
      fault.matched += 1;
      if (fault.matched === on.nth) due.push(fault);
    }
    return due;
  }

  /**
   * Disarms the remaining triggers, waits for faults in flight, and reports each fault
   * that never fired as `fault.skipped`.
   */
  async stop(): Promise<readonly FaultRecord[]> {
    this.#stopped = true;
    for (const fault of this.#armed) if (fault.timer) clearTimeout(fault.timer);
    await Promise.all([...this.#inFlight]);
    for (const fault of this.#armed) {
      if (!fault.fired) {
        this.#emit({
          type: 'fault.skipped',
          faultId: fault.id,
          kind: fault.spec.kind,
          trigger: describeTrigger(fault.spec.trigger),
          reason: 'the run ended before the trigger matched',
        });
      }
    }
    return this.#records;
  }

  /** Ids of faults that never fired (after {@link stop}). */
  get unfired(): string[] {
    return this.#armed.filter((f) => !f.fired).map((f) => f.id);
  }

  #fire(fault: ArmedFault): void {
    if (fault.fired || this.#stopped) return;
    fault.fired = true;
    const run = this.#run(fault).finally(() => this.#inFlight.delete(run));
    this.#inFlight.add(run);
  }

  async #run(fault: ArmedFault): Promise<void> {
    const firedAt = new Date();
    const base = {
      faultId: fault.id,
      kind: fault.spec.kind,
      trigger: describeTrigger(fault.spec.trigger),
      firedAt: firedAt.toISOString(),
      offsetMs: firedAt.getTime() - this.#startedAt,
      params: { ...fault.spec.params },
    };
    let targets: FaultTarget[] = [];
    try {
      const candidates = await this.#candidates(fault.spec.target);
      targets = pickTargets(candidates, fault.spec.target, fault.random).map(toTarget);
      if (targets.length === 0) {
        const record: FaultRecord = { ...base, targets, status: 'no-target', error: 'no running container matched the target selector' };
        this.#records.push(record);
        this.#emit({ type: 'fault.failed', record });
        return;
      }
      for (const t of targets) this.#targeted.set(t.containerId, [...this.faultsTargeting(t.containerId), fault.id]);
      await Promise.all(targets.map((t) => this.#act(fault.spec, t)));
      const record: FaultRecord = { ...base, targets, status: 'injected' };
      this.#records.push(record);
      this.#emit({ type: 'fault.injected', record });
    } catch (error) {
      const record: FaultRecord = {
        ...base,
        targets,
        status: 'failed',
        error: error instanceof Error ? error.message : String(error),
      };
      this.#records.push(record);
      this.#emit({ type: 'fault.failed', record });
    }
  }

  async #candidates(selector: TargetSelector): Promise<ContainerSummary[]> {
    const labels: Record<string, string> = { [Label.run]: this.#runId };
    for (const [k, v] of Object.entries(selector.labels)) labels[expandLabelKey(k)] = v;
    const running = await this.#docker.listContainers({ labels, status: 'running' });
    return running.filter((c) => c.labels[Label.skip] !== 'true');
  }

  async #act(spec: FaultSpec, target: FaultTarget): Promise<void> {
    switch (spec.kind) {
      case 'kill':
        await this.#docker.killContainer(target.containerId, spec.params.signal);
        return;
    }
  }
}

function toTarget(c: ContainerSummary): FaultTarget {
  const attempt = c.labels[Label.attempt];
  return {
    containerId: c.id,
    task: c.labels[Label.task],
    attempt: attempt === undefined ? undefined : Number(attempt),
  };
}

/**
 * Chooses targets from candidates. Candidates are first put in a stable order (task,
 * attempt, id), because the daemon's listing order is not part of its API: the same seed
 * must give the same choice whatever order the daemon returns.
 */
export function pickTargets(
  candidates: readonly ContainerSummary[],
  selector: Pick<TargetSelector, 'pick' | 'count'>,
  random: SeededRandom,
): ContainerSummary[] {
  const ordered = [...candidates].sort((a, b) => {
    const ta = a.labels[Label.task] ?? '';
    const tb = b.labels[Label.task] ?? '';
    if (ta !== tb) return ta < tb ? -1 : 1;
    const aa = Number(a.labels[Label.attempt] ?? 0);
    const ab = Number(b.labels[Label.attempt] ?? 0);
    if (aa !== ab) return aa - ab;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
  switch (selector.pick) {
    case 'all':
      return ordered;
    case 'first':
      return ordered.slice(0, selector.count);
    case 'random':
      return random.sample(ordered, selector.count);
  }
}
