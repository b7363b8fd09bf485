/**
 * The injector's two additions for Compose and repro, with a plain-object Docker fake: a
 * `service` target picks that topology service's container (not workers) and records the
 * service on the target; an `on` trigger with `delayMs` fires that long after its event.
 */
import { describe, expect, it, vi } from 'vitest';
import { Injector, type FaultDockerClient, type FaultEvent } from '../../src/chaos/injector.js';
import { createSeededRandom } from '../../src/chaos/random.js';
import { Label } from '../../src/docker/labels.js';
import type { ContainerSummary } from '../../src/docker/client.js';
import { validateScenario } from '../../src/scenario/index.js';
import type { WorkerEvent } from '../../src/worker/events.js';

const RUN = 'run-svc';
const worker: ContainerSummary = {
  id: 'w1',
  names: ['/w1'],
  image: 'i',
  state: 'running',
  labels: { [Label.run]: RUN, [Label.role]: 'worker', [Label.task]: 't-01', [Label.attempt]: '1' },
};
const api: ContainerSummary = { id: 's1', names: ['/s1'], image: 'i', state: 'running', labels: { [Label.run]: RUN, [Label.role]: 'service', [Label.service]: 'api' } };

function setup(faults: unknown[]): { injector: Injector; events: FaultEvent[]; kills: string[] } {
  const kills: string[] = [];
  const docker = {
    async listContainers(query: { labels: Record<string, string>; status?: string }) {
      return [worker, api].filter((c) => Object.entries(query.labels).every(([k, v]) => c.labels[k] === v));
    },
    async killContainer(id: string) {
      kills.push(id);
    },
  } as unknown as FaultDockerClient;
  const scenario = validateScenario({ name: 's', tasks: { count: 1, steps: [{ sleep: 1 }] }, faults });
  const events: FaultEvent[] = [];
  const injector = new Injector({
    faults: scenario.faults,
    random: createSeededRandom(1),
    context: { docker, helperLabels: () => ({}), image: 'i' },
    runId: RUN,
    emit: (e) => events.push(e),
  });
  return { injector, events, kills };
}

const started = { ts: new Date().toISOString(), type: 'task.started', run: RUN, task: 't-01', attempt: 1 } as WorkerEvent;

describe('injector: Compose services and delayed triggers', () => {
  it("injector: a service target kills that service's container, not a worker, and records the service", async () => {
    const { injector, events, kills } = setup([{ kind: 'kill', trigger: { at: 0 }, target: { service: 'api' } }]);
    injector.start();
    await vi.waitFor(() => expect(events.some((e) => e.type === 'fault.injected')).toBe(true));
    await injector.stop();
    expect(kills).toEqual(['s1']);
    const injected = events.find((e) => e.type === 'fault.injected');
    expect(injected?.type === 'fault.injected' && injected.record.targets).toEqual([
      { containerId: 's1', task: undefined, attempt: undefined, service: 'api', actedAt: expect.any(String) },
    ]);
  });

  it('injector: an on-trigger with delayMs fires that long after its event, not at it', async () => {
    vi.useFakeTimers();
    try {
      const { injector, kills } = setup([{ kind: 'kill', trigger: { on: { event: 'task.started', delayMs: 500 } } }]);
      injector.start();
      injector.observe(started);
      await vi.advanceTimersByTimeAsync(400);
      expect(kills).toEqual([]);
      await vi.advanceTimersByTimeAsync(200);
      expect(kills).toEqual(['w1']);
      await injector.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
