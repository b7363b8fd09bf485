/**
 * keelhaul's helper containers (src/docker/helper-container.ts) and the isolation probe that
 * runs in one (src/controller/isolation-probe.ts), against a fake Docker client: the spec a
 * helper gets, its removal whatever happens, and the probe's output read into evidence.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { helperNeeds } from '../../src/controller/helper-image.js';
import { parseProbeOutput, probeIsolation, probeScript, type ProbeClient } from '../../src/controller/isolation-probe.js';
import { HelperContainerError, helperContainerSpec, Label, ResourceConflictError, runHelperContainer, type ContainerSpec } from '../../src/docker/index.js';
import { validateScenario } from '../../src/scenario/index.js';

/** A fake daemon: records what was asked, runs nothing; `output` is what the helper "printed". */
function fakeDocker(behaviour: { output?: string; exitCode?: number; failAt?: 'create' | 'start' | 'wait'; startError?: unknown; waitMs?: number; running?: boolean } = {}) {
  const created: ContainerSpec[] = [];
  const removed: string[] = [];
  const client: ProbeClient = {
    inspectContainer: async () => ({ state: { running: behaviour.running ?? true, paused: false } }) as Awaited<ReturnType<ProbeClient['inspectContainer']>>,
    createContainer: async (spec) => {
      if (behaviour.failAt === 'create') throw new Error('no such image');
      created.push(spec);
      return `helper-${created.length}`;
    },
    startContainer: async () => {
      if (behaviour.failAt === 'start') throw behaviour.startError ?? new Error('start refused');
    },
    waitContainer: async () => {
      if (behaviour.waitMs) await new Promise((r) => setTimeout(r, behaviour.waitMs));
      if (behaviour.failAt === 'wait') throw new Error('wait failed');
      return { exitCode: behaviour.exitCode ?? 0 };
    },
    containerLogs: async () => {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      stdout.end(behaviour.output ?? '');
      stderr.end();
      return { stdout, stderr };
    },
    removeContainer: async (id) => {
      removed.push(id);
    },
  };
  return { client, created, removed };
}

const LABELS = { [Label.run]: 'r-1', [Label.role]: 'probe', [Label.task]: 't-01', [Label.attempt]: '1' };

