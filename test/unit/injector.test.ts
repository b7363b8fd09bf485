import { afterEach, describe, expect, it, vi } from 'vitest';
import { describeTrigger, faultId, Injector, pickTargets, type FaultDockerClient, type FaultEvent } from '../../src/chaos/injector.js';
import { createSeededRandom } from '../../src/chaos/random.js';
import { ANY_VALUE, Label } from '../../src/docker/labels.js';
import type { ContainerInfo, ContainerSummary } from '../../src/docker/client.js';
import { fromDockerodeError, TargetUnavailableError } from '../../src/docker/errors.js';
import type { FaultSpec, Trigger } from '../../src/scenario/index.js';
import type { WorkerEvent } from '../../src/worker/events.js';

const RUN = 'run-test';

function container(id: string, task: string, attempt: number, extra: Record<string, string> = {}, state = 'running'): ContainerSummary {
  return {
    id,
    names: [`/keelhaul-${RUN}-${task}-${attempt}`],
    image: 'keelhaul/worker:0.1.0',
    state,
    labels: {
      [Label.run]: RUN,
      [Label.role]: 'worker',
      [Label.task]: task,
      [Label.attempt]: String(attempt),
      ...extra,
    },
  };
}

interface FakeDocker extends FaultDockerClient {
  readonly queries: { labels: Record<string, string>; all?: boolean; status?: string }[];
  readonly kills: { id: string; signal: string }[];
}

/** A plain-object fake: filters by labels (ANY_VALUE matches any) and status, records kills. */
function fakeDocker(containers: ContainerSummary[], options: { onKill?: (id: string, signal: string) => void | Promise<void>; killError?: Error } = {}): FakeDocker {
  const queries: FakeDocker['queries'] = [];
  const kills: FakeDocker['kills'] = [];
  const unused = async (): Promise<never> => {
    throw new Error('not used by kill faults');
  };
  return {
    queries,
    kills,
    stopContainer: unused,
    pauseContainer: unused,
    unpauseContainer: unused,
    inspectContainer: unused,
    createContainer: unused,
    startContainer: unused,
    waitContainer: unused,
    removeContainer: unused,
    async listContainers(query) {
      queries.push(query);
      return containers.filter(
        (c) => (query.status === undefined || c.state === query.status) && Object.entries(query.labels).every(([k, v]) => (v === ANY_VALUE ? k in c.labels : c.labels[k] === v)),
      );
    },
    async killContainer(id, signal) {
      await options.onKill?.(id, signal);
      if (options.killError) throw options.killError;
      kills.push({ id, signal });
    },
  };
}

/** The Docker client's error for a daemon's HTTP answer to `POST /containers/{id}/kill`, as DockerodeClient throws it. */
function daemonAnswer(statusCode: number, message: string, id: string): Error {
  const modem = Object.assign(new Error(`(HTTP code ${statusCode}) - ${message}`), { statusCode, json: { message } });
  return fromDockerodeError(modem, { endpoint: '/fake.sock', operation: 'kill container', resource: `container ${id}`, containerId: id });
}

function killFault(trigger: Trigger, overrides: Partial<FaultSpec> = {}): FaultSpec {
  return {
    kind: 'kill',
    trigger,
    target: { labels: { role: 'worker' }, pick: 'random', count: 1 },
    params: { signal: 'SIGKILL', mode: 'api' },
    ...overrides,
  } as FaultSpec;
}

function workerEvent(type: string, task: string, attempt = 1): WorkerEvent {
  return { ts: new Date().toISOString(), type, run: RUN, task, attempt } as WorkerEvent;
}

function makeInjector(faults: FaultSpec[], docker: FaultDockerClient, seed = 1) {
  const events: FaultEvent[] = [];
  const injector = new Injector({
    faults,
    random: createSeededRandom(seed),
    context: { docker, helperLabels: () => ({}), image: 'keelhaul/worker:test' },
    runId: RUN,
    emit: (e) => events.push(e),
  });
  return { injector, events };
}

