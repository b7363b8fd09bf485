/**
 * Images are pulled when missing (issue 16, item 6), from a real registry this test starts
 * itself: Debian's `docker-registry` (the distribution registry, v2 API) on a free
 * 127.0.0.1 port with its own config and storage directory — not the systemd service.
 * keelhaul's worker image is tagged and pushed there with the docker CLI (127.0.0.0/8
 * registries are insecure-allowed by default), the tag is removed from the daemon, and a
 * scenario naming it runs through the built CLI: `pull: missing` (the default) pulls it and
 * the run passes; `pull: never` refuses with exit 3. Registry credentials from config.json
 * are unit-tested (test/unit/registry-auth.test.ts); credential helpers are out of scope.
 *
 * Needs docker-registry (`apt-get install -y docker-registry`; `npm test` installs it) and
 * the docker CLI; fails, never skips, without them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerImageTag } from '../../src/images/index.js';
import { requireTool } from '../setup/require-tool.js';

const bin = resolve('dist/src/cli/main.js');
let dir: string;
let registry: ChildProcess | undefined;
let ref: string;

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const found = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(found));
    });
  });
}

function keelhaul(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, DOCKER_CONFIG: join(dir, 'docker-config') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

function scenario(name: string, pull: string): string {
  return [
    `name: ${name}`,
    'seed: 1',
    `image: ${ref}`,
    `pull: ${pull}`,
    'network: none',
    'concurrency: 2',
    'tasks:',
    '  count: 2',
    '  steps:',
    '    - progress: 0.5',
    '    - progress: 1',
    '',
  ].join('\n');
}

async function imageExists(image: string): Promise<boolean> {
  const r = await execa('docker', ['image', 'inspect', image], { reject: false });
  return r.exitCode === 0;
}

beforeAll(async () => {
  const registryBin = requireTool('docker-registry', 'apt-get install -y docker-registry');
  requireTool('docker', 'apt-get install -y docker.io');
  dir = await mkdtemp(join(tmpdir(), 'kh-pull-'));
  await mkdir(join(dir, 'storage'));
  await mkdir(join(dir, 'docker-config'));
  const port = await freePort();
  await writeFile(
    join(dir, 'registry.yml'),
    ['version: 0.1', 'log:', '  level: warn', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'storage')}`, 'http:', `  addr: 127.0.0.1:${port}`, ''].join('\n'),
  );
  // The registry logs every HEAD of a blob it does not have yet (a normal push) at error
  // level: its log goes to a file, quoted only when it does not come up.
  const log = await open(join(dir, 'registry.log'), 'a');
  registry = spawn(registryBin, ['serve', join(dir, 'registry.yml')], { stdio: ['ignore', log.fd, log.fd] });
  await log.close();
  const until = Date.now() + 15_000;
  for (;;) {
    const up = await new Promise<boolean>((done) => {
      const probe = createConnection(port, '127.0.0.1');
      probe.once('connect', () => (probe.destroy(), done(true)));
      probe.once('error', () => done(false));
    });
    if (up) break;
    if (Date.now() > until) throw new Error(`docker-registry did not listen on 127.0.0.1:${port} within 15 s: ${await readFile(join(dir, 'registry.log'), 'utf8')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  ref = `127.0.0.1:${port}/keelhaul-test/worker:${randomBytes(3).toString('hex')}`;
  const started = Date.now();
  await execa('docker', ['tag', workerImageTag(), ref]);
  await execa('docker', ['push', ref], { timeout: 120_000 });
  await execa('docker', ['rmi', ref]);
  process.stderr.write(`image-pull: pushed ${ref} in ${Date.now() - started} ms\n`);
}, 180_000);

afterAll(async () => {
  if (ref) await execa('docker', ['rmi', ref], { reject: false });
  if (registry?.pid !== undefined && registry.exitCode === null) process.kill(registry.pid, 'SIGTERM');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('image pulls from a registry (docker)', () => {
  it('pull: never with the image absent: exit 3, nothing pulled', async () => {
    const file = join(dir, 'never.yaml');
    await writeFile(file, scenario('pull-never', 'never'));
    const r = await keelhaul(['run', file, '--runs-dir', join(dir, 'runs')]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(ref);
    expect(await imageExists(ref)).toBe(false);
  });

  it('pull: missing (the default) pulls the absent image and the run passes', async () => {
    const file = join(dir, 'missing.yaml');
    await writeFile(file, scenario('pull-missing', 'missing'));
    const started = Date.now();
    const r = await keelhaul(['run', file, '--runs-dir', join(dir, 'runs')]);
    process.stderr.write(`image-pull: run with the pull in ${Date.now() - started} ms\n`);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(await imageExists(ref)).toBe(true);
  });
});
