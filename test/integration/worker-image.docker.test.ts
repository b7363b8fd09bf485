/**
 * The reference worker image against the real Docker daemon: built offline, cached when
 * unchanged, and running a task locked down the way the docker backend runs it (no network,
 * read-only root, tmpfs /tmp, uid 1000, a labelled named volume at /workspace).
 *
 * Needs a daemon (DOCKER_HOST or /var/run/docker.sock) and a compiled worker
 * (`npm run build`); it fails, never skips, without them.
 */
import { randomUUID } from 'node:crypto';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker, type DockerClient } from '../../src/docker/index.js';
import { Label } from '../../src/docker/labels.js';
import { buildWorkerImage, workerImageTag } from '../../src/images/index.js';
import { keelhaulVersion } from '../../src/version.js';

const testRunId = `test-worker-image-${randomUUID().slice(0, 8)}`;
const runLabels = { [Label.run]: testRunId };
const labelQuery = JSON.stringify({ label: [`${Label.run}=${testRunId}`] });

const docker = new Dockerode();

interface WorkerEvent {
  type: string;
  [key: string]: unknown;
}

/**
 * Splits a non-TTY log buffer into stdout and stderr: each frame is an 8-byte header (stream
 * type, 3 zero bytes, big-endian length) and its payload
 * (https://docs.docker.com/engine/api/v1.41/#operation/ContainerAttach "Stream format").
 */
function demux(buffer: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const kind = buffer[offset];
    const length = buffer.readUInt32BE(offset + 4);
    const payload = buffer.subarray(offset + 8, offset + 8 + length);
    (kind === 2 ? err : out).push(payload);
    offset += 8 + length;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** Runs a container to its end and returns its exit code and output; the container is kept (caller removes). */
async function runToEnd(options: Dockerode.ContainerCreateOptions, created: string[]): Promise<{ exitCode: number; stdout: string; stderr: string; durationMs: number }> {
  const started = performance.now();
  const container = await docker.createContainer(options);
  created.push(container.id);
  await container.start();
  const { StatusCode } = (await container.wait()) as { StatusCode: number };
  const durationMs = performance.now() - started;
  const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  return { exitCode: StatusCode, ...demux(logs), durationMs };
}

/** Removes every container and volume carrying this test's run label. */
async function removeLabelled(): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: labelQuery });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
  const { Volumes } = await docker.listVolumes({ filters: labelQuery });
  await Promise.all((Volumes ?? []).map((v) => docker.getVolume(v.Name).remove({ force: true })));
}