const injectedEvents = (events: FaultEvent[]) => events.filter((e) => e.type === 'fault.injected');

/** Fisher–Yates with Math.random: the injector must not care about the input order. */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('injector: pickTargets', () => {
  const candidates = [
    container('c-b2', 't-02', 2),
    container('c-a1', 't-01', 1),
    container('c-c1', 't-03', 1),
    container('c-b10', 't-02', 10),
    container('c-d1', 't-04', 1),
    container('c-e1', 't-05', 1),
  ];

  it('injector: pickTargets gives the same random choice for the same seed whatever the candidate order', () => {
    const expected = pickTargets(candidates, { pick: 'random', count: 2 }, createSeededRandom(31)).map((c) => c.id);
    for (let i = 0; i < 25; i++) {
      const got = pickTargets(shuffled(candidates), { pick: 'random', count: 2 }, createSeededRandom(31)).map((c) => c.id);
      expect(got).toEqual(expected);
    }
  });

  it('injector: pickTargets first takes the oldest by task, then numeric attempt, then id', () => {
    const got = pickTargets(shuffled(candidates), { pick: 'first', count: 3 }, createSeededRandom(1)).map((c) => c.id);
    expect(got).toEqual(['c-a1', 'c-b2', 'c-b10']);
  });

  it('injector: pickTargets all returns every candidate in stable order, ignoring count', () => {
    const got = pickTargets(shuffled(candidates), { pick: 'all', count: 1 }, createSeededRandom(1)).map((c) => c.id);
    expect(got).toEqual(['c-a1', 'c-b2', 'c-b10', 'c-c1', 'c-d1', 'c-e1']);
  });

  it('injector: pickTargets random draws count distinct candidates', () => {
    const got = pickTargets(candidates, { pick: 'random', count: 3 }, createSeededRandom(9));
    expect(new Set(got.map((c) => c.id)).size).toBe(3);
  });

  it('injector: pickTargets of no candidates is empty', () => {
    expect(pickTargets([], { pick: 'random', count: 1 }, createSeededRandom(1))).toEqual([]);
    expect(pickTargets([], { pick: 'first', count: 1 }, createSeededRandom(1))).toEqual([]);
  });

  it('injector: pickTargets does not reorder its input', () => {
    const input = [...candidates];
    pickTargets(input, { pick: 'all', count: 1 }, createSeededRandom(1));
    expect(input.map((c) => c.id)).toEqual(candidates.map((c) => c.id));
  });
});

describe('injector: describeTrigger and faultId', () => {
  it('injector: describeTrigger puts a time trigger in words', () => {
    expect(describeTrigger({ at: 2000 })).toBe('at 2000 ms');
  });

  it('injector: describeTrigger puts an event trigger with ordinal, task and attempt in words', () => {
    expect(describeTrigger({ on: { event: 'task.started', nth: 2 } })).toBe('on the 2nd task.started');
    expect(describeTrigger({ on: { event: 'heartbeat', nth: 11, task: 't-02', attempt: 1 } })).toBe('on the 11th heartbeat of t-02 (attempt 1)');
    expect(describeTrigger({ on: { event: 'x', nth: 21 } })).toBe('on the 21st x');
    expect(describeTrigger({ on: { event: 'x', nth: 3 } })).toBe('on the 3rd x');
  });

  it('injector: faultId is the name, else f<index+1>', () => {
    expect(faultId(killFault({ at: 1 }, { name: 'kill-one' }), 0)).toBe('kill-one');
    expect(faultId(killFault({ at: 1 }), 2)).toBe('f3');
  });
});

