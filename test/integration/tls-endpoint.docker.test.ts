/**
 * keelhaul reaches a daemon the way a CI's Docker-in-Docker service is reached (issue 16,
 * item 7): a real private dockerd listening on `tcp://127.0.0.1:<free port>` with
 * `--tlsverify`, a CA, server and client certificates made here with `openssl` (SAN
 * IP:127.0.0.1). Through the built CLI (`dist/src/cli/main.js`):
 * - DOCKER_HOST + DOCKER_TLS_VERIFY + DOCKER_CERT_PATH: the smoke scenario passes and nothing
 *   labelled is left on that daemon (the reaper, a child process, reaches it too);
 * - without the client certificate: exit 3, an error naming the endpoint and what to do;
 * - a Docker context in a temporary DOCKER_CONFIG (meta.json and TLS store laid out as the
 *   docker CLI lays them out — the docker CLI itself is asked to reach the daemon through
 *   it): `keelhaul doctor --json` shows the endpoint, the context and TLS, and a run through
 *   the context passes with state.json naming the context;
 * - an unknown context: exit 3 naming it.
 *
 * Needs root, dockerd/containerd/ip/iptables, openssl, a static /bin/busybox and the docker
 * CLI; fails, never skips, without them. The worker image is built on the private daemon
 * (it starts empty; no registry). The daemon is removed in afterAll whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateDaemonPrerequisites, removePrivateDaemonRoot, startPrivateDaemon, type PrivateDaemon } from '../../src/daemon/index.js';
import { ANY_VALUE, contextId, Label, type DockerClient } from '../../src/docker/index.js';
import { buildWorkerImage } from '../../src/images/index.js';
import { requireTool } from '../setup/require-tool.js';

const bin = resolve('dist/src/cli/main.js');
const smoke = resolve('chaos/smoke.yaml');
const CONTEXT = 'kh-tls-test';

let dir: string;
let daemon: PrivateDaemon | undefined;
let rootDir: string | undefined;
let docker: DockerClient;
let port: number;
let tcpHost: string;
/** DOCKER_CERT_PATH with ca.pem, cert.pem, key.pem; and one with ca.pem alone. */
let certDir: string;
let caOnlyDir: string;

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The built CLI with an environment of its own: every Docker variable of this process is
 * dropped first, so only what the case sets decides the endpoint. Async (spawn) so the test's
 * event loop keeps running while the CLI works.
 */
function keelhaul(args: string[], env: Record<string, string>): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DOCKER_')));
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
    child.once('error', fail);
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

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

async function openssl(args: string[]): Promise<void> {
  await execa('openssl', args, { cwd: dir, timeout: 30_000 });
}

/** A key and a certificate signed by the test CA, with the given extensions. */
async function signed(name: string, subject: string, extensions: string): Promise<void> {
  await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', subject]);
  await writeFile(join(dir, `${name}.ext`), extensions);
  await openssl([
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca-key.pem',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}-cert.pem`,
    '-extfile',
    `${name}.ext`,
  ]);
}

/** Everything labelled by keelhaul on the private daemon (any run). */
async function labelledLeft(): Promise<number> {
  const labels = { [Label.run]: ANY_VALUE };
  const [c, n, v] = await Promise.all([docker.listContainers({ labels }), docker.listNetworks({ labels }), docker.listVolumes({ labels })]);
  return c.length + n.length + v.length;
}

/** The env of a CLI reaching the TLS daemon through DOCKER_HOST. */
function tlsEnv(certPath: string): Record<string, string> {
  return { DOCKER_HOST: tcpHost, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certPath, DOCKER_CONFIG: join(dir, 'empty-config') };
}

