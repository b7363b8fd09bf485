/**
 * A worker image keelhaul has never seen, under a daemon fault (issue #16 item 5): the
 * shell worker of test/setup/foreign-workers.ts (busybox `sh` alone in a `FROM scratch`
 * image) is built on the main daemon, and a scenario with `daemon: { mode: private }` and a
 * `daemon-kill` fault runs it on a private dockerd this test starts. The private daemon
 * starts empty: the run copies the image to it (save on the main daemon streamed into load on
 * the private one), records the copy as an `image.transferred` event, and passes; a second
 * run on the same private daemon finds the image there and copies nothing. The main daemon's
 * configuration is never touched; the test image is removed from it afterwards if this test
 * built it, and nothing labelled is left on either daemon.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderEvent } from '../../src/cli/render.js';
import { runScenario, type RunEvent, type RunResult } from '../../src/controller/index.js';
import { startPrivateDaemon, type PrivateDaemon } from '../../src/daemon/index.js';
import { connectDocker, DockerError, ImageNotFoundError, Label, type DockerClient } from '../../src/docker/index.js';
import { validateScenario, type Scenario } from '../../src/scenario/index.js';
import { buildForeignWorker, type ForeignWorker } from '../setup/foreign-workers.js';

describe('image transfer to a private daemon (docker)', () => {
  let main: DockerClient;
  let daemon: PrivateDaemon;
  let inner: DockerClient;
  let worker: ForeignWorker;
  let runsDir: string;

  beforeAll(async () => {
    main = await connectDocker();
    worker = await buildForeignWorker(main, 'shell');
    daemon = await startPrivateDaemon({ name: 'khimgxfer', liveRestore: true });
    inner = await daemon.connect();
    runsDir = await mkdtemp(join(tmpdir(), 'keelhaul-image-transfer-'));
  });
  afterAll(async () => {
    await daemon?.remove();
    await worker?.remove();
    if (runsDir) await rm(runsDir, { recursive: true, force: true });
  });

  async function leftOn(docker: DockerClient, runId: string): Promise<number> {
    const labels = { [Label.run]: runId };
    const [c, n, v] = await Promise.all([docker.listContainers({ labels, all: true }), docker.listNetworks({ labels }), docker.listVolumes({ labels })]);
    return c.length + n.length + v.length;
  }

  function scenarioFor(image: string): Scenario {
    return validateScenario({
      name: 'image-transfer-daemon-kill',
      seed: 5,
      image,
      network: 'none',
      daemon: { mode: 'private', liveRestore: true, outageLimitMs: '30s' },
      concurrency: 2,
      heartbeatMs: 250,
      heartbeatTimeoutMs: '5s',
      timeoutMs: 90_000,
      tasks: { count: 2, steps: [{ sleep: 4000 }] },
      faults: [{ kind: 'daemon-kill', trigger: { at: '1500ms' }, params: { downMs: '2s' } }],
    });
  }

  async function run(scenario: Scenario, lines: string[]): Promise<{ result: RunResult; transfers: Extract<RunEvent, { type: 'image.transferred' }>[] }> {
    const transfers: Extract<RunEvent, { type: 'image.transferred' }>[] = [];
    const result = await runScenario({
      scenario,
      docker: main,
      runsDir,
      privateDaemon: daemon,
      reaper: false,
      onEvent: (e) => {
        if (e.type === 'image.transferred') transfers.push(e);
        const line = renderEvent(e, { verbose: false });
        if (line !== undefined) lines.push(line);
      },
    });
    return { result, transfers };
  }

  it('a foreign image is copied from the main daemon to an empty private daemon and passes a daemon-kill run; the next run copies nothing', async () => {
    expect(await inner.inspectImage(worker.image)).toBeUndefined();
    const wanted = (await main.inspectImage(worker.image))!;

    const lines: string[] = [];
    const first = await run(scenarioFor(worker.image), lines);
    expect(first.result.report.error).toBeUndefined();
    expect(first.result.report.status, JSON.stringify(first.result.report.checks.filter((c) => !c.ok))).toBe('passed');
    expect(first.result.report.faults[0]!.status).toBe('injected');
    expect(first.result.report.tasks.every((t) => t.outcome === 'completed')).toBe(true);
    // The image is on the private daemon with the main daemon's id and tag.
    expect((await inner.inspectImage(worker.image))?.id).toBe(wanted.id);
    expect(first.transfers).toHaveLength(1);
    const t = first.transfers[0]!;
    expect(t).toMatchObject({ image: worker.image, imageId: wanted.id, transferred: true, from: main.endpoint, to: inner.endpoint });
    // A save tar holds at least the image's layers (busybox, 2 MB).
    expect(t.bytes).toBeGreaterThan(wanted.size);
    expect(lines.some((l) => l.includes(`image ${worker.image}:`) && l.includes('MB copied'))).toBe(true);
    const events = await readFile(join(first.result.runDir, 'events.jsonl'), 'utf8');
    expect(events).toContain('"type":"image.transferred"');
    expect(first.result.report.checks.find((c) => c.name === 'event-schema')?.ok ?? true).toBe(true);
    console.log(`image transfer: ${worker.image} ${t.bytes} bytes (image size ${wanted.size}) in ${t.durationMs} ms`);

    const second = await run(scenarioFor(worker.image), []);
    expect(second.result.report.status).toBe('passed');
    expect(second.transfers).toEqual([expect.objectContaining({ transferred: false, bytes: 0, imageId: wanted.id })]);

    for (const r of [first, second]) {
      expect(await leftOn(inner, r.result.report.runId)).toBe(0);
      expect(await leftOn(main, r.result.report.runId)).toBe(0);
    }
  }, 180_000);

  it("a system under test's sut.images are copied before it starts: its docker CLI finds the image on the private daemon", async () => {
    await inner.removeImage(worker.image, { force: true }).catch(() => undefined);
    const scenario = validateScenario({
      name: 'image-transfer-sut',
      seed: 5,
      daemon: { mode: 'private', liveRestore: true },
      sut: {
        // The SUT's DOCKER_HOST is the private daemon: the inspection succeeds only if the copy happened.
        command: ['docker', 'image', 'inspect', '--format', '{{.Id}}', worker.image],
        selector: { 'keelhaul-test.sut': '${KEELHAUL_RUN_ID}' },
        images: [worker.image],
        timeoutMs: 30_000,
      },
    });
    const transfers: Extract<RunEvent, { type: 'image.transferred' }>[] = [];
    const result = await runScenario({
      scenario,
      docker: main,
      runsDir,
      privateDaemon: daemon,
      reaper: false,
      onEvent: (e) => {
        if (e.type === 'image.transferred') transfers.push(e);
      },
    });
    const wanted = (await main.inspectImage(worker.image))!;
    expect(transfers).toEqual([expect.objectContaining({ image: worker.image, transferred: true, imageId: wanted.id })]);
    expect(result.report.sut!.exits[0]!.exitCode, result.report.error).toBe(0);
    expect((await inner.inspectImage(worker.image))?.id).toBe(wanted.id);
    expect(await leftOn(inner, result.report.runId)).toBe(0);
  }, 120_000);

  it("the client's own errors, from a real daemon: saveImage of a missing image is ImageNotFoundError, a load of bytes that are no tar is a DockerError with the daemon's words", async () => {
    const missing = await main.saveImage('keelhaul-test/not-built-anywhere:1').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ImageNotFoundError);
    const bad = await inner.loadImage(Readable.from([Buffer.from('this is not a tar archive')])).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(DockerError);
    expect((bad as DockerError).operation).toBe('load image');
    expect((bad as Error).message).toContain(inner.endpoint);
  });

  it('an image the main daemon lacks is refused by name before anything runs', async () => {
    const missing = 'keelhaul-test/not-built-anywhere:1';
    const error = await run(scenarioFor(missing), []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageNotFoundError);
    expect((error as Error).message).toContain(missing);
    expect((error as Error).message).toMatch(/DOCKER_HOST/);
  });
});
