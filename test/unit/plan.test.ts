import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planFaults, renderPlan } from '../../src/chaos/index.js';
import { parseScenario, scenarioJsonSchema } from '../../src/scenario/index.js';

const SCENARIO = `
name: plan-test
tasks: { count: 6, steps: [{ sleep: 100 }] }
faults:
  - kind: kill
    trigger: { on: { event: task.started, nth: 2 } }
    target: { pick: random, count: 2 }
  - name: pauses
    kind: pause
    trigger: { every: 2s, count: 3, probability: 0.5 }
    params: { durationMs: 500ms }
  - kind: netem
    trigger: { at: 1.5s }
    target: { percent: 50 }
    params: { durationMs: 1s, delayMs: 100, lossPercent: 5 }
`;

describe('fault plan', () => {
  it('plan: the same seed gives a byte-identical plan', () => {
    const scenario = parseScenario(SCENARIO);
    expect(renderPlan(planFaults(scenario, 42))).toBe(renderPlan(planFaults(scenario, 42)));
  });

  it('plan: another seed gives a different plan', () => {
    const scenario = parseScenario(SCENARIO);
    expect(renderPlan(planFaults(scenario, 42))).not.toBe(renderPlan(planFaults(scenario, 43)));
  });

  it('plan: an every trigger plans one firing per count at start + k × interval, durations in ms', () => {
    const plan = planFaults(parseScenario(SCENARIO), 7);
    const pauses = plan.firings.filter((f) => f.faultId.startsWith('pauses'));
    expect(pauses.map((f) => [f.faultId, f.atMs])).toEqual([
      ['pauses', 2000],
      ['pauses#2', 4000],
      ['pauses#3', 6000],
    ]);
    expect(pauses.every((f) => f.probabilityDraw !== undefined && f.fires === f.probabilityDraw < 0.5)).toBe(true);
    expect(plan.firings.find((f) => f.kind === 'netem')?.atMs).toBe(1500);
    expect(plan.firings.find((f) => f.kind === 'kill')?.targetDraws).toHaveLength(2);
  });

  it('plan: adding a fault does not change the draws of the others', () => {
    const scenario = parseScenario(SCENARIO);
    const more = parseScenario(`${SCENARIO}  - kind: stop\n    trigger: { at: 100 }\n`);
    const a = planFaults(scenario, 9).firings;
    const b = planFaults(more, 9).firings.slice(0, a.length);
    expect(b).toEqual(a);
  });
});

describe('scenario JSON Schema', () => {
  it('docs/scenario.schema.json is the schema generated from the zod schema (run `npm run schema`)', () => {
    const onDisk = JSON.parse(readFileSync('docs/scenario.schema.json', 'utf8')) as unknown;
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(scenarioJsonSchema())));
  });
});

describe('plan: targets as the faults will find them', () => {
  it('a daemon fault has no container target: no target line, no draws, { acts: daemon } as data', async () => {
    const { planFaults: plan, renderPlan: render } = await import('../../src/chaos/index.js');
    const { validateScenario: validate } = await import('../../src/scenario/index.js');
    const scenario = validate({
      name: 'd',
      daemon: { mode: 'private' },
      tasks: { count: 2, steps: [{ sleep: 10 }] },
      faults: [{ kind: 'daemon-kill', trigger: { at: 100 } }],
    });
    const p = plan(scenario, 1);
    expect(p.firings[0]?.targetSelector).toEqual({ acts: 'daemon' });
    expect(p.firings[0]?.targetDraws).toEqual([]);
    const text = render(p);
    expect(text).not.toMatch(/target:/);
    expect(text).toMatch(/on: +the run's private daemon/);
  });

  it('a Compose service target is named by its service, in words and as data', async () => {
    const { planFaults: plan, renderPlan: render } = await import('../../src/chaos/index.js');
    const { validateScenario: validate } = await import('../../src/scenario/index.js');
    const scenario = validate({
      name: 's',
      network: 'internal',
      tasks: { count: 1, steps: [{ sleep: 10 }] },
      faults: [{ kind: 'stop', trigger: { at: 100 }, target: { service: 'model' } }],
    });
    const p = plan(scenario, 1);
    expect(p.firings[0]?.targetSelector).toEqual({ acts: 'container', labels: {}, service: 'model', pick: 'random', count: 1 });
    expect(render(p)).toMatch(/target: random 1 of the containers of service model; draws /);
  });
});