beforeAll(async () => {
  const prerequisites = await privateDaemonPrerequisites();
  if (!prerequisites.ok) throw new Error(`This test starts a private dockerd and needs: ${prerequisites.missing.join(', ')}`);
  requireTool('openssl', 'apt-get install -y openssl');
  requireTool('docker', 'apt-get install -y docker.io');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first`);
  dir = await mkdtemp(join(tmpdir(), 'kh-tls-'));
  await mkdir(join(dir, 'empty-config'));

  // A CA, a server certificate for 127.0.0.1 and a client certificate, as
  // https://docs.docker.com/engine/security/protect-access/ makes them (EC keys: faster).
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca-key.pem',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=keelhaul test CA',
  ]);
  await signed('server', '/CN=127.0.0.1', 'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n');
  await signed('client', '/CN=keelhaul-client', 'extendedKeyUsage = clientAuth\n');
  certDir = join(dir, 'client');
  caOnlyDir = join(dir, 'ca-only');
  await mkdir(certDir);
  await mkdir(caOnlyDir);
  await copyFile(join(dir, 'ca.pem'), join(certDir, 'ca.pem'));
  await copyFile(join(dir, 'client-cert.pem'), join(certDir, 'cert.pem'));
  await copyFile(join(dir, 'client-key.pem'), join(certDir, 'key.pem'));
  await copyFile(join(dir, 'ca.pem'), join(caOnlyDir, 'ca.pem'));

  port = await freePort();
  const name = `tls${randomBytes(3).toString('hex')}`;
  rootDir = join(tmpdir(), `keelhaul-dockerd-${name}`);
  daemon = await startPrivateDaemon({
    name,
    rootDir,
    tcp: { port, caFile: join(dir, 'ca.pem'), certFile: join(dir, 'server-cert.pem'), keyFile: join(dir, 'server-key.pem') },
  });
  tcpHost = daemon.tcpHost ?? '';
  expect(tcpHost).toBe(`tcp://127.0.0.1:${port}`);
  // The daemon's own unix socket, for building the image and for the leak queries: an
  // observer that does not depend on the code under test.
  docker = await daemon.connect();
  const started = Date.now();
  const image = await buildWorkerImage(docker);
  process.stderr.write(`tls-endpoint: worker image ${image.tag} built on the private daemon in ${Date.now() - started} ms\n`);
}, 300_000);

afterAll(async () => {
  try {
    if (daemon) await daemon.remove();
    else if (rootDir && existsSync(rootDir)) await removePrivateDaemonRoot(rootDir);
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}, 120_000);

describe('daemon endpoints: TLS over TCP (docker)', () => {
  it('DOCKER_HOST=tcp:// with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH: the smoke scenario passes and nothing labelled is left', async () => {
    const runsDir = join(dir, 'runs-env');
    const started = Date.now();
    const r = await keelhaul(['run', smoke, '--runs-dir', runsDir], tlsEnv(certDir));
    process.stderr.write(`tls-endpoint: smoke over TLS in ${Date.now() - started} ms\n`);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = JSON.parse(await readFile(join(await onlyRunDir(runsDir), 'report.json'), 'utf8')) as { daemon: { endpoint: string }; passed?: boolean };
    expect(report.daemon.endpoint).toBe(tcpHost);
    expect(await labelledLeft()).toBe(0);
  });

  it('without the client certificate: exit 3 and an error naming the endpoint and the missing certificate', async () => {
    const r = await keelhaul(['run', smoke, '--runs-dir', join(dir, 'runs-nocert')], tlsEnv(caOnlyDir));
    process.stderr.write(`tls-endpoint: without a client certificate the CLI says: ${r.stderr}`);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(3);
    expect(r.stderr).toContain(tcpHost);
    expect(r.stderr).toMatch(/requires a client certificate/);
    expect(r.stderr).toContain(`no cert.pem and key.pem in ${caOnlyDir}`);
    expect(r.stderr).toContain('DOCKER_HOST');

    const doctor = await keelhaul(['doctor', '--json'], tlsEnv(caOnlyDir));
    expect(doctor.code).toBe(3);
    const out = JSON.parse(doctor.stdout) as { ready: boolean; endpoint: { host: string; source: string; tls: { verify: boolean; certFile: string | null } } };
    expect(out.ready).toBe(false);
    expect(out.endpoint).toMatchObject({ host: tcpHost, source: 'env', tls: { verify: true, certFile: null } });
    expect(await labelledLeft()).toBe(0);
  });

  it('a missing ca.pem: exit 3 naming the file', async () => {
    const r = await keelhaul(['doctor'], tlsEnv(join(dir, 'nowhere')));
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(join(dir, 'nowhere', 'ca.pem'));
  });
});

describe('daemon endpoints: a Docker context (docker)', () => {
  let config: string;

  beforeAll(async () => {
    // The docker CLI's context store: contexts/meta/<sha256 of name>/meta.json and
    // contexts/tls/<sha256 of name>/docker/{ca,cert,key}.pem; config.json's currentContext.
    config = join(dir, 'docker-config');
    const id = contextId(CONTEXT);
    await mkdir(join(config, 'contexts', 'meta', id), { recursive: true });
    await mkdir(join(config, 'contexts', 'tls', id, 'docker'), { recursive: true });
    await writeFile(
      join(config, 'contexts', 'meta', id, 'meta.json'),
      JSON.stringify({ Name: CONTEXT, Metadata: { Description: 'keelhaul TLS test' }, Endpoints: { docker: { Host: tcpHost, SkipTLSVerify: false } } }),
    );
    for (const file of ['ca.pem', 'cert.pem', 'key.pem']) await copyFile(join(certDir, file), join(config, 'contexts', 'tls', id, 'docker', file));
    await writeFile(join(config, 'config.json'), JSON.stringify({ currentContext: CONTEXT }));
  });

  it('the docker CLI itself reaches the daemon through the context (the layout is the real one)', async () => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DOCKER_')));
    const { stdout } = await execa('docker', ['version', '--format', '{{.Server.Version}}'], { env: { ...base, DOCKER_CONFIG: config }, extendEnv: false, timeout: 30_000 });
    expect(stdout.trim()).toMatch(/^\d+\.\d+/);
  });

  it('keelhaul doctor --json with DOCKER_CONFIG: the endpoint, the context and TLS', async () => {
    const r = await keelhaul(['doctor', '--json'], { DOCKER_CONFIG: config });
    const out = JSON.parse(r.stdout) as {
      ready: boolean;
      endpoint: { host: string; source: string; context: string; via: string; tls: { verify: boolean; caFile: string; certFile: string } };
      findings: { name: string; ok: boolean; detail: string }[];
    };
    expect(out.endpoint).toMatchObject({ host: tcpHost, source: 'context', context: CONTEXT, tls: { verify: true } });
    expect(out.endpoint.via).toContain('currentContext');
    expect(out.endpoint.tls.certFile).toContain(join('contexts', 'tls', contextId(CONTEXT), 'docker', 'cert.pem'));
    const daemonFinding = out.findings.find((f) => f.name === 'docker daemon');
    expect(daemonFinding?.ok, JSON.stringify(out.findings)).toBe(true);
    expect(daemonFinding?.detail).toContain(tcpHost);
    expect(out.ready, JSON.stringify(out.findings)).toBe(true);
    expect(r.code).toBe(0);
  });

  it('DOCKER_CONTEXT wins over currentContext: an unknown one is exit 3, named', async () => {
    const r = await keelhaul(['doctor'], { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'no-such-context' });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('"no-such-context"');
    expect(r.stdout).toContain('DOCKER_CONTEXT');
  });

  it('a run through the context passes; state.json names the context for the reaper and resume', async () => {
    const runsDir = join(dir, 'runs-context');
    const r = await keelhaul(['run', smoke, '--runs-dir', runsDir], { DOCKER_CONFIG: config });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const state = JSON.parse(await readFile(join(await onlyRunDir(runsDir), 'state.json'), 'utf8')) as { daemonHost: string; daemonContext: string | null };
    expect(state).toMatchObject({ daemonHost: tcpHost, daemonContext: CONTEXT });
    expect(await labelledLeft()).toBe(0);
  });
});

