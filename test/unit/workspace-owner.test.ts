import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { directoryEntryTar, giveWorkspaceToWorker, parseWorkerUser, WorkerUserError, WorkspaceOwnerError } from '../../src/backends/workspace-owner.js';
import { ResourceConflictError, type ContainerSpec, type DockerClient } from '../../src/docker/index.js';

type OwnerClient = Pick<DockerClient, 'createContainer' | 'putArchive' | 'removeContainer'>;

function fakeClient(options: { failArchive?: Error } = {}): { client: OwnerClient; calls: string[]; spec: () => ContainerSpec | undefined; tar: () => Buffer | undefined } {
  const calls: string[] = [];
  let spec: ContainerSpec | undefined;
  let tar: Buffer | undefined;
  return {
    calls,
    spec: () => spec,
    tar: () => tar,
    client: {
      createContainer: async (s) => {
        calls.push('create');
        spec = s;
        return 'c0ffee';
      },
      putArchive: async (id, path, body) => {
        calls.push(`archive ${id} ${path}`);
        tar = body;
        if (options.failArchive) throw options.failArchive;
      },
      removeContainer: async (id) => {
        calls.push(`remove ${id}`);
      },
    },
  };
}

describe('workspace owner', () => {
  it('workspace owner: uid:gid parses; a lone uid is its own gid; a name is refused', () => {
    expect(parseWorkerUser('1000:1000')).toEqual({ uid: 1000, gid: 1000 });
    expect(parseWorkerUser('1234')).toEqual({ uid: 1234, gid: 1234 });
    expect(parseWorkerUser('1000:50')).toEqual({ uid: 1000, gid: 50 });
    expect(() => parseWorkerUser('node')).toThrow(WorkerUserError);
    expect(() => parseWorkerUser('1000:staff')).toThrow(/numeric `uid:gid`/);
  });

  it('workspace owner: the archive is one directory entry with the owner and mode, as tar reads it', () => {
    const tar = directoryEntryTar('workspace', { uid: 1000, gid: 1001 }, 0o750);
    expect(tar.length).toBe(512 * 3);
    const dir = mkdtempSync(join(tmpdir(), 'kh-owner-tar-'));
    try {
      writeFileSync(join(dir, 'a.tar'), tar);
      const listing = execFileSync('tar', ['--numeric-owner', '-tvf', join(dir, 'a.tar')], { encoding: 'utf8' });
      expect(listing).toMatch(/^drwxr-x--- 1000\/1001 +0 .* workspace\/\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('workspace owner: a never-started helper mounts the volume without copy-up, gets the archive at /, and is removed', async () => {
    const fake = fakeClient();
    await giveWorkspaceToWorker(fake.client, {
      volume: 'kh-r-t',
      name: 'kh-r-t-owner',
      image: 'img',
      labels: { l: 'v' },
      owner: { uid: 1000, gid: 1000 },
      mountPath: '/workspace',
    });
    expect(fake.calls).toEqual(['create', 'archive c0ffee /', 'remove c0ffee']);
    expect(fake.spec()).toMatchObject({
      image: 'img',
      networkMode: 'none',
      readonlyRootfs: false,
      mounts: [{ type: 'volume', source: 'kh-r-t', target: '/workspace', noCopy: true }],
    });
    expect(fake.tar()!.subarray(0, 10).toString()).toBe('workspace/');
  });

  it('workspace owner: a helper left under the same name by a killed controller (409) is removed and the create tried again', async () => {
    const fake = fakeClient();
    let first = true;
    const create = fake.client.createContainer;
    fake.client.createContainer = async (spec) => {
      if (first) {
        first = false;
        fake.calls.push('create (409)');
        throw new ResourceConflictError('container kh-r-t-owner', { operation: 'create container', detail: 'The container name "/kh-r-t-owner" is already in use' });
      }
      return create(spec);
    };
    await giveWorkspaceToWorker(fake.client, { volume: 'kh-r-t', name: 'kh-r-t-owner', image: 'img', labels: {}, owner: { uid: 1, gid: 1 }, mountPath: '/workspace' });
    expect(fake.calls).toEqual(['create (409)', 'remove kh-r-t-owner', 'create', 'archive c0ffee /', 'remove c0ffee']);
  });

  it('workspace owner: a refused archive still removes the helper and names the volume, with the daemon error as cause', async () => {
    const daemonError = new Error('container rootfs is marked read-only');
    const fake = fakeClient({ failArchive: daemonError });
    const given = giveWorkspaceToWorker(fake.client, { volume: 'kh-r-t', name: 'n', image: 'img', labels: {}, owner: { uid: 1, gid: 1 }, mountPath: '/workspace' });
    await expect(given).rejects.toThrow(WorkspaceOwnerError);
    await expect(given).rejects.toMatchObject({ volume: 'kh-r-t', containerId: 'c0ffee', cause: daemonError });
    expect(fake.calls.at(-1)).toBe('remove c0ffee');
  });
});
