import { expandLabelKey, Label, TargetUnavailableError, type ContainerSummary } from '../docker/index.js';
import type { FaultSpec, TargetSelector, Trigger } from '../scenario/index.js';
import type { WorkerEvent } from '../worker/events.js';
import { applyFault, faultAction, type FaultContext, type TargetSource, type Undo } from './actions.js';
import type { SeededRandom } from './random.js';
import { setTimeout as sleep } from 'node:timers/promises';

export type { FaultDockerClient, TargetSource } from './actions.js';

/** How long a firing waits for a running target before it counts as no-target, ms. */
export const NO_TARGET_WAIT_MS = 5000;
const NO_TARGET_POLL_MS = 250;

/** One container a fault acted on, identified by its labels. */
export interface FaultTarget {
  readonly containerId: string;
  readonly task: string | undefined;
  readonly attempt: number | undefined;
  /** The Compose topology service, for a service container (src/compose/); such a target is no attempt. */
  readonly service?: string;
  /**
   * ISO time the action on this target returned (the kill was delivered, the pause took):
   * later than the record's `firedAt` by the wait for a target and the write-ahead save,
   * so a worker may finish in between; checks judge "too late to matter" against this.
   */
  readonly actedAt?: string;
}

/** What happened when a fault fired: the record reports, checks and repro share. */
export interface FaultRecord {
  /** `name` from the scenario, else `f<index+1>`; a repeating trigger adds `#<firing>` from the 2nd firing on. */
  readonly faultId: string;
  readonly kind: FaultSpec['kind'];
  /** The trigger in words, e.g. `on the 2nd task.started`. */
  readonly trigger: string;
  /** 1-based firing of this fault (an `every` trigger fires several times). */
  readonly firing: number;
  /** ISO time the fault fired. */
  readonly firedAt: string;
  /** ms since the run started. */
  readonly offsetMs: number;
  readonly targets: readonly FaultTarget[];
  readonly params: Readonly<Record<string, unknown>>;
  /**
   * `injected`: acted on every target; `no-target`: nothing matched; `failed`: acting
   * failed; `skipped`: the trigger's probability draw said no.
   */
  readonly status: 'injected' | 'no-target' | 'failed' | 'skipped';
  readonly error?: string;
  /** When a fault with a duration was undone (unpaused, netem removed). */
  readonly undoneAt?: string;
}

/** Events the injector reports, in the run's one event shape (type + fields). */
export type FaultEvent =
  | { type: 'fault.injected'; record: FaultRecord }
  | { type: 'fault.failed'; record: FaultRecord }
  | { type: 'fault.undone'; faultId: string; kind: string; targets: readonly FaultTarget[] }
  | { type: 'fault.skipped'; faultId: string; kind: string; trigger: string; reason: string };

const ORDINALS = ['th', 'st', 'nd', 'rd'];
function ordinal(n: number): string {
  const v = n % 100;
  return `${n}${ORDINALS[(v - 20) % 10] ?? ORDINALS[v] ?? ORDINALS[0]}`;
}

/** A trigger in words for messages and reports: `at 2000 ms`, `on the 2nd task.started of t-02`. */
export function describeTrigger(trigger: Trigger): string {
  const p = trigger.probability !== undefined ? ` with probability ${trigger.probability}` : '';
  if ('at' in trigger) return `at ${trigger.at} ms${p}`;
  if ('every' in trigger) return `every ${trigger.every} ms, ${trigger.count} time(s)${trigger.startAt !== undefined ? ` from ${trigger.startAt} ms` : ''}${p}`;
  if ('when' in trigger) return `when ${Math.round(trigger.when.progress * 100)}% of tasks completed${p}`;
  const { event, nth, task, attempt, delayMs, pattern } = trigger.on;
  return `${delayMs ? `${delayMs} ms after` : 'on'} the ${ordinal(nth)} ${event}${pattern !== undefined ? ` matching /${pattern}/` : ''}${task ? ` of ${task}` : ''}${attempt ? ` (attempt ${attempt})` : ''}${p}`;
}

