import type { FaultSpec, Scenario } from '../scenario/index.js';
import { describeTrigger, faultId, firingRandom, firingsOf } from './injector.js';
import { createSeededRandom } from './random.js';

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
  /** The target selector in words. */
  readonly target: string;
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
    const labels = Object.entries(t.labels).map(([k, v]) => `${k}=${v}`).join(',');
    const target = `${t.pick}${t.pick === 'all' ? '' : ` ${t.percent !== undefined ? `${t.percent}%` : t.count}`} of running containers with ${labels || 'the run label'}${t.namePattern ? ` named /${t.namePattern}/` : ''}`;
    for (let firing = 1; firing <= firingsOf(trigger); firing++) {
      let atMs: number | null = null;
      if ('at' in trigger) atMs = trigger.at;
      if ('every' in trigger) atMs = (trigger.startAt ?? trigger.every) + (firing - 1) * trigger.every;
      const draw = trigger.probability !== undefined ? firingRandom(random, firing, 'probability').next() : undefined;
      const picks = t.pick === 'random' ? (t.percent !== undefined ? 0 : t.count) : 0;
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
    const params = Object.entries(f.params).map(([k, v]) => `${k}=${String(v)}`).join(' ');
    lines.push(`- ${f.faultId} ${f.kind}${params ? ` (${params})` : ''}`);
    lines.push(`    when:   ${f.trigger}${f.atMs !== null ? ` → +${f.atMs} ms` : ''}`);
    if (f.probabilityDraw !== undefined) lines.push(`    fires:  ${f.fires ? 'yes' : 'no'} (draw ${f.probabilityDraw.toFixed(6)})`);
    lines.push(`    target: ${f.target}${f.targetDraws.length ? `; draws ${f.targetDraws.map((u) => u.toFixed(6)).join(', ')}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