describe('helper containers', () => {
  it('helper: hardened as an attempt is, run-labelled, and never a fault target (skip label)', () => {
    const spec = helperContainerSpec({
      name: 'kh-r-1-t-01-a1-probe-x',
      image: 'keelhaul/worker:0.1.0',
      labels: LABELS,
      networkMode: 'container:abc',
      command: ['/bin/sh', '-c', 'true'],
    });
    expect(spec).toMatchObject({
      labels: { ...LABELS, [Label.skip]: 'true' },
      entrypoint: ['/bin/sh', '-c', 'true'],
      cmd: [],
      user: '65534:65534',
      networkMode: 'container:abc',
      readonlyRootfs: true,
      capDrop: ['ALL'],
      securityOpt: ['no-new-privileges'],
      memoryBytes: 32 * 1024 * 1024,
      pidsLimit: 64,
      mounts: [],
    });
    expect(spec).not.toHaveProperty('capAdd');
    expect(spec.privileged).toBeUndefined();
  });

  it('helper: a run returns its exit code and output, and the container is removed', async () => {
    const { client, removed } = fakeDocker({ output: 'hello\n', exitCode: 3 });
    const result = await runHelperContainer(client, { name: 'h', image: 'i', labels: LABELS, networkMode: 'none', command: ['x'] });
    expect(result).toMatchObject({ exitCode: 3, stdout: 'hello\n', stderr: '' });
    expect(removed).toEqual(['helper-1']);
  });

  it('helper: a failed start is a HelperContainerError at stage start with the cause, and the container is removed', async () => {
    const cause = new Error('boom');
    const { client, removed } = fakeDocker({ failAt: 'start', startError: cause });
    const error = await runHelperContainer(client, { name: 'h', image: 'i', labels: LABELS, networkMode: 'none', command: ['x'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HelperContainerError);
    expect(error).toMatchObject({ stage: 'start', helper: 'h', containerId: 'helper-1', cause });
    expect(removed).toEqual(['helper-1']);
  });

  it('helper: one that runs past its bound is removed and the call throws at stage timeout', async () => {
    const { client, removed } = fakeDocker({ waitMs: 500 });
    const error = await runHelperContainer(client, { name: 'h', image: 'i', labels: LABELS, networkMode: 'none', command: ['x'] }, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'HelperContainerError', stage: 'timeout' });
    expect(removed).toEqual(['helper-1']);
  });
});

describe('isolation probe in a helper container', () => {
  const options = { probe: 't-01#1', port: 4242, targets: ['10.0.0.1', '172.17.0.1', 'not-an-ip'], image: 'keelhaul/worker:0.1.0', name: 'kh-r-1-t-01-a1-probe-x', labels: LABELS };

  it("probe: joins the attempt's network namespace from keelhaul's image, never the worker's, and reads what it saw", async () => {
    const { client, created, removed } = fakeDocker({ output: 'if lo\nif eth0\nunreachable 10.0.0.1\nreached 172.17.0.1\n' });
    const probe = await probeIsolation(client, 'worker-id', options);
    expect(probe).toEqual({ probe: 't-01#1', interfaces: ['eth0', 'lo'], reached: ['172.17.0.1:4242'], unreachable: ['10.0.0.1:4242'] });
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ image: 'keelhaul/worker:0.1.0', networkMode: 'container:worker-id', labels: { [Label.skip]: 'true', [Label.role]: 'probe' } });
    // Only dotted IPv4 targets reach the script.
    expect(created[0]!.entrypoint!.join(' ')).not.toContain('not-an-ip');
    expect(removed).toEqual(['helper-1']);
  });

  it('probe: an attempt that exited before it is not probed, and says so', async () => {
    const { client, created } = fakeDocker({ running: false });
    expect((await probeIsolation(client, 'worker-id', options)).error).toBe('the container is not running (it exited before the probe)');
    expect(created).toEqual([]);
  });

  it("probe: the daemon's 409 on joining a namespace that has just gone reads as an exited attempt", async () => {
    const conflict = new ResourceConflictError('container helper-1', { operation: 'start container', detail: 'cannot join network of a non running container' });
    const { client } = fakeDocker({ failAt: 'start', startError: conflict });
    expect((await probeIsolation(client, 'worker-id', options)).error).toMatch(/^the container is not running \(it exited before the probe\)/);
  });

  it('probe: a helper that cannot be created is an error, never "nothing reached"', async () => {
    const probe = await probeIsolation(fakeDocker({ failAt: 'create' }).client, 'worker-id', options);
    expect(probe).toMatchObject({ interfaces: [], reached: [], unreachable: [] });
    expect(probe.error).toContain('create failed: no such image');
  });

  it('probe output: a missing tool, no interface or too few answers prove nothing and say why', () => {
    expect(parseProbeOutput('p', 1, 1, 3, 'missing nc\n').error).toBe("keelhaul's probe image has no nc");
    expect(parseProbeOutput('p', 1, 1, 126, 'exec failed').error).toMatch(/^the probe printed no interface \(exit 126\)/);
    expect(parseProbeOutput('p', 1, 2, 137, 'if lo\nunreachable 10.0.0.1\n')).toMatchObject({
      interfaces: ['lo'],
      reached: [],
      error: 'the probe answered for 1 of 2 host addresses (exit 137; cut short?)',
    });
  });

  it('probe script: the token cannot leave its quotes; one background connect per target, all awaited', () => {
    const script = probeScript("t-01#1'; rm -rf /", 9, ['10.0.0.1', '10.0.0.2']);
    expect(script).toContain("echo 't-01#1___rm_-rf__'");
    expect(script.match(/timeout 2 nc 10\.0\.0\.\d 9/g)).toHaveLength(2);
    expect(script.trim().endsWith('wait')).toBe(true);
  });
});

describe('helper needs', () => {
  const base = { name: 'n', tasks: { count: 1, steps: [{ sleep: 1 }] } };
  it('helpers: asked for by the probe, the lister, fill-disk and partition faults and a snapshot; not on the local backend', () => {
    expect(helperNeeds(validateScenario({ ...base, network: 'none' }))).toEqual(['the isolation probe']);
    expect(helperNeeds(validateScenario({ ...base, network: 'bridge' }))).toEqual([]);
    expect(helperNeeds(validateScenario({ ...base, network: 'none', expect: { isolationProbe: false } }))).toEqual([]);
    expect(helperNeeds(validateScenario({ ...base, network: 'bridge' }), { captureWorkspaces: true })).toEqual(['the workspace snapshot']);
    expect(helperNeeds(validateScenario({ ...base, backend: 'local', network: 'none' }))).toEqual([]);
    expect(
      helperNeeds(
        validateScenario({
          name: 'n',
          network: 'bridge',
          workspace: { size: '1m' },
          tasks: [{ id: 't-01', writes: ['out'], steps: [{ sleep: 1 }] }],
          faults: [{ kind: 'fill-disk', trigger: { at: 10 } }],
        }),
      ),
    ).toEqual(['the workspace lister', 'the fill-disk fault']);
  });
});