describe('worker image (docker)', () => {
  // A failed ping is recorded and thrown by every test, so that each one is reported as
  // failed (a throwing beforeAll would leave them marked "skipped").
  let daemonError: Error | undefined;
  let client: DockerClient;
  const requireDaemon = (): void => {
    if (daemonError) throw daemonError;
  };

  beforeAll(async () => {
    try {
      // dockerode forwards `abortSignal` to docker-modem; its types omit the options argument.
      await (docker.ping as (options: { abortSignal: AbortSignal }) => Promise<unknown>)({
        abortSignal: AbortSignal.timeout(5000),
      });
      client = await connectDocker();
    } catch (error) {
      daemonError = new Error(
        `No Docker daemon answers (${process.env['DOCKER_HOST'] ?? '/var/run/docker.sock'}): this integration test needs one; start it with scripts/docker-up.sh`,
        { cause: error },
      );
    }
  });

  afterAll(async () => {
    if (!daemonError) await removeLabelled();
  });

  it('worker image: a forced build tags keelhaul/worker:<version> and labels it with version and context digest', async () => {
    requireDaemon();
    const lines: string[] = [];
    const build = await buildWorkerImage(client, { force: true, onProgress: (line) => lines.push(line) });

    expect(build.tag).toBe(workerImageTag());
    expect(build.tag).toBe(`keelhaul/worker:${keelhaulVersion}`);
    expect(build.cached).toBe(false);
    expect(build.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(build.contextDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(lines.some((line) => line.startsWith('Step 1/'))).toBe(true);

    const image = await client.inspectImage(build.tag);
    expect(image?.id).toBe(build.imageId);
    expect(image?.labels[Label.version]).toBe(keelhaulVersion);
    expect(image?.labels[Label.contextDigest]).toBe(build.contextDigest);
    expect(image?.labels['org.opencontainers.image.version']).toBe(keelhaulVersion);
    const info = await docker.getImage(build.imageId).inspect();
    expect(info.RepoTags).toContain(build.tag);
    expect(info.Config.User).toBe('1000:1000');
    expect(info.Config.WorkingDir).toBe('/workspace');
  });

  it('worker image: an unchanged rebuild is cached and returns the same image', async () => {
    requireDaemon();
    const first = await client.inspectImage(workerImageTag());
    const build = await buildWorkerImage(client);

    expect(build.cached).toBe(true);
    expect(build.imageId).toBe(first?.id);
    expect(build.durationMs).toBeLessThan(2000);
  });

  it('worker image: a container completes a write task with no network, a read-only root and uid 1000', async () => {
    requireDaemon();
    const created: string[] = [];
    const volume = `${testRunId}-ws`;
    try {
      await docker.createVolume({ Name: volume, Labels: { ...runLabels, [Label.role]: 'workspace' } });
      const task = { id: 't-01', steps: [{ write: { path: 'a.txt', content: 'hi' } }] };
      const worker = await runToEnd(
        {
          name: `${testRunId}-worker`,
          Image: workerImageTag(),
          Labels: { ...runLabels, [Label.role]: 'worker', [Label.task]: 't-01', [Label.attempt]: '1' },
          Env: [`KEELHAUL_RUN_ID=${testRunId}`, 'KEELHAUL_TASK_ID=t-01', 'KEELHAUL_ATTEMPT=1', 'KEELHAUL_SEED=42', `KEELHAUL_TASK=${JSON.stringify(task)}`],
          HostConfig: {
            NetworkMode: 'none',
            ReadonlyRootfs: true,
            Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=16m' },
            CapDrop: ['ALL'],
            SecurityOpt: ['no-new-privileges'],
            Mounts: [{ Type: 'volume', Source: volume, Target: '/workspace' }],
          },
        },
        created,
      );

      expect(worker.exitCode, worker.stderr).toBe(0);
      const events = worker.stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as WorkerEvent);
      const started = events.find((event) => event.type === 'task.started');
      expect(started).toBeDefined();
      const interfaces = started?.['interfaces'] as { name: string; addresses: string[] }[];
      expect(interfaces.map((i) => i.name)).toEqual(['lo']);
      expect(started?.['uid']).toBe(1000);
      expect(started?.['run']).toBe(testRunId);
      expect(events.some((event) => event.type === 'task.completed')).toBe(true);
      expect(events.some((event) => event.type === 'task.failed')).toBe(false);

      // The named volume took /workspace's 1000:1000 ownership from the image, so the write
      // landed; read it back from a second container on the same volume.
      const reader = await runToEnd(
        {
          name: `${testRunId}-reader`,
          Image: workerImageTag(),
          Labels: { ...runLabels, [Label.role]: 'probe' },
          Entrypoint: ['/bin/cat', '/workspace/a.txt'],
          HostConfig: {
            NetworkMode: 'none',
            ReadonlyRootfs: true,
            Mounts: [{ Type: 'volume', Source: volume, Target: '/workspace', ReadOnly: true }],
          },
        },
        created,
      );
      expect(reader.exitCode, reader.stderr).toBe(0);
      expect(reader.stdout).toBe('hi');
    } finally {
      for (const id of created) await docker.getContainer(id).remove({ force: true, v: true });
      await docker
        .getVolume(volume)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  it('worker image: leaves no container or volume labelled with its run id', async () => {
    requireDaemon();
    const containers = await docker.listContainers({ all: true, filters: labelQuery });
    const { Volumes } = await docker.listVolumes({ filters: labelQuery });
    expect(containers.map((c) => c.Names)).toEqual([]);
    expect((Volumes ?? []).map((v) => v.Name)).toEqual([]);
  });
});
