/**
 * The fault registry: one entry per kind, each handed only the Docker client methods it
 * declares (`uses`), with plain-object fakes — no daemon.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { applyFault, FAULT_ACTIONS, faultAction, preflightFaults, type FaultContext } from '../../src/chaos/actions.js';
import type { ContainerInfo, DockerClient } from '../../src/docker/client.js';
import { Label } from '../../src/docker/labels.js';
import { DAEMON_FAULT_KINDS, FAULT_KINDS, faultSchema, type FaultKind, type FaultSpec } from '../../src/scenario/schema.js';

/** One valid spec of each kind, through the scenario schema (defaults applied). */
const PARAMS: Record<FaultKind, Record<string, unknown>> = {
  kill: { signal: 'SIGKILL', mode: 'api' },
  stop: { graceMs: 1000 },
  restart: { graceMs: 1000 },
  pause: { durationMs: 1000 },
  netem: { durationMs: 1000, lossPercent: 10 },
  partition: { durationMs: 1000, network: 'net' },
  'fill-disk': { percent: 50 },
  'daemon-stop': { downMs: 10 },
  'daemon-kill': { downMs: 10 },
  'daemon-restart': {},
  'sut-kill': { signal: 'SIGKILL' },
};

function specOf(kind: FaultKind): FaultSpec {
  return faultSchema.parse({ kind, trigger: { at: 0 }, target: { labels: { role: 'worker' }, pick: 'first', count: 1 }, params: PARAMS[kind] });
}

const info = (id: string): ContainerInfo =>
  ({
    id,
    name: `kh-${id}`,
    image: 'i',
    imageId: 'sha256:x',
    labels: { [Label.run]: 'r1', [Label.task]: 't-01' },
    state: { status: 'running', running: true, paused: false, exitCode: 0, oomKilled: false, pid: 4242, startedAt: '', finishedAt: '' },
    mounts: [{ type: 'volume', source: '', destination: '/workspace', name: 'vol' }],
    networks: ['net'],
    networkAddresses: { net: id === 'c1' ? '10.0.0.2' : '10.0.0.3' },
  }) as unknown as ContainerInfo;

/** Every method of the client, each recording its name and answering plausibly. */
function recordingClient(): { client: DockerClient; called: string[] } {
  const called: string[] = [];
  const answers: Record<string, (...args: unknown[]) => unknown> = {
    inspectContainer: (id) => info(id as string),
    createContainer: () => 'helper',
    waitContainer: () => ({ exitCode: 0 }),
    execInContainer: () => ({ exitCode: 0, output: 'nc: 10.0.0.2 (10.0.0.2:1): Connection refused' }),
    listContainers: () => [],
  };
  const client = new Proxy({} as DockerClient, {
    get: (_t, name) =>
      typeof name === 'string'
        ? async (...args: unknown[]) => {
            called.push(name);
            return answers[name]?.(...args);
          }
        : undefined,
  });
  return { client, called };
}

