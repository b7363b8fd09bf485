import type { FaultSpec, Scenario } from '../scenario/index.js';
import { describeTrigger, faultId, firingRandom, firingsOf } from './injector.js';
import { createSeededRandom } from './random.js';
import { FAULT_ACTIONS } from './actions.js';

/** One planned firing of a fault. */
export interface PlannedFiring {
  readonly faultId: string;
  readonly kind: FaultSpec['kind'];
  readonly firing: number;
  /** ms after the run starts for time triggers; null when an event or progress decides. */
  readonly atMs: number | null;
  readonly trigger: string;
  /** false when the trigger's probability draw says no. */
  readonly fires: boolean;
  /** The probability draw in [0, 1), when the trigger has a probability. */
  readonly probabilityDraw?: number;
  /** The target selector in words; `the run's daemon` for daemon faults. */
  readonly target: string;
  /**
   * The target selector as data: `{ acts: 'daemon' }` for a fault that acts on the run's
   * daemon (it has no container target), else the selector with defaults applied — the
   * labels (short keys as written), the Compose `service` when it names one, the name
   * pattern, and how many are picked.
   */
  readonly targetSelector:
    | { readonly acts: 'daemon' | 'sut' }
    | {
        readonly acts: 'container';
        readonly labels: Readonly<Record<string, string>>;
        readonly service?: string;
        readonly namePattern?: string;
        readonly pick: 'random' | 'first' | 'all';
        readonly count?: number;
        readonly percent?: number;
      };
  /**
   * The uniform draws in [0, 1) a `random` pick uses, in order: the i-th pick takes index
   * ⌊uᵢ × n⌋ of the n candidates not yet picked, in stable (task, attempt, id) order.
   */
  readonly targetDraws: readonly number[];
  readonly params: Readonly<Record<string, unknown>>;
}

/** The fault plan of a scenario and seed: what `keelhaul plan` prints. */
export interface FaultPlan {
  readonly scenario: string;
  readonly seed: number;
  readonly firings: readonly PlannedFiring[];
}

/**
 * Computes the fault plan without touching Docker: every firing's time (for time
 * triggers), its probability outcome and the draws that will choose its targets — the
 * same draws the injector makes at run time, so the same seed and scenario give the same
 * plan, byte for byte.
 */
export function planFaults(scenario: Scenario, seed: number): FaultPlan {
  const faults = createSeededRandom(seed).fork('faults');
  const firings: PlannedFiring[] = [];
  scenario.faults.forEach((spec, i) => {
    const id = faultId(spec, i);
    const random = faults.fork(`fault:${id}`);
    const trigger = spec.trigger;
    const t = spec.target;
    const acts = FAULT_ACTIONS[spec.kind].acts;
    const onDaemon = acts !== 'container';
    const labels = Object.entries(t.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const how = `${t.pick}${t.pick === 'all' ? '' : ` ${t.percent !== undefined ? `${t.percent}%` : t.count}`}`;
    const target = onDaemon
      ? acts === 'sut'
        ? 'the system under test'
        : "the run's daemon"
      : t.service !== undefined
        ? `${how} of the containers of service ${t.service}${labels ? ` with ${labels}` : ''}${t.namePattern ? ` named /${t.namePattern}/` : ''}`
        : `${how} of running containers with ${labels || (scenario.sut ? "the SUT's selector" : 'the run label')}${t.namePattern ? ` named /${t.namePattern}/` : ''}`;
    const targetSelector: PlannedFiring['targetSelector'] = onDaemon
      ? { acts: acts === 'sut' ? 'sut' : 'daemon' }
      : {
          acts: 'container',
          labels: { ...t.labels },
          ...(t.service !== undefined ? { service: t.service } : {}),
          ...(t.namePattern !== undefined ? { namePattern: t.namePattern } : {}),
          pick: t.pick,
          ...(t.pick === 'all' ? {} : t.percent !== undefined ? { percent: t.percent } : { count: t.count }),
        };
    for (let firing = 1; firing <= firingsOf(trigger); firing++) {
      let atMs: number | null = null;
      if ('at' in trigger) atMs = trigger.at;
      if ('every' in trigger) atMs = (trigger.startAt ?? trigger.every) + (firing - 1) * trigger.every;
      const draw = trigger.probability !== undefined ? firingRandom(random, firing, 'probability').next() : undefined;
      const picks = !onDaemon && t.pick === 'random' ? (t.percent !== undefined ? 0 : t.count) : 0;
      const targetRandom = firingRandom(random, firing, 'targets');
      firings.push({
        faultId: firing === 1 ? id : `${id}#${firing}`,
        kind: spec.kind,
        firing,
        atMs,
        trigger: describeTrigger(trigger),
        fires: draw === undefined || draw < (trigger.probability ?? 1),
        ...(draw !== undefined ? { probabilityDraw: draw } : {}),
        target,
        targetSelector,
        targetDraws: Array.from({ length: picks }, () => targetRandom.next()),
        params: { ...(spec.params as Record<string, unknown>) },
      });
    }
  });
  return { scenario: scenario.name, seed, firings };
}

/** The plan as text, one block per firing; stable for a given plan (no clock, no host). */
export function renderPlan(plan: FaultPlan): string {
  const lines = [`fault plan for scenario ${plan.scenario}, seed ${plan.seed}: ${plan.firings.length} firing(s)`];
  for (const f of plan.firings) {
    const params = Object.entries(f.params)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
    lines.push(`- ${f.faultId} ${f.kind}${params ? ` (${params})` : ''}`);
    lines.push(`    when:   ${f.trigger}${f.atMs !== null ? ` → +${f.atMs} ms` : ''}`);
    if (f.probabilityDraw !== undefined) lines.push(`    fires:  ${f.fires ? 'yes' : 'no'} (draw ${f.probabilityDraw.toFixed(6)})`);
    // A daemon fault has no container target: the line would only repeat the kind.
    if (f.targetSelector.acts === 'container') lines.push(`    target: ${f.target}${f.targetDraws.length ? `; draws ${f.targetDraws.map((u) => u.toFixed(6)).join(', ')}` : ''}`);
    else lines.push(f.targetSelector.acts === 'sut' ? '    on:     the system under test (its process group)' : "    on:     the run's private daemon");
  }
  return `${lines.join('\n')}\n`;
}
