/**
 * Compose in and out without a daemon: the subset is validated with errors naming
 * file:line:field, keys outside it and dangerous settings are refused unless opted into,
 * services come out in dependency order, and one attempt exports as Compose 2.4 data.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptToCompose, ComposeError, loadComposeFile, loadScenarioTopology } from '../../src/compose/index.js';
import { splitCommand } from '../../src/compose/load.js';
import { ScenarioError, validateScenario } from '../../src/scenario/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keelhaul-compose-unit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(text: string, allow = {}): Promise<Awaited<ReturnType<typeof loadComposeFile>>> {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yml`);
  await writeFile(file, text);
  return loadComposeFile(file, allow);
}

async function refusal(text: string, allow = {}): Promise<ComposeError> {
  const error = await load(text, allow).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ComposeError);
  return error as ComposeError;
}

const API = `services:\n  api:\n    image: keelhaul/worker:{version}\n`;

describe('compose: loading the subset', () => {
  it('compose: a file in the subset loads, services in dependency order, lists and maps normalised', async () => {
    const t = await load(`version: "2.4"
x-note: ignored
services:
  client:
    image: img
    command: sh -c 'echo "a b" && sleep 1'
    environment: [A=1, B=two=2]
    depends_on: { api: { condition: service_started } }
    networks: { back: { aliases: [c] } }
  api:
    image: img
    environment: { PORT: 8080, EMPTY: null }
    labels: [com.example.x=1]
    networks: [back]
    volumes: ["data:/data:ro", "./conf:/conf"]
    tmpfs: ["/run:size=1m,mode=1777"]
    mem_limit: 32m
    read_only: true
    cap_drop: [ALL]
    user: 1000
networks:
  back: { internal: true }
volumes:
  data:
`);
    expect(t.services.map((s) => s.name)).toEqual(['api', 'client']);
    const [api, client] = t.services;
    expect(client?.command).toEqual(['sh', '-c', 'echo "a b" && sleep 1']);
    expect(client?.environment).toEqual({ A: '1', B: 'two=2' });
    expect(client?.networks).toEqual([{ name: 'back', aliases: ['client', 'c'] }]);
    expect(api?.environment).toEqual({ PORT: '8080', EMPTY: '' });
    expect(api?.labels).toEqual({ 'com.example.x': '1' });
    expect(api?.mounts).toEqual([
      { type: 'volume', source: 'data', target: '/data', readOnly: true },
      { type: 'bind', source: join(dir, 'conf'), target: '/conf', readOnly: false },
      { type: 'tmpfs', target: '/run', sizeBytes: 1024 * 1024, mode: 0o1777 },
    ]);
    expect(api?.memoryBytes).toBe(32 * 1024 * 1024);
    expect(api?.user).toBe('1000');
    expect(t.networks).toEqual([{ name: 'back', internal: true, labels: {} }]);
    expect(t.volumes).toEqual([{ name: 'data', driverOpts: {}, labels: {} }]);
  });

  it('compose: a service without networks joins an implicit default network', async () => {
    const t = await load(API);
    expect(t.services[0]?.networks).toEqual([{ name: 'default', aliases: ['api'] }]);
    expect(t.networks).toEqual([{ name: 'default', internal: false, labels: {} }]);
  });

  it('compose: an unsupported service key is refused naming file:line:field and the supported keys', async () => {
    const e = await refusal(`services:\n  api:\n    image: img\n    build: .\n`);
    expect(e.issues[0]).toMatchObject({ field: 'services.api.build', line: 4 });
    expect(e.message).toMatch(/:4:5: services\.api\.build: unsupported Compose key "build"; keelhaul supports: image, entrypoint, command/);
  });

  it('compose: an unsupported top-level key and a bad value are refused with their lines', async () => {
    const e = await refusal(`services:\n  api:\n    image: img\n    mem_limit: lots\nconfigs: {}\n`);
    expect(e.issues.map((i) => `${i.line}:${i.field}`).sort()).toEqual(['4:services.api.mem_limit', '5:configs']);
  });

  it('compose: a Docker socket mount is refused without dangerouslyAllow.dockerSocket, accepted with it', async () => {
    const text = `${API}    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]\n`;
    const e = await refusal(text);
    expect(e.issues[0]).toMatchObject({ field: 'services.api.volumes[0]', line: 4 });
    expect(e.message).toMatch(/Docker socket.*dangerouslyAllow: \{ dockerSocket: true \}/);
    const t = await load(text, { dockerSocket: true });
    expect(t.services[0]?.mounts[0]).toMatchObject({ type: 'bind', source: '/var/run/docker.sock' });
  });

  it('compose: a directory holding the socket (/var/run, /run, /) is the socket too, as for worker mounts', async () => {
    for (const dir of ['/var/run', '/run', '/']) {
      const e = await refusal(`${API}    volumes: ["${dir}:/host:ro"]\n`);
      expect(e.issues[0], dir).toMatchObject({ field: 'services.api.volumes[0]', line: 4 });
    }
  });

  it('compose: network_mode host and privileged are refused without their opt-ins', async () => {
    const e = await refusal(`${API}    network_mode: host\n    privileged: true\n`);
    expect(e.issues.map((i) => i.field).sort()).toEqual(['services.api.network_mode', 'services.api.privileged']);
    expect(e.message).toMatch(/hostNetwork: true/);
    expect(e.message).toMatch(/privileged: true \}/);
    const t = await load(`${API}    network_mode: host\n    privileged: true\n`, { hostNetwork: true, privileged: true });
    expect(t.services[0]).toMatchObject({ networkMode: 'host', privileged: true, networks: [] });
  });

  it('compose: undeclared networks and volumes, unknown and cyclic depends_on, keelhaul labels are refused', async () => {
    const e = await refusal(`services:
  a:
    image: img
    networks: [nowhere]
    volumes: ["vol:/v"]
    depends_on: [b]
    labels: { dev.keelhaul.run: x }
  b:
    image: img
    depends_on: [a, ghost]
`);
    const fields = e.issues.map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['services.a.networks[0]', 'services.a.volumes[0]', 'services.a.labels', 'services.b.depends_on[1]']));
    expect(e.message).toMatch(/depends_on forms a cycle among a, b/);
  });

  it('compose: a shell-style command string splits into words; an unbalanced quote is refused', () => {
    expect(splitCommand(`httpd -f -p 8080 -h '/srv dir'`)).toEqual(['httpd', '-f', '-p', '8080', '-h', '/srv dir']);
    expect(splitCommand(`a"b c"d \\ e`)).toEqual(['ab cd', ' e']);
    expect(() => splitCommand(`echo 'open`)).toThrow(/unbalanced quote/);
  });
});

describe('compose: a scenario with a topology', () => {
  it('compose: a fault target.service must name a service; the worker network must be internal and declared', async () => {
    const file = join(dir, 'topo.yml');
    await writeFile(file, `services:\n  api: { image: img, networks: [open] }\nnetworks:\n  open: {}\n`);
    const scenario = validateScenario({
      name: 's',
      network: 'internal',
      topology: { file, workerNetwork: 'open' },
      tasks: { count: 1, steps: [{ sleep: 1 }] },
      faults: [{ kind: 'kill', trigger: { at: 1 }, target: { service: 'db' } }],
    });
    expect(scenario.faults[0]?.target.labels).toEqual({});
    const error = await loadScenarioTopology(scenario, 's.yaml').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScenarioError);
    const fields = (error as ScenarioError).issues.map((i) => i.field);
    expect(fields).toEqual(['faults[0].target.service', 'topology.workerNetwork']);
    expect((error as ScenarioError).message).toMatch(/not internal/);
  });

  it('compose: target.service without a topology is refused', async () => {
    const scenario = validateScenario({ name: 's', tasks: { count: 1, steps: [{ sleep: 1 }] }, faults: [{ kind: 'stop', trigger: { at: 1 }, target: { service: 'api' } }] });
    await expect(loadScenarioTopology(scenario)).rejects.toThrow(/no topology/);
  });
});

describe('compose: export of one attempt', () => {
  it('compose export: the attempt becomes a 2.4 service with its limits, hardening, escaped $ and an x-keelhaul note', () => {
    const text = attemptToCompose(
      {
        runId: 'r1',
        task: 't-01',
        attempt: 2,
        seed: 9,
        image: 'sha256:abc',
        env: { KEELHAUL_TASK: '{"steps":[{"write":{"content":"$HOME"}}]}' },
        labels: { 'dev.keelhaul.run': 'r1' },
        user: '1000:1000',
        network: 'none',
        workspacePath: '/workspace',
        workspaceSizeBytes: 4096,
        memoryBytes: 1024,
        pidsLimit: 64,
        cpus: 0.5,
        tmpfsBytes: 2048,
        original: { outcome: 'killed', exitCode: 137 },
      },
      undefined,
      '0.1.0',
    );
    const doc = parse(text) as {
      version: string;
      services: Record<string, { environment: Record<string, string> }>;
      volumes: Record<string, { driver_opts: unknown }>;
      'x-keelhaul': unknown;
    };
    expect(doc['version']).toBe('2.4');
    const svc = doc['services']['t-01-a2']!;
    expect(svc).toMatchObject({
      image: 'sha256:abc',
      user: '1000:1000',
      network_mode: 'none',
      read_only: true,
      cap_drop: ['ALL'],
      security_opt: ['no-new-privileges'],
      mem_limit: 1024,
      memswap_limit: 1024,
      pids_limit: 64,
      cpus: 0.5,
      volumes: ['workspace:/workspace'],
      tmpfs: ['/tmp:size=2048,mode=1777'],
    });
    expect(svc.environment.KEELHAUL_TASK).toContain('$$HOME');
    expect(doc['volumes']['workspace']!['driver_opts']).toMatchObject({ type: 'tmpfs', o: expect.stringContaining('size=4096') });
    expect(doc['x-keelhaul']).toMatchObject({ run: 'r1', task: 't-01', attempt: 2, seed: 9, outcome: 'killed', exitCode: 137 });
  });
});