/** The id of the fault at `index`. */
export function faultId(fault: FaultSpec, index: number): string {
  return fault.name ?? `f${index + 1}`;
}

/** How many times a trigger fires at most. */
export function firingsOf(trigger: Trigger): number {
  return 'every' in trigger ? trigger.count : 1;
}

/** The generator of one firing's draws; a plan and a run derive the same ones from the seed. */
export function firingRandom(faultRandom: SeededRandom, firing: number, purpose: 'probability' | 'targets'): SeededRandom {
  return faultRandom.fork(`firing:${firing}:${purpose}`);
}

/**
 * What an `on` trigger counts: a worker event, or what keelhaul sees of a system under test
 * (`sut.container.start` of a task, a `sut.output` line). A `WorkerEvent` is one.
 */
export interface TriggerEvent {
  readonly type: string;
  readonly task?: string | undefined;
  readonly attempt?: number | undefined;
  /** `sut.output`: the line, matched by `on.pattern`. */
  readonly line?: string | undefined;
}

/**
 * Where target candidates come from. Default: the run's own containers (`dev.keelhaul.run`).
 * A system under test's run: the containers its `selector` labels match, its task named by
 * `taskLabel` (docs/sut.md).
 */
export interface TargetScope {
  readonly labels: Readonly<Record<string, string>>;
  readonly taskLabel?: string | undefined;
}

interface ArmedFault {
  readonly id: string;
  readonly spec: FaultSpec;
  readonly random: SeededRandom;
  /** Firings started so far. */
  firings: number;
  matched: number;
  timers: NodeJS.Timeout[];
}

/**
 * Fires the scenario's faults when their triggers match and acts on targets found by
 * label query. Each firing draws from generators forked from the run's seed by fault id
 * and firing number, so the same seed gives the same probability outcomes and target
 * choices, and adding a fault does not shift the others' draws.
 */
export class Injector {
  /** The one Docker call the injector makes itself: the label query for candidates. */
  readonly #targets: TargetSource;
  readonly #context: FaultContext;
  readonly #runId: string;
  readonly #scope: TargetScope | undefined;
  readonly #emit: (event: FaultEvent) => void;
  readonly #armed: ArmedFault[];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #records: FaultRecord[] = [];
  readonly #targeted = new Map<string, string[]>();
  readonly #restarting = new Set<string>();
  readonly #undos = new Map<Undo, { timer: NodeJS.Timeout; run: () => Promise<void> }>();
  #startedAt = 0;
  /** `on` faults whose trigger matched in a resumed run's prior events without a record: fired by {@link start}. */
  readonly #dueOnStart: ArmedFault[] = [];
  #stopped = false;
  readonly #beforeAct: ((record: FaultRecord) => Promise<void>) | undefined;
  /** Actions under way, by target container id (see {@link settled}). */
  readonly #acting = new Map<string, Promise<void>>();

