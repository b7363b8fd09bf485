/**
 * A private dockerd beside the machine's main daemon (src/daemon/): started, used, stopped,
 * killed with live-restore off and on, restarted, and removed without a trace — while the
 * main daemon on /var/run/docker.sock keeps answering and `docker0` stays.
 *
 * Needs root, dockerd/containerd/ip/iptables on PATH, a static /bin/busybox and the docker
 * CLI (for independent inspection); it fails, never skips, without them. No registry: the
 * image is built FROM scratch on the private daemon.
 *
 * The durations it measures (start, stop with a running container, start after a kill with
 * live-restore off/on) are printed on stderr at the end.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachExternalDaemon, DaemonControlError, DaemonStartError, privateDaemonPrerequisites, startPrivateDaemon, type PrivateDaemon } from '../../src/daemon/index.js';
import { DaemonUnavailableError, Label, type ContainerSpec, type DockerClient } from '../../src/docker/index.js';

const testId = `test-private-daemon-${randomUUID().slice(0, 8)}`;
const runLabels = { [Label.run]: testId };
const MAIN_DAEMON = 'unix:///var/run/docker.sock';
const image = `keelhaul-test/busybox:${testId.slice(-8)}`;

/** Durations measured along the way, in ms; printed at the end. */
const timings: Record<string, number> = {};

/** What the leak check needs to know of each daemon started here, kept after it is removed. */
interface Started {
  readonly name: string;
  readonly rootDir: string;
  readonly bridge: string;
}
const startedDaemons: Started[] = [];
const handles: PrivateDaemon[] = [];
/** User networks' bridges (`br-…`) made on private daemons. */
const userBridges: string[] = [];

function shortName(): string {
  return `t${randomBytes(4).toString('hex')}`;
}

async function start(options: Parameters<typeof startPrivateDaemon>[0]): Promise<PrivateDaemon> {
  const daemon = await startPrivateDaemon(options);
  handles.push(daemon);
  startedDaemons.push({ name: daemon.name, rootDir: daemon.rootDir, bridge: daemon.bridge });
  return daemon;
}

/** A busybox container of this test on `networkMode`, running `cmd`. */
function spec(name: string, cmd: string[], networkMode = 'bridge'): ContainerSpec {
  return {
    name: `${testId}-${name}`,
    image,
    labels: { ...runLabels, [Label.role]: 'probe' },
    env: {},
    cmd,
    networkMode,
    mounts: [],
    readonlyRootfs: false,
    capDrop: [],
    securityOpt: [],
  };
}

/** Creates, attaches, starts and waits for a container; returns its exit code and output. */
async function runToEnd(client: DockerClient, container: ContainerSpec): Promise<{ exitCode: number; output: string }> {
  const id = await client.createContainer(container);
  const { stdout, stderr } = await client.attachContainer(id);
  const chunks: string[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  stderr.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  await client.startContainer(id);
  const { exitCode } = await client.waitContainer(id);
  return { exitCode, output: chunks.join('') };
}

/** Starts a long-running container and returns its id. */
async function runDetached(client: DockerClient, container: ContainerSpec): Promise<string> {
  const id = await client.createContainer(container);
  await client.startContainer(id);
  return id;
}

/** The docker CLI against `host`, bounded: a restoring daemon accepts but does not answer. */
async function dockerCli(host: string, args: string[]): Promise<string> {
  const { stdout } = await execa('docker', ['-H', host, ...args], { timeout: 15_000 });
  return stdout.trim();
}

async function containerIp(daemon: PrivateDaemon, id: string): Promise<string> {
  const ip = await dockerCli(daemon.host, ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', id]);
  expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  return ip;
}

/** True while `pid` exists and is not a zombie. */
async function processAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Every live process whose command line names a path under `root`. */
async function processesUnder(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.replace(/\0/g, ' ').includes(`${root}/`) && (await processAlive(Number(entry)))) {
      found.push(`${entry}: ${cmdline.replace(/\0/g, ' ').slice(0, 120)}`);
    }
  }
  return found;
}

