/**
 * The decision logic of copying an image to a private daemon (src/docker/image-transfer.ts,
 * src/controller/private-images.ts) against fake clients — plain objects, no Docker: skipped
 * when the target has the same image id, refused when the outer daemon lacks the image,
 * streamed and counted otherwise. The real save → load is test/integration/image-transfer.docker.test.ts.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { privateDaemonImages } from '../../src/controller/private-images.js';
import { DockerError, ImageNotFoundError, transferImage, type DockerClient, type ImageInfo } from '../../src/docker/index.js';
import { keelhaulVersion } from '../../src/version.js';

type Source = Pick<DockerClient, 'endpoint' | 'inspectImage' | 'saveImage'>;
type Target = Pick<DockerClient, 'endpoint' | 'inspectImage' | 'loadImage'>;

function info(id: string, tag: string): ImageInfo {
  return { id, repoTags: [tag], repoDigests: [], labels: {}, size: 0, created: '2026-12-08T00:00:00Z' };
}

/** A daemon holding `images` (ref → id); its save streams `tar`, its load stores what the tar names. */
function fakeDaemon(endpoint: string, images: Map<string, string>, options: { tar?: Buffer[]; loadFails?: string } = {}) {
  const calls = { save: [] as string[], loaded: [] as Buffer[], sourceDestroyed: false };
  const client: Source & Target = {
    endpoint,
    inspectImage: async (ref) => {
      const id = images.get(ref);
      return id === undefined ? undefined : info(id, ref);
    },
    saveImage: async (ref) => {
      calls.save.push(ref);
      const stream = Readable.from(options.tar ?? [Buffer.from('tar')], { objectMode: false });
      stream.on('close', () => (calls.sourceDestroyed = true));
      return stream;
    },
    loadImage: async (tar) => {
      if (options.loadFails) {
        // A daemon that answers with an error before reading the whole body.
        throw new DockerError(`Docker load image on ${endpoint} failed: ${options.loadFails}`, { operation: 'load image', reason: 'server-error' });
      }
      const chunks: Buffer[] = [];
      for await (const chunk of tar as AsyncIterable<Buffer>) chunks.push(chunk);
      calls.loaded.push(Buffer.concat(chunks));
      // The fake's "tar" is the id the test put on the outer daemon.
      images.set('team/worker:1', Buffer.concat(chunks).toString('utf8'));
      return { loaded: ['team/worker:1'] };
    },
  };
  return { client, calls };
}

describe('transferImage', () => {
  it('skips the copy when the private daemon already has the same image id under that reference', async () => {
    const outer = fakeDaemon('/var/run/docker.sock', new Map([['team/worker:1', 'sha256:aaa']]));
    const inner = fakeDaemon('/tmp/kh/docker.sock', new Map([['team/worker:1', 'sha256:aaa']]));
    const t = await transferImage(outer.client, inner.client, 'team/worker:1');
    expect(t).toMatchObject({ image: 'team/worker:1', imageId: 'sha256:aaa', transferred: false, bytes: 0, from: '/var/run/docker.sock', to: '/tmp/kh/docker.sock' });
    expect(outer.calls.save).toEqual([]);
    expect(inner.calls.loaded).toEqual([]);
  });

  it('streams the save into the load and counts the bytes when the private daemon lacks the image', async () => {
    const outer = fakeDaemon('/var/run/docker.sock', new Map([['team/worker:1', 'sha256:aaa']]), { tar: [Buffer.from('sha256:'), Buffer.from('aaa')] });
    const inner = fakeDaemon('/tmp/kh/docker.sock', new Map());
    const t = await transferImage(outer.client, inner.client, 'team/worker:1');
    expect(t).toMatchObject({ transferred: true, bytes: 10, imageId: 'sha256:aaa' });
    expect(outer.calls.save).toEqual(['team/worker:1']);
    expect(inner.calls.loaded.map((b) => b.toString())).toEqual(['sha256:aaa']);
    expect(t.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('copies again when the tag on the private daemon names another image id (the tag moved on the outer daemon)', async () => {
    const outer = fakeDaemon('/var/run/docker.sock', new Map([['team/worker:1', 'sha256:new']]), { tar: [Buffer.from('sha256:new')] });
    const inner = fakeDaemon('/tmp/kh/docker.sock', new Map([['team/worker:1', 'sha256:old']]));
    const t = await transferImage(outer.client, inner.client, 'team/worker:1');
    expect(t.transferred).toBe(true);
    expect(t.imageId).toBe('sha256:new');
  });

  it('refuses, naming the image and DOCKER_HOST, when the outer daemon lacks it — before anything is streamed', async () => {
    const outer = fakeDaemon('/var/run/docker.sock', new Map());
    const inner = fakeDaemon('/tmp/kh/docker.sock', new Map());
    const error = await transferImage(outer.client, inner.client, 'team/missing:2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageNotFoundError);
    expect((error as ImageNotFoundError).image).toBe('team/missing:2');
    expect((error as Error).message).toMatch(/team\/missing:2/);
    expect((error as Error).message).toMatch(/DOCKER_HOST/);
    expect((error as Error).message).toContain('/var/run/docker.sock');
    expect(outer.calls.save).toEqual([]);
  });

  it('a failed load rejects with the DockerError and closes the save stream', async () => {
    const outer = fakeDaemon('/var/run/docker.sock', new Map([['team/worker:1', 'sha256:aaa']]));
    const inner = fakeDaemon('/tmp/kh/docker.sock', new Map(), { loadFails: 'no space left on device' });
    const error = await transferImage(outer.client, inner.client, 'team/worker:1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerError);
    expect((error as DockerError).operation).toBe('load image');
    expect((error as Error).message).toMatch(/no space left/);
    await new Promise((resolve) => setImmediate(resolve));
    expect(outer.calls.sourceDestroyed).toBe(true);
  });

  it('a load that leaves the reference on another id (a digest reference) is refused', async () => {
    const outer = fakeDaemon('/var/run/docker.sock', new Map([['team/worker:1', 'sha256:aaa']]), { tar: [Buffer.from('sha256:zzz')] });
    const inner = fakeDaemon('/tmp/kh/docker.sock', new Map());
    const error = await transferImage(outer.client, inner.client, 'team/worker:1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerError);
    expect((error as Error).message).toMatch(/not sha256:aaa/);
  });
});

describe('privateDaemonImages', () => {
  it("builds keelhaul's worker image and copies every other image once: the scenario's, the topology's, sut.images with {version} expanded", () => {
    const worker = `keelhaul/worker:${keelhaulVersion}`;
    const topology = {
      topology: {
        file: '/x/compose.yaml',
        services: [
          { name: 'db', image: 'team/db:1' },
          { name: 'probe', image: 'keelhaul/worker:{version}' },
        ],
      },
    } as unknown as Parameters<typeof privateDaemonImages>[2];
    const sut = { images: ['team/worker:{version}', 'team/db:1'] } as unknown as NonNullable<Parameters<typeof privateDaemonImages>[0]['sut']>;
    expect(privateDaemonImages({ sut }, 'team/worker:1', topology)).toEqual({ build: [worker], transfer: ['team/worker:1', 'team/db:1', `team/worker:${keelhaulVersion}`] });
    expect(privateDaemonImages({ sut: undefined }, worker, undefined)).toEqual({ build: [worker], transfer: [] });
  });
});