describe('daemon endpoints: ssh:// through docker-modem (docker)', () => {
  let sshDir: string;
  let sshPort: number;
  const children: ChildProcess[] = [];
  let ending = false;
  let agentSock: string;
  let home: string;
  let otherHome: string;

  /** A long-running child of this test, ended in afterAll by its own pid. */
  function daemonChild(command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.once('exit', (code) => {
      if (!ending && code !== 0 && code !== null) process.stderr.write(`tls-endpoint: ${command} exited ${code}: ${err}\n`);
    });
    children.push(child);
    return child;
  }

  async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  beforeAll(async () => {
    const sshd = requireTool('sshd', 'apt-get install -y openssh-server');
    requireTool('ssh-agent', 'apt-get install -y openssh-client');
    sshDir = join(dir, 'ssh');
    await mkdir(sshDir);
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(sshDir, 'host_key')]);
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(sshDir, 'client_key')]);
    await copyFile(join(sshDir, 'client_key.pub'), join(sshDir, 'authorized_keys'));
    // HOME for the CLI: known_hosts with this sshd's key; another with a different key (a MITM's).
    const hostKey = (await readFile(join(sshDir, 'host_key.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
    home = join(sshDir, 'home');
    otherHome = join(sshDir, 'other-home');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(sshDir, 'other_key')]);
    const otherKey = (await readFile(join(sshDir, 'other_key.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
    await mkdir(join(home, '.ssh'), { recursive: true });
    await mkdir(join(otherHome, '.ssh'), { recursive: true });
    await mkdir(join(sshDir, 'empty-home'));
    sshPort = await freePort();
    await writeFile(join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${sshPort} ${hostKey}\n`);
    await writeFile(join(otherHome, '.ssh', 'known_hosts'), `[127.0.0.1]:${sshPort} ${otherKey}\n`);
    // A private sshd on the loopback only, its own keys and pidfile; `SetEnv` points the
    // remote `docker system dial-stdio` at the private daemon's unix socket.
    await writeFile(
      join(sshDir, 'sshd_config'),
      [
        `Port ${sshPort}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(sshDir, 'host_key')}`,
        `AuthorizedKeysFile ${join(sshDir, 'authorized_keys')}`,
        `PidFile ${join(sshDir, 'sshd.pid')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'StrictModes no',
        'UsePAM no',
        `SetEnv DOCKER_HOST=${daemon?.host ?? ''}`,
        '',
      ].join('\n'),
    );
    await mkdir('/run/sshd', { recursive: true });
    daemonChild(sshd, ['-D', '-e', '-f', join(sshDir, 'sshd_config')]);
    agentSock = join(sshDir, 'agent.sock');
    daemonChild('ssh-agent', ['-D', '-a', agentSock]);
    await waitFor(async () => existsSync(agentSock), 'ssh-agent');
    await execa('ssh-add', ['-q', join(sshDir, 'client_key')], { env: { SSH_AUTH_SOCK: agentSock } });
    await waitFor(
      () =>
        new Promise((done) => {
          const probe = createConnection(sshPort, '127.0.0.1');
          probe.once('connect', () => (probe.destroy(), done(true)));
          probe.once('error', () => done(false));
        }),
      'sshd',
    );
  });

  afterAll(() => {
    ending = true;
    for (const child of children) if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  });

  // docker-modem's ssh transport opens one ssh connection (and one remote `docker system
  // dial-stdio`) per HTTP request, with no keep-alive: measured here, the smoke scenario took
  // about 80 s and its kill fault found no running worker within 5 s of its trigger (every
  // task had already finished). So over ssh a scenario without timing-bound faults: it
  // proves launch, attach, events, the checks and cleanup through the transport.
  it('DOCKER_HOST=ssh://root@127.0.0.1:PORT with ssh-agent: doctor reaches the daemon and a run passes', async () => {
    const env = { DOCKER_HOST: `ssh://root@127.0.0.1:${sshPort}`, SSH_AUTH_SOCK: agentSock, DOCKER_CONFIG: join(dir, 'empty-config'), HOME: home };
    const doctor = await keelhaul(['doctor', '--json'], env);
    const out = JSON.parse(doctor.stdout) as { ready: boolean; endpoint: { host: string; source: string; tls: null }; findings: { name: string; ok: boolean }[] };
    expect(out.endpoint).toMatchObject({ host: `ssh://root@127.0.0.1:${sshPort}`, source: 'env', tls: null });
    expect(out.ready, JSON.stringify(out.findings)).toBe(true);

    const started = Date.now();
    const scenario = join(sshDir, 'ssh.yaml');
    await writeFile(
      scenario,
      [
        'name: over-ssh',
        'seed: 1',
        'image: keelhaul/worker:{version}',
        'network: none',
        'concurrency: 2',
        'timeoutMs: 150000',
        'tasks:',
        '  count: 2',
        '  steps:',
        '    - progress: 0.5',
        '    - sleep: 200',
        '    - progress: 1',
        '',
      ].join('\n'),
    );
    const r = await keelhaul(['run', scenario, '--runs-dir', join(dir, 'runs-ssh')], env);
    process.stderr.write(`tls-endpoint: run over ssh in ${Date.now() - started} ms\n`);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(await labelledLeft()).toBe(0);
  });

  it('without an agent: exit 3 naming the ssh endpoint', async () => {
    const r = await keelhaul(['doctor'], { DOCKER_HOST: `ssh://root@127.0.0.1:${sshPort}`, SSH_AUTH_SOCK: '', DOCKER_CONFIG: join(dir, 'empty-config'), HOME: home });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`ssh://root@127.0.0.1:${sshPort}`);
  });

  it('a host key known_hosts does not list (unknown, or another key): refused, exit 3', async () => {
    const env = { DOCKER_HOST: `ssh://root@127.0.0.1:${sshPort}`, SSH_AUTH_SOCK: agentSock, DOCKER_CONFIG: join(dir, 'empty-config') };
    const unknown = await keelhaul(['doctor'], { ...env, HOME: join(sshDir, 'empty-home') });
    expect(unknown.code).toBe(3);
    expect(unknown.stdout).toContain(`ssh-keyscan -p ${sshPort} 127.0.0.1`);
    const other = await keelhaul(['doctor', '--json'], { ...env, HOME: otherHome });
    expect(other.code).toBe(3);
    const out = JSON.parse(other.stdout) as { findings: { name: string; ok: boolean; detail: string }[] };
    expect(out.findings.find((f) => f.name === 'docker daemon')).toMatchObject({ ok: false });
  });
});

/** The one run directory under `runsDir`. */
async function onlyRunDir(runsDir: string): Promise<string> {
  const { readdir } = await import('node:fs/promises');
  const entries = (await readdir(runsDir, { withFileTypes: true })).filter((e) => e.isDirectory());
  expect(entries).toHaveLength(1);
  return join(runsDir, entries[0]!.name);
}