async function linkNames(): Promise<string[]> {
  const { stdout } = await execa('ip', ['-o', 'link', 'show']);
  return stdout
    .split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** What a daemon left on the host; empty when nothing. Inspected independently of src/daemon. */
async function leftoversOf(daemon: Started): Promise<string[]> {
  const problems: string[] = [];
  const links = await linkNames();
  if (links.includes(daemon.bridge)) problems.push(`bridge ${daemon.bridge} still exists`);
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of mountinfo.split('\n')) {
    const point = line.split(' ')[4];
    if (point !== undefined && (point === daemon.rootDir || point.startsWith(`${daemon.rootDir}/`))) {
      problems.push(`still mounted: ${point}`);
    }
  }
  for (const p of await processesUnder(daemon.rootDir)) problems.push(`process left: ${p}`);
  if (existsSync(daemon.rootDir)) problems.push(`root dir ${daemon.rootDir} still exists`);
  const { stdout: rules } = await execa('iptables', ['-w', '-S', 'FORWARD']);
  if (rules.includes(`-i ${daemon.bridge} `)) problems.push(`FORWARD rule for ${daemon.bridge} still there`);
  return problems;
}

async function userBridgeLeftovers(): Promise<string[]> {
  const links = await linkNames();
  const { stdout: rules } = await execa('iptables', ['-w', '-S', 'FORWARD']);
  return userBridges.flatMap((bridge) => [
    ...(links.includes(bridge) ? [`user network bridge ${bridge} still exists`] : []),
    ...(rules.includes(`-i ${bridge} `) ? [`FORWARD rule for ${bridge} still there`] : []),
  ]);
}

/** The main daemon answers `docker info` and docker0 exists. Throws otherwise. */
async function assertMainDaemonIntact(): Promise<void> {
  const version = await dockerCli(MAIN_DAEMON, ['info', '--format', '{{.ServerVersion}}']);
  expect(version).not.toBe('');
  await execa('ip', ['link', 'show', 'docker0']);
}