  constructor(options: {
    faults: readonly FaultSpec[];
    random: SeededRandom;
    context: FaultContext;
    runId: string;
    /** Where candidates come from; default: the run's own containers. */
    scope?: TargetScope;
    emit: (event: FaultEvent) => void;
    /**
     * For a resumed run: the records of firings that already happened (never repeated),
     * and the worker events seen before, which prime the `on` triggers' counters.
     */
    resume?: { records: readonly FaultRecord[]; priorEvents: readonly WorkerEvent[] };
    /**
     * Called, and awaited, right before a fault acts on a target, with the record as it
     * will stand if the action succeeds: the controller makes it durable first, so a
     * controller that dies mid-fault still knows after a resume that the fault fired and
     * whom it hit (a write-ahead record).
     */
    beforeAct?: (record: FaultRecord) => Promise<void>;
  }) {
    this.#beforeAct = options.beforeAct;
    this.#targets = options.context.docker;
    this.#context = options.context;
    this.#runId = options.runId;
    this.#scope = options.scope;
    this.#emit = options.emit;
    // A write-ahead record and the final one share their id: the last one stands.
    const byId = new Map((options.resume?.records ?? []).map((r) => [r.faultId, r]));
    this.#records.push(...byId.values());
    for (const record of this.#records) {
      for (const t of record.targets) this.#note(t.containerId, record.faultId);
    }
    this.#armed = options.faults.map((spec, i) => {
      const id = faultId(spec, i);
      const firings = this.#records.filter((r) => baseId(r.faultId) === id).length;
      return { id, spec, random: options.random.fork(`fault:${id}`), matched: 0, firings, timers: [] };
    });
    // A trigger the earlier controller saw match but left no record of (it died between the
    // match and the fault's write-ahead record) is due: it fires when the resumed run starts,
    // rather than never (found by the controller-crash test: SIGKILL 2.4 s in, "f1 never fired").
    for (const event of options.resume?.priorEvents ?? []) this.#dueOnStart.push(...this.#count(event));
  }

  /** Firings so far, in the order they fired. */
  get records(): readonly FaultRecord[] {
    return this.#records;
  }

  /**
   * Resolves once no fault is in the middle of acting on the container (from just before
   * its write-ahead record to the action's return). The controller's removal of a finished
   * task's container waits for it, so a fault that chose a target still running does not
   * find it gone half-way (a partition's probe takes ~0.5 s to start before the disconnect).
   */
  settled(containerId: string): Promise<void> {
    return this.#acting.get(containerId) ?? Promise.resolve();
  }

  /**
   * Ids of the faults that acted on a container. A target is recorded before the fault
   * acts on it, so an attempt's exit is never judged before it is known to be a fault's doing.
   */
  faultsTargeting(containerId: string): readonly string[] {
    return this.#targeted.get(containerId) ?? [];
  }

  /** Whether a restart fault is restarting this container now (its exit is not the attempt's end). */
  isRestarting(containerId: string): boolean {
    return this.#restarting.has(containerId);
  }

  #note(containerId: string, id: string): void {
    const list = this.#targeted.get(containerId) ?? [];
    if (!list.includes(id)) this.#targeted.set(containerId, [...list, id]);
  }

  /**
   * Arms time triggers. Offsets count from `runStartedAtMs` (default: now), so a resumed
   * run keeps the original schedule; a firing already past fires at once.
   */
  start(runStartedAtMs = Date.now()): void {
    this.#startedAt = runStartedAtMs;
    for (const fault of this.#armed) {
      const trigger = fault.spec.trigger;
      const times: number[] = [];
      if ('at' in trigger) times.push(trigger.at);
      if ('every' in trigger) {
        const first = trigger.startAt ?? trigger.every;
        for (let k = 0; k < trigger.count; k++) times.push(first + k * trigger.every);
      }
      times.slice(fault.firings).forEach((offset) => {
        fault.timers.push(setTimeout(() => this.#fire(fault), Math.max(0, runStartedAtMs + offset - Date.now())));
      });
    }
    for (const fault of this.#dueOnStart.splice(0)) this.#fire(fault);
  }

  /** Feeds a worker event (or a SUT's {@link TriggerEvent}) to the `on` triggers. Synchronous: the fault runs in the background. */
  observe(event: TriggerEvent): void {
    if (this.#stopped) return;
    for (const fault of this.#count(event)) this.#fire(fault);
  }

  /** Feeds run progress (completed tasks / all tasks, 0..1) to the `when` triggers. */
  progress(fraction: number): void {
    if (this.#stopped) return;
    for (const fault of this.#armed) {
      const trigger = fault.spec.trigger;
      if ('when' in trigger && fault.firings === 0 && fraction >= trigger.when.progress) this.#fire(fault);
    }
  }

  /** Counts an event against the `on` triggers; returns the faults whose nth match it is. */
  #count(event: TriggerEvent): ArmedFault[] {
    const due: ArmedFault[] = [];
    for (const fault of this.#armed) {
      const trigger = fault.spec.trigger;
      if (fault.firings > 0 || !('on' in trigger)) continue;
      const on = trigger.on;
      if (event.type !== on.event) continue;
      if (on.task !== undefined && event.task !== on.task) continue;
      if (on.attempt !== undefined && event.attempt !== on.attempt) continue;
      if (on.pattern !== undefined && (event.line === undefined || !new RegExp(on.pattern).test(event.line))) continue;
      fault.matched += 1;
      if (fault.matched === on.nth) {
        if (on.delayMs !== undefined && on.delayMs > 0) {
          // Counted now, fired later: a timer disarmed by stop() like the time triggers'.
          fault.timers.push(setTimeout(() => this.#fire(fault), on.delayMs));
        } else {
          due.push(fault);
        }
      }
    }
    return due;
  }

  /**
   * Disarms the remaining triggers, waits for faults in flight, undoes every fault still
   * in effect (unpause, netem removal), and reports each fault that never fired as
   * `fault.skipped`.
   */
  async stop(): Promise<readonly FaultRecord[]> {
    this.#stopped = true;
    for (const fault of this.#armed) for (const t of fault.timers) clearTimeout(t);
    await Promise.all([...this.#inFlight]);
    await Promise.all(
      [...this.#undos.values()].map(({ timer, run }) => {
        clearTimeout(timer);
        return run();
      }),
    );
    for (const fault of this.#armed) {
      if (fault.firings === 0) {
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
    return this.#armed.filter((f) => f.firings === 0).map((f) => f.id);
  }

  #fire(fault: ArmedFault): void {
    if (this.#stopped || fault.firings >= firingsOf(fault.spec.trigger)) return;
    fault.firings += 1;
    const run = this.#run(fault, fault.firings).finally(() => this.#inFlight.delete(run));
    this.#inFlight.add(run);
  }

  async #run(fault: ArmedFault, firing: number): Promise<void> {
    const firedAt = new Date();
    const id = firing === 1 ? fault.id : `${fault.id}#${firing}`;
    const base = {
      faultId: id,
      kind: fault.spec.kind,
      trigger: describeTrigger(fault.spec.trigger),
      firing,
      firedAt: firedAt.toISOString(),
      offsetMs: firedAt.getTime() - this.#startedAt,
      params: { ...(fault.spec.params as Record<string, unknown>) },
    };
    const probability = fault.spec.trigger.probability;
    if (probability !== undefined && firingRandom(fault.random, firing, 'probability').next() >= probability) {
      const record: FaultRecord = { ...base, targets: [], status: 'skipped', error: `probability ${probability} drew no` };
      this.#records.push(record);
      this.#emit({ type: 'fault.skipped', faultId: id, kind: fault.spec.kind, trigger: base.trigger, reason: `its probability (${probability}) drew no` });
      return;
    }
    let targets: FaultTarget[] = [];
    const action = faultAction(fault.spec.kind);
    if (action.acts !== 'container') {
      await this.#runTargetlessFault(fault, id, base);
      return;
    }
    try {
      const random = firingRandom(fault.random, firing, 'targets');
      // Runs churn: at the moment a fault fires every matching worker may be between
      // attempts. The firing waits for a target (polling the label query) up to
      // NO_TARGET_WAIT_MS before it counts as no-target.
      let candidates = await this.#candidates(fault.spec.target);
      for (let waited = 0; candidates.length === 0 && waited < NO_TARGET_WAIT_MS && !this.#stopped; waited += NO_TARGET_POLL_MS) {
        await sleep(NO_TARGET_POLL_MS);
        candidates = await this.#candidates(fault.spec.target);
      }
      const chosen = pickTargets(candidates, fault.spec.target, random);
      if (chosen.length === 0) {
        const record: FaultRecord = { ...base, targets, status: 'no-target', error: `no running container matched the target selector within ${NO_TARGET_WAIT_MS} ms` };
        this.#records.push(record);
        this.#emit({ type: 'fault.failed', record });
        return;
      }
      // A chosen container can exit between the label query and the action (its task
      // finished), or be frozen by another fault: then the next candidate is drawn in its
      // place; when every candidate went, the label query is asked once more.
      const hit: { target: FaultTarget; undo: Undo | undefined }[] = [];
      let lastUnavailable = '';
      let pool = candidates;
      let wanted = chosen;
      const deadline = Date.now() + NO_TARGET_WAIT_MS;
      for (let round = 0; hit.length === 0 && (round === 0 || (Date.now() < deadline && !this.#stopped)); round++) {
        const spare = pool.filter((c) => !wanted.includes(c));
        for (const first of wanted) {
          let container: ContainerSummary | undefined = first;
          for (let tries = 0; container && tries < 4; tries++) {
            const target = toTarget(container, this.#scope?.taskLabel);
            this.#note(target.containerId, fault.id);
            if (action.restartsTarget) this.#restarting.add(target.containerId);
            let acted!: () => void;
            const acting = new Promise<void>((resolve) => (acted = resolve));
            this.#acting.set(target.containerId, acting);
            try {
              await this.#beforeAct?.({ ...base, targets: [...hit.map((h) => h.target), target], status: 'injected' });
              const undo = await applyFault(fault.spec, target.containerId, this.#context);
              hit.push({ target: { ...target, actedAt: new Date().toISOString() }, undo });
              break;
            } catch (error) {
              this.#unnote(target.containerId, fault.id);
              this.#restarting.delete(target.containerId);
              // Gone or held, as applyFault decides on the error's status and the target's
              // state: it exited (409 not running), the controller is removing it already
              // (409: removal behind, run.ts), it is gone (404), or another fault paused or
              // disconnected it. Anything else is the firing's failure.
              if (!(error instanceof TargetUnavailableError)) throw error;
              lastUnavailable = error.message;
              const replacement = fault.spec.target.pick === 'random' ? random.sample(spare, 1)[0] : spare[0];
              if (replacement) spare.splice(spare.indexOf(replacement), 1);
              container = replacement;
            } finally {
              if (this.#acting.get(target.containerId) === acting) this.#acting.delete(target.containerId);
              acted();
            }
          }
        }
        if (hit.length === 0 && !this.#stopped && Date.now() < deadline) {
          await sleep(NO_TARGET_POLL_MS);
          pool = await this.#candidates(fault.spec.target);
          wanted = pickTargets(pool, fault.spec.target, random);
        }
      }
      for (const c of chosen) this.#restarting.delete(c.id);
      for (const h of hit) this.#restarting.delete(h.target.containerId);
      targets = hit.map((h) => h.target);
      if (targets.length === 0) {
        const record: FaultRecord = {
          ...base,
          targets,
          status: 'no-target',
          error: `every chosen container exited or was held by another fault before this one could act (last: ${lastUnavailable})`,
        };
        this.#records.push(record);
        this.#emit({ type: 'fault.failed', record });
        return;
      }
      const record: FaultRecord = { ...base, targets, status: 'injected' };
      this.#records.push(record);
      this.#emit({ type: 'fault.injected', record });
      const undoAfterMs = action.undoAfterMs?.(fault.spec.params);
      for (const { undo } of hit) if (undo && undoAfterMs !== undefined) this.#schedule(undo, undoAfterMs, id, fault.spec.kind, targets);
    } catch (error) {
      this.#restarting.clear();
      const record: FaultRecord = { ...base, targets, status: 'failed', error: error instanceof Error ? error.message : String(error) };
      this.#records.push(record);
      this.#emit({ type: 'fault.failed', record });
    }
  }

  /** A daemon or SUT fault: its target is the run's daemon or SUT, not containers; a daemon's undo (start again) comes after `downMs`. */
  async #runTargetlessFault(fault: ArmedFault, id: string, base: Omit<FaultRecord, 'targets' | 'status'>): Promise<void> {
    try {
      await this.#beforeAct?.({ ...base, targets: [], status: 'injected' });
      const undo = await applyFault(fault.spec, faultAction(fault.spec.kind).acts, this.#context);
      const record: FaultRecord = { ...base, targets: [], status: 'injected' };
      this.#records.push(record);
      this.#emit({ type: 'fault.injected', record });
      const downMs = faultAction(fault.spec.kind).undoAfterMs?.(fault.spec.params) ?? 0;
      if (undo) this.#schedule(undo, downMs, id, fault.spec.kind, []);
    } catch (error) {
      const record: FaultRecord = { ...base, targets: [], status: 'failed', error: error instanceof Error ? error.message : String(error) };
      this.#records.push(record);
      this.#emit({ type: 'fault.failed', record });
    }
  }

  #unnote(containerId: string, id: string): void {
    const list = (this.#targeted.get(containerId) ?? []).filter((x) => x !== id);
    if (list.length > 0) this.#targeted.set(containerId, list);
    else this.#targeted.delete(containerId);
  }

  #schedule(undo: Undo, afterMs: number, id: string, kind: string, targets: readonly FaultTarget[]): void {
    let done = false;
    const run = async (): Promise<void> => {
      if (done) return;
      done = true;
      this.#undos.delete(undo);
      await undo().catch(() => undefined);
      this.#emit({ type: 'fault.undone', faultId: id, kind, targets });
    };
    const timer = setTimeout(() => {
      const p = run().finally(() => this.#inFlight.delete(p));
      this.#inFlight.add(p);
    }, afterMs);
    this.#undos.set(undo, { timer, run });
  }

  async #candidates(selector: TargetSelector): Promise<ContainerSummary[]> {
    const labels: Record<string, string> = this.#scope ? { ...this.#scope.labels } : { [Label.run]: this.#runId };
    for (const [k, v] of Object.entries(selector.labels)) labels[expandLabelKey(k)] = v;
    if (selector.service !== undefined) labels[Label.service] = selector.service;
    const running = await this.#targets.listContainers({ labels, status: 'running' });
    const pattern = selector.namePattern !== undefined ? new RegExp(selector.namePattern) : undefined;
    return running.filter((c) => c.labels[Label.skip] !== 'true' && (!pattern || c.names.some((n) => pattern.test(n.replace(/^\//, '')))));
  }
}

/** `f1#2` → `f1`. */
function baseId(id: string): string {
  return id.split('#')[0] ?? id;
}

function toTarget(c: ContainerSummary, taskLabel: string | undefined): FaultTarget {
  const attempt = c.labels[Label.attempt];
  const service = c.labels[Label.service];
  return {
    containerId: c.id,
    task: c.labels[taskLabel ?? Label.task],
    attempt: attempt === undefined ? undefined : Number(attempt),
    ...(service !== undefined ? { service } : {}),
  };
}

/**
 * Chooses targets from candidates. Candidates are first put in a stable order (task,
 * attempt, id), because the daemon's listing order is not part of its API: the same seed
 * must give the same choice whatever order the daemon returns. `percent` overrides
 * `count`: that share of the candidates, rounded up, at least one.
 */
export function pickTargets(
  candidates: readonly ContainerSummary[],
  selector: Pick<TargetSelector, 'pick' | 'count'> & { percent?: number | undefined },
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
  const count = selector.percent !== undefined ? Math.max(1, Math.ceil((ordered.length * selector.percent) / 100)) : selector.count;
  switch (selector.pick) {
    case 'all':
      return ordered;
    case 'first':
      return ordered.slice(0, count);
    case 'random':
      return random.sample(ordered, count);
  }
}
