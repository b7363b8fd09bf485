import { describe, expect, it } from 'vitest';
import { Label, type ContainerSummary, type DockerClient } from '../../src/docker/index.js';
import type { RunEventInput } from '../../src/controller/events.js';
import type { AttemptRecord, TaskRecord } from '../../src/controller/state.js';
import { cleanUpByLabel, nameOrphanAttempts } from '../../src/controller/teardown.js';

const attempt = (n: number, overrides: Partial<AttemptRecord> = {}): AttemptRecord => ({
  attempt: n,
  containerId: `c${n}`,
  containerName: '',
  status: 'exited',
  startedAt: '2026-01-01T00:00:00.000Z',
  endedAt: null,
  exitCode: 0,
  oomKilled: false,
  outcome: 'completed',
  reason: null,
  completedEvents: 1,
  interfaces: null,
  auditProblems: [],
  audited: true,
  ...overrides,
});
const worker = (id: string, task: string, n: number): ContainerSummary => ({
  id,
  names: [`/kh-r-${task}-a${n}`],
  image: 'img',
  state: 'exited',
  labels: { [Label.run]: 'r', [Label.role]: 'worker', [Label.task]: task, [Label.attempt]: String(n) },
});

/** A daemon holding `containers` with the run label and nothing else; removal empties it. */
function fakeDocker(containers: ContainerSummary[], options: { failListing?: boolean } = {}): { docker: DockerClient; removed: string[] } {
  let live = [...containers];
  const removed: string[] = [];
  const docker = {
    endpoint: 'tcp://fake:2375',
    listContainers: async () => {
      if (options.failListing) throw new Error('connect ECONNREFUSED');
      return live;
    },
    removeContainer: async (id: string) => {
      removed.push(id);
      live = live.filter((c) => c.id !== id);
    },
    listNetworks: async () => [],
    listVolumes: async () => [],
  } as unknown as DockerClient;
  return { docker, removed };
}

describe('teardown: orphaned attempts', () => {
  it('teardown: a lost attempt with no id is named by its container labels and left out of the expected workers', () => {
    const tasks: Record<string, TaskRecord> = {
      t: { status: 'running', attempts: [attempt(1, { containerId: '', outcome: 'lost', reason: 'launch failed: x' }), attempt(2, { containerId: 'c2' })] },
    };
    const expected = nameOrphanAttempts([worker('orphan', 't', 1), worker('c2', 't', 2), worker('stranger', 'u', 1)], tasks);
    expect(tasks['t']!.attempts[0]!.containerId).toBe('orphan');
    expect(expected).toEqual(['c2', 'stranger']);
  });

  it('teardown: an attempt that has an id, or is not lost, is not renamed', () => {
    const tasks: Record<string, TaskRecord> = { t: { status: 'running', attempts: [attempt(1, { containerId: '', outcome: 'killed' })] } };
    expect(nameOrphanAttempts([worker('x', 't', 1)], tasks)).toEqual(['x']);
    expect(tasks['t']!.attempts[0]!.containerId).toBe('');
  });
});

describe('teardown: cleanup by label', () => {
  const base = { runId: 'r', removedBehind: { containers: 3, volumes: 2 }, rulesInContainers: undefined, guardedNetwork: false };

  it('teardown: removes what carries the label, reports it with removal behind, and finds no leak', async () => {
    const { docker, removed } = fakeDocker([worker('c1', 't', 1)]);
    const events: RunEventInput[] = [];
    let settled = false;
    const removal = new Promise<void>((r) =>
      setTimeout(() => {
        settled = true;
        r();
      }, 5),
    );
    const tasks: Record<string, TaskRecord> = { t: { status: 'completed', attempts: [attempt(1)] } };
    const out = await cleanUpByLabel({ ...base, docker, tasks, daemonGone: false, removals: [removal], emit: (e) => events.push(e) });
    expect(settled).toBe(true);
    expect(removed).toEqual(['c1']);
    expect(out).toEqual({
      cleanup: { containers: 1, networks: 0, volumes: 0, errors: [] },
      leaks: { containers: [], networks: [], volumes: [] },
      workersOnDaemon: ['c1'],
      injectedRules: undefined,
      error: undefined,
    });
    expect(events).toEqual([{ type: 'cleanup.finished', containers: 1, networks: 0, volumes: 0, errors: [], removedBehind: { containers: 3, volumes: 2 } }]);
  });

  it('teardown: with the daemon given up on, the workers are not listed', async () => {
    const { docker } = fakeDocker([]);
    const out = await cleanUpByLabel({ ...base, docker, tasks: {}, daemonGone: true, removals: [], emit: () => undefined });
    expect(out.workersOnDaemon).toBeUndefined();
  });

  it('teardown: a daemon that cannot be queried makes the leaks unknown and says why, never throwing', async () => {
    const { docker } = fakeDocker([], { failListing: true });
    const out = await cleanUpByLabel({ ...base, docker, tasks: {}, daemonGone: false, removals: [], emit: () => undefined });
    expect(out.error).toBe('cleanup failed: connect ECONNREFUSED');
    expect(out.cleanup).toBeNull();
    expect(out.leaks.containers).toEqual(['<unknown: the daemon could not be queried>']);
  });
});