function contextFor(client: DockerClient): FaultContext {
  return {
    docker: client,
    helperLabels: (role) => ({ [Label.run]: 'r1', [Label.role]: role }),
    image: 'keelhaul/worker:test',
    networkName: 'net',
    workspaceSizeBytes: 1 << 20,
    daemon: { canControl: true, stop: async () => undefined, kill: async () => undefined, start: async () => undefined, restart: async () => undefined },
    sut: { kill: async () => undefined },
    exec: async (_file, args) => ({ stdout: args.includes('link') ? '1: lo: <LOOPBACK,UP>\n2: eth0@if9: <BROADCAST,UP>' : '' }),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('fault registry', () => {
  it('fault registry: every kind of the scenario schema has an entry under its own name; daemon kinds act on the daemon, sut-kill on the SUT', () => {
    expect(Object.keys(FAULT_ACTIONS).sort()).toEqual([...FAULT_KINDS].sort());
    for (const kind of FAULT_KINDS) {
      expect(faultAction(kind).kind).toBe(kind);
      expect(faultAction(kind).acts, kind).toBe(DAEMON_FAULT_KINDS.includes(kind) ? 'daemon' : kind === 'sut-kill' ? 'sut' : 'container');
    }
    expect(FAULT_KINDS.filter((k) => faultAction(k).restartsTarget)).toEqual(['restart']);
  });

  it.each(FAULT_KINDS.map((k) => [k]))('fault registry: %s is called with only the client methods it declares, and calls no other', async (kind) => {
    const { client, called } = recordingClient();
    const action = faultAction(kind);
    const apply = vi.spyOn(action, 'apply');
    const spec = specOf(kind);
    const undo = await applyFault(spec, DAEMON_FAULT_KINDS.includes(kind) ? 'daemon' : kind === 'sut-kill' ? 'sut' : 'c1', contextFor(client));
    await undo?.();
    expect(apply).toHaveBeenCalledTimes(1);
    const given = apply.mock.calls[0]![2].docker;
    expect(Object.keys(given).sort()).toEqual([...new Set(action.uses)].sort());
    expect(apply.mock.calls[0]![0]).toEqual(spec.params);
    expect([...new Set(called)].filter((m) => !(action.uses as readonly string[]).includes(m))).toEqual([]);
    if (action.uses.length > 0) expect(called.length).toBeGreaterThan(0);
  });

  it('fault registry: an entry cannot reach a method outside its slice, even when the client has it', async () => {
    const { client } = recordingClient();
    vi.spyOn(faultAction('stop'), 'apply').mockImplementation(async (_params, id, ctx) => {
      await (ctx.docker as unknown as DockerClient).killContainer(id, 'SIGKILL');
      return undefined;
    });
    await expect(applyFault(specOf('stop'), 'c1', contextFor(client))).rejects.toThrow(TypeError);
  });

  it('fault registry: undoAfterMs is the duration for timed faults and downMs for daemon outages', () => {
    expect(faultAction('pause').undoAfterMs?.({ durationMs: 1500 })).toBe(1500);
    expect(faultAction('daemon-stop').undoAfterMs?.({ downMs: 700 })).toBe(700);
    expect(faultAction('kill').undoAfterMs).toBeUndefined();
  });

  it('fault registry: a backend that applies faults itself gets every fault, and no entry runs', async () => {
    const apply = vi.spyOn(faultAction('kill'), 'apply');
    const seen: string[] = [];
    const ctx: FaultContext = {
      docker: { listContainers: async () => [] },
      apply: async (spec, id) => {
        seen.push(`${spec.kind} ${id}`);
        return undefined;
      },
      helperLabels: () => ({}),
      image: 'i',
    };
    await applyFault(specOf('kill'), 'pid:1', ctx);
    expect(seen).toEqual(['kill pid:1']);
    expect(apply).not.toHaveBeenCalled();
  });

  it('fault registry: sut-kill signals the SUT with its params, and is refused without one', async () => {
    const { client } = recordingClient();
    const kills: unknown[] = [];
    const ctx = { ...contextFor(client), sut: { kill: async (signal: string, resume: unknown) => void kills.push([signal, resume]) } };
    await applyFault(faultSchema.parse({ kind: 'sut-kill', trigger: { at: 0 }, params: { signal: 'SIGTERM', resumeAfterMs: 50 } }), 'sut', ctx);
    expect(kills).toEqual([['SIGTERM', { resume: true, resumeAfterMs: 50 }]]);
    const { sut: _none, ...without } = contextFor(client);
    await expect(applyFault(specOf('sut-kill'), 'sut', without)).rejects.toThrow(/no system under test/);
  });

  it('fault registry: a daemon fault on a daemon keelhaul did not start is refused', async () => {
    const { client } = recordingClient();
    await expect(
      applyFault(specOf('daemon-kill'), 'daemon', {
        ...contextFor(client),
        daemon: { canControl: false, stop: async () => 0, kill: async () => 0, start: async () => 0, restart: async () => 0 },
      }),
    ).rejects.toThrow(/only stops or kills a daemon it started/);
  });
});

describe('fault registry: preflight', () => {
  const netemDelay = faultSchema.parse({ kind: 'netem', trigger: { at: 0 }, params: { durationMs: 1000, delayMs: 100 } });
  const hostKill = faultSchema.parse({ kind: 'kill', trigger: { at: 0 }, params: { mode: 'host' } });

  it('fault registry: preflight names the field of each kind that this host cannot honour', async () => {
    const exec = async (): Promise<{ stdout: string }> => ({ stdout: '' });
    const root = { root: true, exec };
    const user = { root: false, exec };
    expect(await faultAction('kill').preflight?.(hostKill.params as never, user)).toEqual({ field: 'kind', message: 'kill (mode host) acts from the host and needs root' });
    expect(await faultAction('kill').preflight?.(hostKill.params as never, root)).toBeUndefined();
    expect(await faultAction('netem').preflight?.(netemDelay.params as never, user)).toEqual({ field: 'kind', message: 'netem acts from the host and needs root' });
    expect(faultAction('stop').preflight).toBeUndefined();
  });

  it("fault registry: preflightFaults asks each fault's entry and reports the first problem as faults[i].<field>", async () => {
    // `preflight` is optional; stop has none: give it one for this test only.
    const stop = faultAction('stop') as { preflight?: unknown };
    stop.preflight = async () => ({ field: 'params', message: 'not on this host' });
    try {
      await expect(preflightFaults([specOf('kill'), specOf('stop')], async () => ({ stdout: '' }))).rejects.toThrow(
        expect.objectContaining({ name: 'FaultSupportError', field: 'faults[1].params', message: 'faults[1].params: not on this host' }),
      );
    } finally {
      delete stop.preflight;
    }
    await expect(preflightFaults([specOf('kill'), specOf('stop')])).resolves.toBeUndefined();
  });
});
