import { describe, expect, it } from 'vitest';
import { DockerBackend } from '../../src/backends/docker-backend.js';
import { WorkerUserError } from '../../src/backends/workspace-owner.js';
import type { ContainerSpec, DockerClient, VolumeSpec } from '../../src/docker/index.js';

const run = { runId: 'r1', scenario: 's', version: '0.0.0', controllerPid: 1, controllerStart: 1 };

/** A client recording the workspace calls: volume creates, helper creates, archives, removals. */
function fake(): { docker: DockerClient; calls: string[]; volumes: VolumeSpec[]; helpers: ContainerSpec[] } {
  const calls: string[] = [];
  const volumes: VolumeSpec[] = [];
  const helpers: ContainerSpec[] = [];
  const docker = {
    createVolume: async (spec: VolumeSpec) => {
      calls.push(`volume ${spec.name}`);
      volumes.push(spec);
      return spec.name;
    },
    createContainer: async (spec: ContainerSpec) => {
      calls.push(`create ${spec.name}`);
      helpers.push(spec);
      return `id-${spec.name}`;
    },
    putArchive: async (id: string, path: string) => void calls.push(`archive ${id} ${path}`),
    removeContainer: async (id: string) => void calls.push(`remove ${id}`),
  } as unknown as DockerClient;
  return { docker, calls, volumes, helpers };
}

const options = { run, image: 'foreign:1', network: 'none' as const, memoryBytes: 1 << 28, pidsLimit: 64, tmpfsBytes: 1 << 20 };

describe("docker backend: the workspace is the worker user's", () => {
  it('workspace: a named volume is given to uid:gid by a never-started helper before anything mounts it; a fresh one after disk-full too', async () => {
    const f = fake();
    const backend = new DockerBackend(f.docker, options);
    expect(await backend.workspaceVolume('t-1')).toBe('kh-r1-t-1');
    backend.freshWorkspace('t-1');
    expect(await backend.workspaceVolume('t-1')).toBe('kh-r1-t-1-w2');
    expect(f.calls).toEqual([
      'volume kh-r1-t-1',
      'create kh-r1-t-1-owner',
      'archive id-kh-r1-t-1-owner /',
      'remove id-kh-r1-t-1-owner',
      'volume kh-r1-t-1-w2',
      'create kh-r1-t-1-w2-owner',
      'archive id-kh-r1-t-1-w2-owner /',
      'remove id-kh-r1-t-1-w2-owner',
    ]);
    expect(f.helpers[0]).toMatchObject({ image: 'foreign:1', mounts: [{ type: 'volume', source: 'kh-r1-t-1', target: '/workspace', noCopy: true }] });
  });

  it('workspace: a workspace.size volume is a tmpfs owned through its mount options, with no helper', async () => {
    const f = fake();
    const backend = new DockerBackend(f.docker, { ...options, workspaceSizeBytes: 1 << 20, user: '2000:3000' });
    await backend.workspaceVolume('t-1');
    expect(f.volumes[0]!.driverOpts).toEqual({ type: 'tmpfs', device: 'tmpfs', o: 'size=1048576,uid=2000,gid=3000,mode=0750' });
    expect(f.helpers).toEqual([]);
  });

  it('workspace: a worker user that is not numeric is refused when the backend is built', () => {
    expect(() => new DockerBackend(fake().docker, { ...options, user: 'worker' })).toThrow(WorkerUserError);
  });
});