describe('private daemon (docker)', () => {
  // A failed precondition is recorded and thrown by every test, so each is reported as
  // failed (a throwing beforeAll would leave them marked "skipped").
  let setupError: Error | undefined;
  const requireSetup = (): void => {
    if (setupError) throw setupError;
  };
  let daemon: PrivateDaemon;
  let client: DockerClient;
  let contextDir: string | undefined;

  beforeAll(async () => {
    try {
      const prerequisites = await privateDaemonPrerequisites();
      if (!prerequisites.ok) throw new Error(`missing: ${prerequisites.missing.join(', ')}`);
      if (!existsSync('/bin/busybox')) throw new Error('missing: /bin/busybox (apt-get install busybox-static)');
      await assertMainDaemonIntact();
      const t0 = performance.now();
      daemon = await start({ name: shortName() });
      timings['start (first, live-restore off)'] = Math.round(performance.now() - t0);
      client = await daemon.connect();
    } catch (error) {
      setupError = new Error(
        `This test needs root, dockerd, containerd, ip, iptables, a static /bin/busybox, the docker CLI and a main daemon on ${MAIN_DAEMON}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  });

  afterAll(async () => {
    const failures: unknown[] = [];
    for (const handle of handles) await handle.remove().catch((error: unknown) => failures.push(error));
    if (contextDir) await rm(contextDir, { recursive: true, force: true });
    process.stderr.write(`private daemon timings (ms): ${JSON.stringify(timings)}\n`);
    const leftovers = [...(await Promise.all(startedDaemons.map(leftoversOf))).flat(), ...(await userBridgeLeftovers())];
    if (failures.length > 0 || leftovers.length > 0) {
      throw new Error(`private daemon cleanup failed: ${[...failures.map(String), ...leftovers].join('; ')}`);
    }
  });

  it('start: a private daemon answers on its own socket, with its own bridge, and never with --bridge=none or iptables on', async () => {
    requireSetup();
    const version = await client.version();
    expect(version.apiVersion).toMatch(/^1\.\d+$/);
    expect(client.endpoint).toBe(daemon.socketPath);
    expect(daemon.host).toBe(`unix://${daemon.rootDir}/docker.sock`);
    expect(daemon.canControl).toBe(true);
    expect(daemon.isRunning()).toBe(true);
    expect(daemon.liveRestore).toBe(false);
    expect(daemon.bridge).toBe(`kh-${daemon.name}`);
    expect(daemon.bridge.length).toBeLessThanOrEqual(15);
    expect(daemon.subnet).toMatch(/^10\.212\.\d+\.0\/24$/);

    const { stdout: addr } = await execa('ip', ['-o', '-4', 'addr', 'show', 'dev', daemon.bridge]);
    expect(addr).toContain(`${daemon.gateway}/24`);
    const cmdline = (await readFile(`/proc/${String(daemon.pid)}/cmdline`, 'utf8')).split('\0');
    expect(cmdline).toEqual(expect.arrayContaining(['--iptables=false', '--ip-masq=false', `--bridge=${daemon.bridge}`]));
    expect(cmdline).not.toContain('--bridge=none');
    expect(cmdline.some((arg) => arg.startsWith('--default-address-pool'))).toBe(false);
    expect(JSON.parse(await readFile(join(daemon.rootDir, 'daemon.json'), 'utf8'))).toEqual({ 'live-restore': false });
    expect(await dockerCli(daemon.host, ['info', '--format', '{{.DockerRootDir}}'])).toBe(join(daemon.rootDir, 'data'));
    await assertMainDaemonIntact();
  });

  it('containers: a busybox image built on the private daemon runs a labelled container there, not on the main daemon', async () => {
    requireSetup();
    contextDir = await mkdtemp(join(tmpdir(), 'keelhaul-busybox-'));
    await symlink('/bin/busybox', join(contextDir, 'busybox'));
    await writeFile(join(contextDir, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\nENV PATH=/bin\n');
    const t0 = performance.now();
    const { imageId } = await client.buildImage({ contextDir, dockerfile: 'Dockerfile', tag: image, labels: runLabels });
    timings['busybox image build'] = Math.round(performance.now() - t0);
    expect(imageId).toMatch(/^sha256:/);

    const result = await runToEnd(client, spec('hello', ['sh', '-c', 'echo hello from $(hostname); exit 7']));
    expect(result.exitCode, result.output).toBe(7);
    expect(result.output).toContain('hello from');
    const rows = await client.listContainers({ labels: runLabels });
    expect(rows.map((r) => r.names[0])).toContain(`/${testId}-hello`);

    const main = await attachExternalDaemon(MAIN_DAEMON).connect();
    expect(await main.inspectImage(image)).toBeUndefined();
    expect(await main.listContainers({ labels: runLabels })).toEqual([]);
  });

  it('network: two containers on the daemon’s bridge ping each other (its FORWARD rule), and so do two on a user network once allowed', async () => {
    requireSetup();
    const server = await runDetached(client, spec('ping-server', ['sleep', '300']));
    const serverIp = await containerIp(daemon, server);
    expect(serverIp.startsWith(`${daemon.subnet.replace(/\.0\/24$/, '')}.`)).toBe(true);
    const onBridge = await runToEnd(client, spec('ping-client', ['ping', '-c', '1', '-W', '3', serverIp]));
    expect(onBridge.exitCode, onBridge.output).toBe(0);

    // A user network gets its own bridge, br-<id>; with iptables off and FORWARD DROP its
    // containers cannot talk until allowNetworkTraffic adds that bridge's rule.
    const network = await client.createNetwork({ name: `${testId}-net`, labels: runLabels, internal: false });
    const bridge = await daemon.allowNetworkTraffic(network);
    userBridges.push(bridge);
    expect(bridge).toBe(`br-${network.slice(0, 12)}`);
    const peer = await runDetached(client, spec('net-server', ['sleep', '300'], `${testId}-net`));
    const peerIp = await containerIp(daemon, peer);
    const onNetwork = await runToEnd(client, spec('net-client', ['ping', '-c', '1', '-W', '3', peerIp], `${testId}-net`));
    expect(onNetwork.exitCode, onNetwork.output).toBe(0);

    for (const id of [server, peer]) await client.removeContainer(id, { force: true });
  });

  it('stop(): clients get DaemonUnavailableError (ENOENT, socket gone) until start() brings the daemon back with labels intact', async () => {
    requireSetup();
    // `sleep` as pid 1 ignores SIGTERM: dockerd waits the container's 10 s stop timeout
    // and SIGKILLs it — the slow case DOCKER-NOTES measured at about 13.5 s.
    const id = await runDetached(client, spec('stopped', ['sleep', '300']));
    const pidBefore = daemon.pid;
    const stop = await daemon.stop();
    timings['stop with a running container (live-restore off)'] = stop.durationMs;
    expect(stop.forced).toBe(false);
    expect(daemon.isRunning()).toBe(false);
    expect(daemon.pid).toBeUndefined();
    expect(existsSync(daemon.socketPath)).toBe(false);

    const down = await client.ping({ timeoutMs: 2000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(down).toBeInstanceOf(DaemonUnavailableError);
    expect((down as DaemonUnavailableError).code).toBe('ENOENT');
    await expect(daemon.stop()).resolves.toMatchObject({ noop: true });

    const start = await daemon.start();
    timings['start after stop'] = start.durationMs;
    expect(daemon.pid).not.toBe(pidBefore);
    client = await daemon.connect();
    const info = await client.inspectContainer(id);
    expect(info.state.running).toBe(false);
    expect(info.labels).toMatchObject({ ...runLabels, [Label.role]: 'probe' });
    expect((await client.listContainers({ labels: runLabels })).map((r) => r.id)).toContain(id);
    await client.removeContainer(id, { force: true });
  });

  it('kill() with live-restore off: the socket goes stale (ECONNREFUSED), the container survives until start() stops it', async () => {
    requireSetup();
    const id = await runDetached(client, spec('killed-off', ['sleep', '300']));
    const containerPid = (await client.inspectContainer(id)).state.pid;
    const kill = await daemon.kill();
    expect(kill.noop).toBe(false);
    expect(daemon.isRunning()).toBe(false);
    expect(existsSync(daemon.socketPath)).toBe(true);
    const down = await client.ping({ timeoutMs: 2000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(down).toBeInstanceOf(DaemonUnavailableError);
    expect((down as DaemonUnavailableError).code).toBe('ECONNREFUSED');
    expect(await processAlive(containerPid)).toBe(true);

    const start = await daemon.start();
    timings['start after kill (live-restore off)'] = start.durationMs;
    client = await daemon.connect();
    const info = await client.inspectContainer(id);
    expect(info.state.running).toBe(false);
    expect(await processAlive(containerPid)).toBe(false);
    await client.removeContainer(id, { force: true });
  });

  it('live-restore on (set by SIGHUP): a running container keeps its pid through stop() and kill(), each followed by start()', async () => {
    requireSetup();
    const pidBefore = daemon.pid;
    await daemon.setLiveRestore(true);
    expect(daemon.pid).toBe(pidBefore);
    expect(daemon.liveRestore).toBe(true);
    expect(await dockerCli(daemon.host, ['info', '--format', '{{.LiveRestoreEnabled}}'])).toBe('true');

    const id = await runDetached(client, spec('live-restored', ['sleep', '300']));
    const before = await client.inspectContainer(id);
    expect(before.state.running).toBe(true);

    // SIGTERM to a daemon that took live-restore from the reload, not from its start.
    const stop = await daemon.stop();
    timings['stop with a running container (live-restore on)'] = stop.durationMs;
    expect(await processAlive(before.state.pid)).toBe(true);
    const startAfterStop = await daemon.start();
    timings['start after stop (live-restore on)'] = startAfterStop.durationMs;
    // The client made before the stop works again: it holds no connection across requests.
    expect((await client.inspectContainer(id)).state.pid).toBe(before.state.pid);

    await daemon.kill();
    expect(await processAlive(before.state.pid)).toBe(true);
    const start = await daemon.start();
    timings['start after kill (live-restore on)'] = start.durationMs;
    const after = await client.inspectContainer(id);
    expect(after.state.running).toBe(true);
    expect(after.state.pid).toBe(before.state.pid);
    expect(after.labels).toMatchObject(runLabels);
  });

  it('attachExternalDaemon: connects to the main daemon and refuses to stop, kill or restart it', async () => {
    requireSetup();
    const main = attachExternalDaemon(MAIN_DAEMON);
    expect(main.canControl).toBe(false);
    expect(main.socketPath).toBe('/var/run/docker.sock');
    await expect((await main.connect()).version()).resolves.toMatchObject({ os: 'linux' });
    for (const action of [() => main.stop(), () => main.kill(), () => main.restart(), () => main.start()]) {
      const error = await action().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DaemonControlError);
      expect((error as DaemonControlError).reason).toBe('not-controllable');
      expect((error as DaemonControlError).message).toContain('keelhaul never stops a daemon it did not start');
    }
    await assertMainDaemonIntact();
  });

  it('start failures: a missing dockerd is named, and a start that times out part-way leaves nothing behind', async () => {
    requireSetup();
    const missing = await startPrivateDaemon({ name: shortName(), dockerd: '/nonexistent/dockerd' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(missing).toBeInstanceOf(DaemonStartError);
    expect((missing as DaemonStartError).reason).toBe('missing-command');
    expect((missing as DaemonStartError).missing).toContain('/nonexistent/dockerd');
    expect(existsSync((missing as DaemonStartError).rootDir ?? '/nonexistent')).toBe(false);

    const name = shortName();
    const rootDir = join(tmpdir(), `keelhaul-dockerd-${name}`);
    startedDaemons.push({ name, rootDir, bridge: `kh-${name}` });
    const timedOut = await startPrivateDaemon({ name, readyTimeoutMs: 1 }).then(
      (d) => {
        handles.push(d);
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(timedOut).toBeInstanceOf(DaemonStartError);
    expect((timedOut as DaemonStartError).reason).toBe('timeout');
    expect((timedOut as DaemonStartError).timedOut).toBe(true);
    expect((timedOut as DaemonStartError).cleanupError).toBeUndefined();
    expect((timedOut as DaemonStartError).socketPath).toBe(join(rootDir, 'docker.sock'));
    expect(await leftoversOf({ name, rootDir, bridge: `kh-${name}` })).toEqual([]);
  });

  it('remove(): removes containers (live-restore on), user networks and their bridges, rules, mounts and the root dir; a second remove() does nothing', async () => {
    requireSetup();
    // Leave things behind on purpose: a running container and a user network with its bridge.
    await runDetached(client, spec('left-running', ['sleep', '300']));
    const network = await client.createNetwork({ name: `${testId}-net2`, labels: runLabels, internal: false });
    const bridge = await daemon.allowNetworkTraffic(network);
    userBridges.push(bridge);
    expect(await linkNames()).toContain(bridge);

    const t0 = performance.now();
    await daemon.remove();
    timings['remove (one running container, live-restore on)'] = Math.round(performance.now() - t0);
    await expect(daemon.remove()).resolves.toBeUndefined();
    expect(daemon.isRunning()).toBe(false);
    await expect(daemon.start()).rejects.toMatchObject({ name: 'DaemonControlError', reason: 'removed' });

    const started = startedDaemons.find((d) => d.rootDir === daemon.rootDir);
    expect(started).toBeDefined();
    expect(await leftoversOf(started as Started)).toEqual([]);
    expect(await userBridgeLeftovers()).toEqual([]);
  });

  it('remove() after kill() with live-restore on: the surviving container, its shim, its user network bridge and mounts are cleaned up without the daemon', async () => {
    requireSetup();
    const killed = await start({ name: shortName(), liveRestore: true });
    expect(JSON.parse(await readFile(join(killed.rootDir, 'daemon.json'), 'utf8'))).toEqual({ 'live-restore': true });
    const killedClient = await killed.connect();
    await killedClient.buildImage({ contextDir: contextDir ?? '/nonexistent', dockerfile: 'Dockerfile', tag: image, labels: runLabels });
    const network = await killedClient.createNetwork({ name: `${testId}-net3`, labels: runLabels, internal: false });
    userBridges.push(await killed.allowNetworkTraffic(network));
    const id = await runDetached(killedClient, spec('orphan', ['sleep', '300'], `${testId}-net3`));
    const containerPid = (await killedClient.inspectContainer(id)).state.pid;
    await killed.kill();
    expect(await processAlive(containerPid)).toBe(true);
    expect((await processesUnder(killed.rootDir)).length).toBeGreaterThan(0);

    const t0 = performance.now();
    await killed.remove();
    timings['remove after kill (live-restore on, one orphan container)'] = Math.round(performance.now() - t0);
    expect(await processAlive(containerPid)).toBe(false);
    expect(await leftoversOf(killed)).toEqual([]);
    expect(await userBridgeLeftovers()).toEqual([]);
  });

  it('leaves nothing behind: no kh- bridge, mount or dockerd of its daemons, and the main daemon still answers with docker0 in place', async () => {
    requireSetup();
    for (const handle of handles) await handle.remove();
    for (const started of startedDaemons) expect(await leftoversOf(started)).toEqual([]);
    const ours = new Set(startedDaemons.map((d) => d.bridge));
    expect((await linkNames()).filter((name) => ours.has(name))).toEqual([]);
    await assertMainDaemonIntact();
  });
});