describe('injector: event triggers', () => {
  it('injector: an nth 2 trigger does not fire on the 1st matching event', async () => {
    const docker = fakeDocker([container('c1', 't-01', 1)]);
    const { injector } = makeInjector([killFault({ on: { event: 'task.started', nth: 2 } })], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    expect(docker.kills).toEqual([]);
  });

  it('injector: on resume, a trigger the prior events matched without a record fires at start; one with a record does not fire again', async () => {
    const docker = fakeDocker([container('c3', 't-03', 1)]);
    const prior = [workerEvent('task.started', 't-01'), workerEvent('task.started', 't-02')];
    const resumed = new Injector({
      faults: [killFault({ on: { event: 'task.started', nth: 2 } })],
      random: createSeededRandom(1),
      context: { docker, helperLabels: () => ({}), image: 'keelhaul/worker:test' },
      runId: RUN,
      emit: () => undefined,
      resume: { records: [], priorEvents: prior },
    });
    expect(docker.kills).toEqual([]);
    resumed.start();
    await resumed.stop();
    expect(docker.kills.map((k) => k.id)).toEqual(['c3']);
    const recorded = new Injector({
      faults: [killFault({ on: { event: 'task.started', nth: 2 } })],
      random: createSeededRandom(1),
      context: { docker, helperLabels: () => ({}), image: 'keelhaul/worker:test' },
      runId: RUN,
      emit: () => undefined,
      resume: { records: [{ ...resumed.records[0]!, status: 'injected' }], priorEvents: prior },
    });
    recorded.start();
    await recorded.stop();
    expect(docker.kills).toHaveLength(1);
  });

  it('injector: an nth 2 trigger fires on the 2nd matching event', async () => {
    const docker = fakeDocker([container('c1', 't-01', 1), container('c2', 't-02', 1)]);
    const { injector, events } = makeInjector([killFault({ on: { event: 'task.started', nth: 2 } })], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    injector.observe(workerEvent('heartbeat', 't-01'));
    expect(docker.queries).toHaveLength(0);
    injector.observe(workerEvent('task.started', 't-02'));
    await injector.stop();
    expect(docker.kills).toHaveLength(1);
    expect(injectedEvents(events)).toHaveLength(1);
  });

  it('injector: an event trigger fires only once however many events match later', async () => {
    const docker = fakeDocker([container('c1', 't-01', 1), container('c2', 't-02', 1)]);
    const { injector } = makeInjector([killFault({ on: { event: 'task.started', nth: 2 } })], docker);
    injector.start();
    for (let i = 0; i < 6; i++) injector.observe(workerEvent('task.started', `t-0${(i % 2) + 1}`));
    await injector.stop();
    expect(docker.kills).toHaveLength(1);
    expect(injector.records).toHaveLength(1);
  });

  it('injector: the injected record names the fault, trigger, signal and target', async () => {
    const docker = fakeDocker([container('c1', 't-01', 1)]);
    const { injector, events } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } }, { name: 'k1', params: { signal: 'SIGTERM' } })], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    expect(docker.kills).toEqual([{ id: 'c1', signal: 'SIGTERM' }]);
    const event = injectedEvents(events)[0];
    expect(event?.type === 'fault.injected' && event.record).toMatchObject({
      faultId: 'k1',
      kind: 'kill',
      trigger: 'on the 1st task.started',
      status: 'injected',
      params: { signal: 'SIGTERM' },
      targets: [{ containerId: 'c1', task: 't-01', attempt: 1 }],
    });
  });

  it('injector: the target query carries the run label, the expanded selector labels and status running', async () => {
    const docker = fakeDocker([container('c1', 't-01', 1)]);
    const { injector } = makeInjector(
      [killFault({ on: { event: 'task.started', nth: 1 } }, { target: { labels: { role: 'worker', 'com.example.x': 'y' }, pick: 'all', count: 1 } })],
      docker,
    );
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    expect(docker.queries).toEqual([{ labels: { [Label.run]: RUN, [Label.role]: 'worker', 'com.example.x': 'y' }, status: 'running' }]);
  });

  it("injector: a task filter counts only that task's events", async () => {
    const docker = fakeDocker([container('c1', 't-01', 1), container('c2', 't-02', 1)]);
    const { injector } = makeInjector([killFault({ on: { event: 'task.started', nth: 1, task: 't-02' } })], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    injector.observe(workerEvent('task.started', 't-01'));
    expect(docker.queries).toHaveLength(0);
    injector.observe(workerEvent('task.started', 't-02'));
    await injector.stop();
    expect(docker.kills).toHaveLength(1);
  });

  it("injector: an attempt filter counts only that attempt's events", async () => {
    const docker = fakeDocker([container('c1', 't-01', 2)]);
    const { injector } = makeInjector([killFault({ on: { event: 'task.started', nth: 1, task: 't-01', attempt: 2 } })], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01', 1));
    expect(docker.queries).toHaveLength(0);
    injector.observe(workerEvent('task.started', 't-01', 2));
    await injector.stop();
    expect(docker.kills).toEqual([{ id: 'c1', signal: 'SIGKILL' }]);
  });

  it('injector: a skip-labelled container is never chosen', async () => {
    const docker = fakeDocker([container('c-skip', 't-01', 1, { [Label.skip]: 'true' }), container('c1', 't-02', 1), container('c2', 't-03', 1)]);
    const { injector } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } }, { target: { labels: { role: 'worker' }, pick: 'all', count: 1 } })], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    expect(docker.kills.map((k) => k.id).sort()).toEqual(['c1', 'c2']);
  });

  it('injector: a skip-labelled container alone gives no target', async () => {
    const docker = fakeDocker([container('c-skip', 't-01', 1, { [Label.skip]: 'true' })]);
    const { injector, events } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } })], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    expect(docker.kills).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['fault.failed']);
  });

  it('injector: no candidate gives a fault.failed event with status no-target', async () => {
    const docker = fakeDocker([container('c-old', 't-01', 1, {}, 'exited')]);
    const { injector, events } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } }, { name: 'lonely' })], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    expect(docker.kills).toEqual([]);
    expect(events).toHaveLength(1);
    const event = events[0];
    expect(event?.type).toBe('fault.failed');
    expect(event?.type === 'fault.failed' && event.record).toMatchObject({ faultId: 'lonely', status: 'no-target', targets: [] });
  });

  it('injector: a failing Docker kill gives fault.failed with status failed and the error', async () => {
    const docker = fakeDocker([container('c1', 't-01', 1)], { killError: new Error('permission denied') });
    const { injector, events } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } })], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    const event = events[0];
    expect(event?.type === 'fault.failed' && event.record).toMatchObject({ status: 'failed', error: 'permission denied' });
    expect(injector.faultsTargeting('c1')).toEqual([]);
  });

  it.each([
    ['exited before the kill', 409, 'Container c1 is not running'],
    // dockerd 20.10's words when the controller is removing it already (removal behind).
    ['the controller is already removing', 409, 'Container c1 is marked for removal and cannot be connected or disconnected to the network'],
    ['was removed before the kill', 404, 'No such container: c1'],
  ])('injector: a target that %s is replaced by another candidate', async (_why, status, message) => {
    const docker = fakeDocker([container('c1', 't-01', 1), container('c2', 't-02', 1)], {
      onKill: (id) => {
        // What the Docker client throws for that answer of the daemon (docker/errors.ts).
        if (id === 'c1') throw daemonAnswer(status, message, id);
      },
    });
    const { injector } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } }, { target: { labels: { role: 'worker' }, pick: 'first', count: 1 } })], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    expect(docker.kills).toEqual([{ id: 'c2', signal: 'SIGKILL' }]);
    expect(injector.records[0]).toMatchObject({ status: 'injected', targets: [{ containerId: 'c2' }] });
    expect(injector.faultsTargeting('c1')).toEqual([]);
  });

  it('injector: when every candidate exited before the fault acted, the firing is no-target', async () => {
    const docker = fakeDocker([container('c1', 't-01', 1)], { killError: daemonAnswer(404, 'No such container: c1', 'c1') });
    const { injector } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } })], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    expect(injector.records[0]).toMatchObject({ status: 'no-target' });
  });

  it('injector: faultsTargeting(containerId) is recorded before killContainer is called', async () => {
    const seenAtKill: (readonly string[])[] = [];
    const docker = fakeDocker([container('c1', 't-01', 1)], {
      onKill: (id) => {
        seenAtKill.push([...injector.faultsTargeting(id)]);
      },
    });
    const { injector } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } }, { name: 'k' })], docker);
    expect(injector.faultsTargeting('c1')).toEqual([]);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    expect(seenAtKill).toEqual([['k']]);
  });

  it('injector: faultsTargeting of a container no fault hit is empty', async () => {
    const docker = fakeDocker([container('c1', 't-01', 1)]);
    const { injector } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } })], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    expect(injector.faultsTargeting('c1')).toEqual(['f1']);
    expect(injector.faultsTargeting('c-other')).toEqual([]);
  });

  it('injector: the same seed picks the same random target whatever order the daemon lists', async () => {
    const all = Array.from({ length: 6 }, (_, i) => container(`c${i}`, `t-0${i + 1}`, 1));
    const pick = async (order: ContainerSummary[]): Promise<string[]> => {
      const docker = fakeDocker(order);
      const { injector } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } }, { name: 'r' })], docker, 2024);
      injector.start();
      injector.observe(workerEvent('task.started', 't-01'));
      await injector.stop();
      return docker.kills.map((k) => k.id);
    };
    const first = await pick(all);
    expect(first).toHaveLength(1);
    for (let i = 0; i < 5; i++) expect(await pick(shuffled(all))).toEqual(first);
  });

  it('injector: stop() emits fault.skipped for each unfired fault', async () => {
    const docker = fakeDocker([container('c1', 't-01', 1)]);
    const { injector, events } = makeInjector(
      [killFault({ on: { event: 'task.started', nth: 1 } }, { name: 'fires' }), killFault({ on: { event: 'task.completed', nth: 1 } }, { name: 'never' })],
      docker,
    );
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    const skipped = events.filter((e) => e.type === 'fault.skipped');
    expect(skipped).toEqual([
      {
        type: 'fault.skipped',
        faultId: 'never',
        kind: 'kill',
        trigger: 'on the 1st task.completed',
        reason: expect.any(String),
      },
    ]);
    expect(injector.unfired).toEqual(['never']);
  });

  it('injector: events observed after stop() fire nothing', async () => {
    const docker = fakeDocker([container('c1', 't-01', 1)]);
    const { injector } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } })], docker);
    injector.start();
    await injector.stop();
    injector.observe(workerEvent('task.started', 't-01'));
    await new Promise((r) => setTimeout(r, 5));
    expect(docker.queries).toEqual([]);
    expect(docker.kills).toEqual([]);
  });
});

