/**
 * A worker that is not keelhaul's, against the real daemon: a POSIX shell script in a
 * `FROM scratch` image that holds only a static busybox (the host's /bin/busybox), built by
 * the test. Its task carries fields of its own (`prompt`, `meta`), which must reach it in
 * KEELHAUL_TASK unchanged; its env reads `${…}` from keelhaul's environment, and the secret
 * one must never reach the run directory. The worker echoes what it received in its
 * task.started event, so the test reads it back from events.jsonl.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario, type RunResult } from '../../src/controller/index.js';
import { connectDocker, Label, type DockerClient } from '../../src/docker/index.js';
import { parseScenario } from '../../src/scenario/index.js';

const observer = new Dockerode();
const IMAGE = `keelhaul-test/task-fields-worker:${process.pid}`;
const TOKEN = 'sk-task-fields-0123456789';

// Prints KEELHAUL_TASK as it came (it is JSON) inside its first event, then completes.
// The sleep leaves the isolation probe time to exec into the running container.
const WORKER = `#!/bin/sh
emit() {
  printf '{"ts":"%s","type":"%s","run":"%s","task":"%s","attempt":%s%s}\\n' \\
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$KEELHAUL_RUN_ID" "$KEELHAUL_TASK_ID" "$KEELHAUL_ATTEMPT" "\${2:+,$2}"
}
emit task.started "\\"received\\":$KEELHAUL_TASK,\\"auth\\":\\"$AUTH\\",\\"region\\":\\"$REGION\\""
sleep 2
emit task.completed
`;

describe('task fields reach a worker of your own (docker)', () => {
  let docker: DockerClient;
  let dir: string;
  let result: RunResult;

  beforeAll(async () => {
    docker = await connectDocker();
    dir = await mkdtemp(join(tmpdir(), 'keelhaul-task-fields-'));
    const context = join(dir, 'image');
    await mkdir(context);
    await copyFile('/bin/busybox', join(context, 'busybox'));
    await writeFile(join(context, 'worker.sh'), WORKER);
    await writeFile(
      join(context, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY busybox /bin/busybox',
        // sh, nc, timeout, ls for the worker and the isolation probe; the root filesystem is read-only at run time.
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
        'COPY worker.sh /worker.sh',
        'USER 1000:1000',
        'ENTRYPOINT ["/bin/sh", "/worker.sh"]',
        '',
      ].join('\n'),
    );
    await docker.buildImage({ contextDir: context, dockerfile: 'Dockerfile', tag: IMAGE, labels: { 'dev.keelhaul.test': 'task-fields' } });

    process.env['KH_IT_CI_TOKEN'] = TOKEN;
    const scenario = parseScenario(
      [
        'x-worker: &task { prompt: "fix the flaky test", meta: { files: ["a.ts", "b.ts"], priority: 2, done: false, note: null } }',
        'name: task-fields',
        `image: ${IMAGE}`,
        'network: none',
        'timeoutMs: 60s',
        'reaper: { enabled: false }',
        'env:',
        '  AUTH: "Bearer ${KH_IT_CI_TOKEN}"',
        '  REGION: "${KH_IT_UNSET_REGION:-eu-west-1}"',
        'tasks:',
        '  - { <<: *task, id: t-01 }',
        '  - { id: t-02, prompt: "ünïcode \\"quoted\\" prompt" }',
        '',
      ].join('\n'),
      'task-fields.yaml',
    );
    result = await runScenario({ scenario, docker, runsDir: join(dir, 'runs') });
  });

  afterAll(async () => {
    delete process.env['KH_IT_CI_TOKEN'];
    await observer
      .getImage(IMAGE)
      .remove({ force: true })
      .catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('task fields: a prompt and other fields of the task reach the worker in KEELHAUL_TASK unchanged', async () => {
    expect(result.report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.report.status).toBe('passed');
    const events = (await readFile(join(result.runDir, 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; task?: string; event?: { type: string; received?: unknown; auth?: string; region?: string } });
    const started = new Map(events.filter((e) => e.type === 'worker.event' && e.event?.type === 'task.started').map((e) => [e.task, e.event!]));
    expect(started.get('t-01')?.received).toEqual({
      prompt: 'fix the flaky test',
      meta: { files: ['a.ts', 'b.ts'], priority: 2, done: false, note: null },
      id: 't-01',
      heartbeatMs: 1000,
    });
    expect(started.get('t-02')?.received).toEqual({ id: 't-02', prompt: 'ünïcode "quoted" prompt', heartbeatMs: 1000 });
    // env: the default came through; the value read from a secret-named variable is redacted in events.jsonl.
    expect(started.get('t-01')?.region).toBe('eu-west-1');
    // The whole value is a secret (it read one): hidden as AUTH, longest form first.
    expect(started.get('t-01')?.auth).toBe('[REDACTED:AUTH]');
  });

  it('env: the secret is nowhere in the run directory, and scenario.yaml keeps the ${…} reference', async () => {
    const files = ['scenario.yaml', 'state.json', 'events.jsonl', 'report.json', 'attempts/t-01/1/stdout.log'];
    for (const file of files) expect(await readFile(join(result.runDir, file), 'utf8'), file).not.toContain(TOKEN);
    const scenarioYaml = await readFile(join(result.runDir, 'scenario.yaml'), 'utf8');
    expect(scenarioYaml).toContain('${KH_IT_CI_TOKEN}');
    expect(scenarioYaml).toContain('prompt: fix the flaky test');
  });

  it('cleanup: nothing labelled with the run is left on the daemon', async () => {
    const filters = JSON.stringify({ label: [`${Label.run}=${result.report.runId}`] });
    const [containers, networks, volumes] = await Promise.all([
      observer.listContainers({ all: true, filters }),
      observer.listNetworks({ filters }),
      observer.listVolumes({ filters }),
    ]);
    expect({ containers: containers.length, networks: networks.length, volumes: (volumes.Volumes ?? []).length }).toEqual({ containers: 0, networks: 0, volumes: 0 });
  });
});
