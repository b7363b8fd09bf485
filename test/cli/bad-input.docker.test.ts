/**
 * The `keelhaul` binary, black-box: bad input gets a clear error naming the file, field (and
 * line) or image, exit 2, and no container is created — proven by a label query on the real
 * daemon for the scenario's unique name.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Label } from '../../src/docker/index.js';

const bin = resolve('dist/src/cli/main.js');
const observer = new Dockerode();

function keelhaul(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Containers, networks and volumes the daemon has for a scenario name. */
async function resourcesOfScenario(name: string): Promise<number> {
  const filters = JSON.stringify({ label: [`${Label.scenario}=${name}`] });
  const [c, n, v] = await Promise.all([observer.listContainers({ all: true, filters }), observer.listNetworks({ filters }), observer.listVolumes({ filters })]);
  return c.length + n.length + (v.Volumes ?? []).length;
}

describe('keelhaul run: bad input (docker)', () => {
  let dir: string;
  let runsDir: string;
  const name = `bad-${randomUUID().slice(0, 8)}`;
  const valid = (extra: string): string => `name: ${name}\ntasks:\n  count: 1\n  steps:\n    - sleep: 10\n${extra}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keelhaul-bad-'));
    runsDir = join(dir, 'runs');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cases: { title: string; text: string; expectInStderr: RegExp[] }[] = [
    { title: 'not YAML', text: 'name: [unclosed\ntasks: {', expectInStderr: [/not valid YAML/, /:\d+:\d+/] },
    { title: 'a required field missing', text: `name: ${name}\n`, expectInStderr: [/tasks: is required/] },
    {
      title: 'an unknown fault kind',
      text: valid('faults:\n  - kind: explode\n    trigger: { at: 10 }\n'),
      expectInStderr: [/:7:\d+: faults\[0\]\.kind: unknown fault kind "explode"; expected one of: kill/],
    },
    {
      title: 'a negative count',
      text: `name: ${name}\ntasks:\n  count: -3\n  steps:\n    - sleep: 10\n`,
      expectInStderr: [/:3:\d+: tasks\.count/],
    },
  ];

  for (const c of cases) {
    it(`bad input: ${c.title} exits 2 naming the file and field, and creates nothing`, async () => {
      const file = join(dir, `${c.title.replace(/\W+/g, '-')}.yaml`);
      await writeFile(file, c.text);
      const r = keelhaul(['run', file, '--runs-dir', runsDir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(file);
      for (const pattern of c.expectInStderr) expect(r.stderr).toMatch(pattern);
      expect(await resourcesOfScenario(name)).toBe(0);
    });
  }

  it('bad input: a scenario file that does not exist exits 2 naming it', () => {
    const r = keelhaul(['run', join(dir, 'nope.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope\.yaml.*no such file/);
  });

  it('environment: an image that does not exist exits 3 naming the image, and creates nothing', async () => {
    const file = join(dir, 'missing-image.yaml');
    await writeFile(file, valid('image: keelhaul/does-not-exist:0.0.0\n'));
    const r = keelhaul(['run', file, '--runs-dir', runsDir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('keelhaul/does-not-exist:0.0.0');
    expect(r.stderr).toMatch(/does not exist/);
    expect(await resourcesOfScenario(name)).toBe(0);
  });

  it('environment: a daemon that does not answer exits 3 with what to do', async () => {
    const file = join(dir, 'no-daemon.yaml');
    await writeFile(file, valid(''));
    const r = keelhaul(['run', file, '--runs-dir', runsDir], { DOCKER_HOST: `unix://${join(dir, 'no.sock')}` });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/No Docker daemon answers at .*no\.sock/);
    expect(r.stderr).toMatch(/docker-up\.sh|DOCKER_HOST/);
  });

  it('bad input: --seed that is not a 32-bit integer exits 2 naming --seed', () => {
    const r = keelhaul(['run', 'chaos/smoke.yaml', '--seed', '-1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--seed/);
  });

  it('doctor: with a daemon and the image, reports both and exits 0', () => {
    const r = keelhaul(['doctor']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ok\s+docker daemon\s+Docker \S+ .*API/);
    expect(r.stdout).toMatch(/ok\s+worker image\s+keelhaul\/worker:/);
  });

  it('doctor: without a daemon, says what to do and exits 3', () => {
    const r = keelhaul(['doctor'], { DOCKER_HOST: `unix://${join(dir, 'no.sock')}` });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/MISS docker daemon/);
    expect(r.stdout).toMatch(/docker-up\.sh/);
  });

  it('--help on run explains the scenario argument, --seed and the exit codes', () => {
    const r = keelhaul(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--seed <n>/);
    expect(r.stdout).toMatch(/130\s+interrupted/);
  });
});

describe('keelhaul run chaos/nightly.yaml (docker)', () => {
  it('nightly: every fault kind over 24 tasks on the real daemon exits 0 with every check holding and leaves nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keelhaul-nightly-'));
    try {
      const r = keelhaul(['run', 'chaos/nightly.yaml', '--runs-dir', dir]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      for (const check of ['all-completed', 'exactly-once', 'faults-injected', 'killed-attempts-recover', 'disrupted-tasks-recover', 'expected-failures', 'no-leaks']) {
        expect(r.stdout).toMatch(new RegExp(`ok\\s+${check}:`));
      }
      const runId = /^run (\S+):/m.exec(r.stdout)?.[1];
      expect(runId).toBeDefined();
      const filters = JSON.stringify({ label: [`${Label.run}=${runId}`] });
      expect(await observer.listContainers({ all: true, filters })).toEqual([]);
      expect((await observer.listVolumes({ filters })).Volumes ?? []).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