describe('injector: time triggers', () => {
  it('injector: an at trigger fires after its offset', async () => {
    const docker = fakeDocker([container('c1', 't-01', 1)]);
    const { injector, events } = makeInjector([killFault({ at: 5 }, { name: 'timed' })], docker);
    injector.start();
    await vi.waitFor(() => expect(injectedEvents(events)).toHaveLength(1), { timeout: 2000, interval: 5 });
    await injector.stop();
    expect(docker.kills).toEqual([{ id: 'c1', signal: 'SIGKILL' }]);
    const record = injector.records[0];
    expect(record?.trigger).toBe('at 5 ms');
    expect(record?.offsetMs).toBeGreaterThanOrEqual(0);
    expect(events.filter((e) => e.type === 'fault.skipped')).toEqual([]);
  });

  it('injector: an at trigger does not fire before its offset (fake timers)', async () => {
    vi.useFakeTimers();
    const docker = fakeDocker([container('c1', 't-01', 1)]);
    const { injector } = makeInjector([killFault({ at: 1000 })], docker);
    injector.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(docker.queries).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await injector.stop();
    expect(docker.kills).toHaveLength(1);
  });

  it('injector: an at trigger that has not come by stop() is skipped and never fires', async () => {
    vi.useFakeTimers();
    const docker = fakeDocker([container('c1', 't-01', 1)]);
    const { injector, events } = makeInjector([killFault({ at: 60_000 }, { name: 'late' })], docker);
    injector.start();
    await vi.advanceTimersByTimeAsync(10);
    await injector.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(docker.kills).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['fault.skipped']);
  });

  it('injector: an at trigger ignores worker events', async () => {
    vi.useFakeTimers();
    const docker = fakeDocker([container('c1', 't-01', 1)]);
    const { injector } = makeInjector([killFault({ at: 1000 })], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await vi.advanceTimersByTimeAsync(1);
    expect(docker.queries).toEqual([]);
    await injector.stop();
  });
});

