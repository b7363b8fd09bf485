import { describe, expect, it } from 'vitest';
import { RemovalBehind, type RemovalBehindOptions } from '../../src/controller/removal-behind.js';
import type { AttemptRecord, TaskRecord } from '../../src/controller/state.js';
import { ResourceNotFoundError } from '../../src/docker/index.js';

const attempt = (n: number, overrides: Partial<AttemptRecord> = {}): AttemptRecord => ({
  attempt: n,
  containerId: `c${n}`,
  containerName: '',
  status: 'exited',
  startedAt: '',
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

function setup(overrides: Partial<RemovalBehindOptions> = {}): { removal: RemovalBehind; log: string[] } {
  const log: string[] = [];
  const removal = new RemovalBehind({
    docker: { removeContainer: async (id) => void log.push(`remove ${id}`) },
    save: async () => void log.push('save'),
    schedule: () => void log.push('schedule'),
    settled: async (id) => void log.push(`settled ${id}`),
    releaseWorkspace: async (task) => (log.push(`release ${task}`), true),
    keepWorkspaces: false,
    ...overrides,
  });
  return { removal, log };
}
const drain = async (r: RemovalBehind): Promise<void> => {
  await Promise.allSettled([...r.inFlight]);
};

describe('removal behind: a completed task leaves as it finishes', () => {
  it('removal behind: removedAt is saved, faults settle, then the completed container and the workspace go', async () => {
    const { removal, log } = setup();
    const task: TaskRecord = { status: 'completed', attempts: [attempt(1, { outcome: 'killed' }), attempt(2)] };
    removal.remove('t', task);
    expect(task.attempts[1]!.removedAt).toEqual(expect.any(String));
    expect(task.attempts[0]!.removedAt).toBeUndefined();
    await drain(removal);
    expect(log).toEqual(['save', 'settled c2', 'remove c2', 'release t']);
    expect(removal.removed).toEqual({ containers: 1, volumes: 1 });
    expect(removal.inFlight.size).toBe(0);
  });

  it('removal behind: once only, and never without a completed attempt with a container', async () => {
    const { removal, log } = setup();
    const task: TaskRecord = { status: 'completed', attempts: [attempt(1)] };
    removal.remove('t', task);
    removal.remove('t', task);
    removal.remove('u', { status: 'completed', attempts: [attempt(1, { containerId: '' })] });
    await drain(removal);
    expect(log.filter((l) => l.startsWith('remove'))).toEqual(['remove c1']);
  });

  it('removal behind: captured workspaces stay', async () => {
    const { removal, log } = setup({ keepWorkspaces: true });
    removal.remove('t', { status: 'completed', attempts: [attempt(1)] });
    await drain(removal);
    expect(log).not.toContain('release t');
    expect(removal.removed).toEqual({ containers: 1, volumes: 0 });
  });

  it('removal behind: a failed removal clears removedAt and leaves the container to cleanup; one already gone keeps it', async () => {
    const failing = setup({ docker: { removeContainer: () => Promise.reject(new Error('conflict')) } });
    const task: TaskRecord = { status: 'completed', attempts: [attempt(1)] };
    failing.removal.remove('t', task);
    await drain(failing.removal);
    expect(task.attempts[0]!.removedAt).toBeNull();
    expect(failing.log).toContain('schedule');
    expect(failing.removal.removed.containers).toBe(0);

    const gone = setup({ docker: { removeContainer: () => Promise.reject(new ResourceNotFoundError('container c1', { operation: 'remove' })) } });
    const task2: TaskRecord = { status: 'completed', attempts: [attempt(1)] };
    gone.removal.remove('t', task2);
    await drain(gone.removal);
    expect(task2.attempts[0]!.removedAt).toEqual(expect.any(String));
  });
});