describe('injector: probability', () => {
  it('injector: a firing whose probability draw says no is recorded as skipped and emitted as fault.skipped, acting on nothing', async () => {
    const docker = fakeDocker([container('c1', 't-01', 1)]);
    const { injector, events } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 }, probability: 0 })], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    expect(docker.kills).toEqual([]);
    expect(injector.records[0]).toMatchObject({ status: 'skipped' });
    expect(events.map((e) => e.type)).toEqual(['fault.skipped']);
  });
});

describe("injector: a target gone or held is decided on the error's class and the target's state, not its words", () => {
  const oneOfTwo = { target: { labels: { role: 'worker' }, pick: 'first', count: 1 } } as Partial<FaultSpec>;
  const running = (id: string, status = 'running'): ContainerInfo =>
    ({ id, state: { status, running: status === 'running' || status === 'paused', paused: status === 'paused' } }) as ContainerInfo;

  it('injector: a TargetUnavailableError whose message says nothing recognisable draws the next candidate', async () => {
    const docker = fakeDocker([container('c1', 't-01', 1), container('c2', 't-02', 1)], {
      onKill: (id) => {
        if (id === 'c1') throw new TargetUnavailableError('kill', id, { targetState: 'conflict', detail: 'zzz', status: 409 });
      },
    });
    const { injector } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } }, oneOfTwo)], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    expect(docker.kills).toEqual([{ id: 'c2', signal: 'SIGKILL' }]);
    expect(injector.records[0]).toMatchObject({ status: 'injected', targets: [{ containerId: 'c2' }] });
  });

  it('injector: a 409 or 404 with meaningless words about the target draws the next candidate', async () => {
    for (const status of [404, 409]) {
      const docker = fakeDocker([container('c1', 't-01', 1), container('c2', 't-02', 1)], {
        onKill: (id) => {
          if (id === 'c1') throw daemonAnswer(status, 'qwerty', id);
        },
      });
      const { injector } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } }, oneOfTwo)], docker);
      injector.start();
      injector.observe(workerEvent('task.started', 't-01'));
      await injector.stop();
      expect(docker.kills, `status ${status}`).toEqual([{ id: 'c2', signal: 'SIGKILL' }]);
    }
  });

  it('injector: a 500 whose words sound like a gone target fails the firing while the target still runs', async () => {
    const docker = {
      ...fakeDocker([container('c1', 't-01', 1), container('c2', 't-02', 1)], { killError: daemonAnswer(500, 'No such container: c1 is not running', 'c1') }),
      inspectContainer: async (id: string) => running(id),
    };
    const { injector, events } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } }, oneOfTwo)], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    expect(injector.records[0]).toMatchObject({ status: 'failed', targets: [] });
    expect(events.map((e) => e.type)).toEqual(['fault.failed']);
  });

  it('injector: a 500 after which the target is found exited draws the next candidate', async () => {
    const base = fakeDocker([container('c1', 't-01', 1), container('c2', 't-02', 1)], {
      onKill: (id) => {
        if (id === 'c1') throw daemonAnswer(500, 'zzz', id);
      },
    });
    const docker = { ...base, inspectContainer: async (id: string) => running(id, id === 'c1' ? 'exited' : 'running') };
    const { injector } = makeInjector([killFault({ on: { event: 'task.started', nth: 1 } }, oneOfTwo)], docker);
    injector.start();
    injector.observe(workerEvent('task.started', 't-01'));
    await injector.stop();
    expect(base.kills).toEqual([{ id: 'c2', signal: 'SIGKILL' }]);
  });
});
