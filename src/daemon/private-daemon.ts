/**
 * A private `dockerd` that faults may stop, kill and restart, beside the machine's main
 * daemon and without disturbing it. Every rule here comes from DOCKER-NOTES.md ("A private
 * second daemon", "Daemon stop and kill"), measured on Debian 12 with docker.io 20.10:
 *
 * - its own socket, data-root, exec-root, pidfile and config file: the exec-root, pidfile
 *   and config file must differ from the main daemon's;
 * - `--iptables=false`: with iptables on, a second daemon rewrites the DOCKER chains the
 *   main daemon relies on; `--ip-masq=false` goes with it;
 * - its own bridge `kh-<name>` with a 10.212.N.0/24 address, made here before dockerd starts
 *   (`--bridge`; `--bip` would be mutually exclusive with it). NEVER `--bridge=none` and no
 *   `--default-address-pool`: either makes dockerd 20.10 delete the host's `docker0`;
 * - one FORWARD rule per bridge, since with the FORWARD policy DROP and iptables off its
 *   containers cannot talk to each other otherwise.
 *
 * Layout of the root directory (default `<os.tmpdir()>/keelhaul-dockerd-<name>`):
 * `docker.sock`, `docker.pid`, `daemon.json`, `dockerd.log`, `data/`, `exec/`, and
 * `keelhaul-daemon.json` (what was created on the host, so remove() can undo it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, realpath, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectDocker, type DockerClient } from '../docker/index.js';
import { DaemonCleanupError, DaemonControlError, DaemonStartError, type CleanupFailure } from './errors.js';
import type { DaemonConnectOptions, DaemonHandle, DaemonTransition, StopOptions } from './handle.js';
import {
  fileSize,
  findFreeSubnetIndex,
  findOnPath,
  insertForwardRule,
  isAlive,
  linkExists,
  readCmdline,
  readFrom,
  REQUIRED_COMMANDS,
  run,
  signalProcess,
  subnetConflict,
  subnetOf,
  succeeds,
  tailFile,
  waitGone,
} from './host.js';
import { DEFAULT_STOP_TIMEOUT_MS, KILL_WAIT_MS, pathsOf, STATE_FILE, STATE_FORMAT, TIMED_OUT, withTimeout, type DaemonState, type Paths } from './layout.js';
import { writeFileAtomic } from '../atomic-file.js';
import { resolveOptions, type PrivateDaemonOptions, type ResolvedPrivateDaemonOptions } from './options.js';
import { purgeThroughApi, teardownRoot } from './teardown.js';

export { DEFAULT_STOP_TIMEOUT_MS, STATE_FILE } from './layout.js';

/** Upper bound of one readiness ping, in ms: a restoring daemon accepts but does not answer. */
const READY_PING_TIMEOUT_MS = 1_000;
/** How long stop() and kill() wait for dockerd's containerd to exit after dockerd did, in ms. */
const CONTAINERD_WAIT_MS = 5_000;
/** How long setLiveRestore waits for dockerd to log the reload after SIGHUP, in ms. */
const RELOAD_TIMEOUT_MS = 5_000;

/** Subnet indexes taken by daemons of this process (the host check cannot see a bridge being made). */
const reservedSubnets = new Set<number>();

/** Token that keeps `new PrivateDaemon()` inside this module: use {@link startPrivateDaemon}. */
const CONSTRUCT = Symbol('PrivateDaemon');

interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

/** `options.timeoutMs`, validated, or the default. */
function stopTimeout(options: StopOptions): number {
  const timeoutMs = options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError(`Expected \`timeoutMs\` to be a number of ms > 0, got \`${String(timeoutMs)}\` (${typeof timeoutMs})`);
  }
  return timeoutMs;
}

function daemonJson(liveRestore: boolean): string {
  return `${JSON.stringify({ 'live-restore': liveRestore }, null, 2)}\n`;
}

/**
 * A private dockerd that keelhaul started and may stop, kill, restart and remove. Made by
 * {@link startPrivateDaemon}; remove it with {@link PrivateDaemon.remove} (or `await using`).
 *
 * Operations are serialised: a stop issued while a start is in progress waits for it.
 */
export class PrivateDaemon implements DaemonHandle {
  /** Always true: keelhaul started this daemon, so faults may stop, kill and restart it. */
  readonly canControl = true as const;
  readonly #options: ResolvedPrivateDaemonOptions;
  readonly #paths: Paths;
  readonly #state: DaemonState;
  readonly #dockerdPath: string;
  #child: ChildProcess | undefined;
  #exited: Promise<ExitInfo> | undefined;
  #liveRestore: boolean;
  /** remove() was called: the daemon can no longer be started. */
  #removed = false;
  /** remove() completed every step: further calls return at once. */
  #cleanedUp = false;
  #queue: Promise<unknown> = Promise.resolve();
  /** The bridge, its address and its FORWARD rule exist (made by the first start). */
  #networkReady = false;

  /** Not for callers: use {@link startPrivateDaemon} (the token refuses any other caller). */
  constructor(token: symbol, init: { options: ResolvedPrivateDaemonOptions; root: string; dockerdPath: string; state: DaemonState }) {
    if (token !== CONSTRUCT) throw new TypeError('Use startPrivateDaemon() to make a PrivateDaemon');
    this.#options = init.options;
    this.#paths = pathsOf(init.root);
    this.#state = init.state;
    this.#dockerdPath = init.dockerdPath;
    this.#liveRestore = init.options.liveRestore;
  }

  /** The short id given as `name` (used in the root dir and the bridge name). */
  get name(): string {
    return this.#options.name;
  }

  /** The root directory, resolved (symlinks followed): it holds everything of this daemon. */
  get rootDir(): string {
    return this.#paths.root;
  }

  /** `<rootDir>/docker.sock`. */
  get socketPath(): string {
    return this.#paths.socket;
  }

  /** `unix://<rootDir>/docker.sock`, for `connectDocker({host})` or `DOCKER_HOST`. */
  get host(): string {
    return `unix://${this.#paths.socket}`;
  }

  /** `tcp://127.0.0.1:<port>` when started with the `tcp` option (TLS-verified), else undefined. */
  get tcpHost(): string | undefined {
    return this.#options.tcp ? `tcp://127.0.0.1:${this.#options.tcp.port}` : undefined;
  }

  /** `<rootDir>/dockerd.log`: dockerd's stdout and stderr, appended across restarts. */
  get logPath(): string {
    return this.#paths.log;
  }

  /** The daemon's default bridge, `kh-<name>`. */
  get bridge(): string {
    return this.#state.bridge;
  }

  /** The bridge's subnet, `10.212.N.0/24`. */
  get subnet(): string {
    return subnetOf(this.#state.subnetIndex ?? 0).subnet;
  }

  /** The bridge's address and the containers' gateway, `10.212.N.1`. */
  get gateway(): string {
    return subnetOf(this.#state.subnetIndex ?? 0).gateway;
  }

  /** The pid of the running dockerd; `undefined` while it is stopped or killed. */
  get pid(): number | undefined {
    return this.isRunning() ? this.#child?.pid : undefined;
  }

  /** The live-restore setting in daemon.json (in effect once the daemon has (re)loaded it). */
  get liveRestore(): boolean {
    return this.#liveRestore;
  }

  /** Whether dockerd's process is alive (it may still be restoring and not answer yet). */
  isRunning(): boolean {
    const child = this.#child;
    return child !== undefined && child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /**
   * A Docker client for this daemon. While it is stopped the client fails with
   * `DaemonUnavailableError` (`code` ENOENT after a stop: the socket is gone; ECONNREFUSED
   * after a kill: the socket is stale — DOCKER-NOTES.md).
   */
  connect(options: DaemonConnectOptions = {}): Promise<DockerClient> {
    return connectDocker({ host: this.host, ...(options.pingTimeoutMs !== undefined ? { pingTimeoutMs: options.pingTimeoutMs } : {}) });
  }

  /**
   * Starts dockerd again (after stop() or kill()) with the same directories, and waits until
   * it answers a ping. A start of a running daemon does nothing (`noop: true`).
   *
   * How long it takes depends on what the daemon finds (DOCKER-NOTES.md): about 0.2–0.5 s
   * normally and with live-restore on; after a SIGKILL with live-restore off it first stops
   * the containers that survived (SIGTERM, 10 s, SIGKILL), so about 11 s when one ignores
   * SIGTERM. The wait is bounded by `readyTimeoutMs`.
   *
   * @throws {DaemonStartError} when dockerd exits before answering (`reason: 'exited'`, with
   *   the log tail) or does not answer in time (`reason: 'timeout'`; the process is left
   *   running — isRunning() says so — for the caller to wait longer, kill() or remove()).
   * @throws {DaemonControlError} after remove() (`reason: 'removed'`).
   */
  start(): Promise<DaemonTransition> {
    return this.#exclusive(() => this.#start());
  }

  /**
   * SIGTERM, then waits for dockerd to exit; after `timeoutMs` (default 30 s) SIGKILL.
   * With live-restore off dockerd stops every container first, which takes about 13.5 s
   * when one ignores SIGTERM; with live-restore on containers keep running with the same
   * pids (DOCKER-NOTES.md). Afterwards the socket is gone: clients get ENOENT.
   */
  stop(options: StopOptions = {}): Promise<DaemonTransition> {
    const timeoutMs = stopTimeout(options);
    return this.#exclusive(() => this.#stop(timeoutMs));
  }

  /**
   * SIGKILL, then waits until the process is gone. Its containerd goes with it, the
   * containers' shims and processes survive; the socket file stays behind, so clients get
   * ECONNREFUSED. What happens to the containers is decided at the next start (see start()).
   */
  kill(): Promise<DaemonTransition> {
    return this.#exclusive(() => this.#kill());
  }

  /** stop() then start(); `durationMs` covers both. */
  restart(options: StopOptions = {}): Promise<DaemonTransition> {
    const timeoutMs = stopTimeout(options);
    return this.#exclusive(async () => {
      const started = performance.now();
      const pidBefore = this.pid;
      await this.#stop(timeoutMs);
      await this.#start();
      return this.#transition('restart', started, pidBefore, { noop: false });
    });
  }

  /**
   * Turns live-restore on or off: rewrites daemon.json and, when dockerd runs, sends SIGHUP
   * and waits (up to 5 s) for it to log `Reloaded configuration` — live-restore is one of
   * the options dockerd reloads on SIGHUP (DOCKER-NOTES.md;
   * https://docs.docker.com/engine/daemon/live-restore/). When stopped, it takes effect at
   * the next start.
   *
   * @throws {DaemonControlError} `reason: 'reload-failed'` when dockerd logs an error for
   *   the reload (daemon.json is put back), `'timeout'` when it logs nothing.
   */
  setLiveRestore(on: boolean): Promise<void> {
    if (typeof on !== 'boolean') {
      return Promise.reject(new TypeError(`Expected \`on\` to be a boolean, got \`${String(on)}\` (${typeof on})`));
    }
    return this.#exclusive(async () => {
      const previous = await readFile(this.#paths.config, 'utf8').catch(() => daemonJson(this.#liveRestore));
      await writeFileAtomic(this.#paths.config, daemonJson(on));
      const pid = this.pid;
      if (pid !== undefined) {
        try {
          await this.#reload(pid);
        } catch (error) {
          await writeFileAtomic(this.#paths.config, previous).catch(() => undefined);
          throw error;
        }
      }
      this.#liveRestore = on;
    });
  }

  /**
   * Lets the containers on a user network of this daemon reach each other: inserts
   * `iptables -I FORWARD 1 -i <bridge> -o <bridge> -j ACCEPT` for the network's bridge,
   * `br-<first 12 hex of its id>` (dockerd's default name for a user network's bridge).
   * Needed because the daemon runs with `--iptables=false` and the FORWARD policy is DROP
   * (DOCKER-NOTES.md: one rule per bridge). remove() deletes the rule.
   *
   * @param network the network id (as `createNetwork` returns it), or a bridge name.
   * @returns the bridge name the rule is for.
   */
  allowNetworkTraffic(network: string): Promise<string> {
    let bridge: string;
    if (/^[0-9a-f]{12,64}$/.test(network)) bridge = `br-${network.slice(0, 12)}`;
    else if (/^[A-Za-z0-9_.-]{1,15}$/.test(network)) bridge = network;
    else {
      return Promise.reject(new TypeError(`Expected \`network\` to be a network id (12–64 hex digits) or a bridge name (≤ 15 characters), got \`${network}\``));
    }
    return this.#exclusive(async () => {
      if (!this.#state.forwardRules.includes(bridge)) {
        this.#state.forwardRules.push(bridge);
        await this.#saveState();
      }
      try {
        await insertForwardRule(bridge);
      } catch (error) {
        throw new DaemonControlError(`Could not allow traffic on bridge ${bridge}: ${(error as Error).message}`, {
          ...this.#context(),
          operation: 'allow-network-traffic',
          reason: 'failed',
          cause: error,
        });
      }
      return bridge;
    });
  }

  /**
   * Removes the daemon and everything it left on the host; idempotent, and safe after a
   * start that failed part-way. In order:
   * 1. if dockerd answers: removes all its containers and user networks through the API
   *    (so nothing keeps running with live-restore on), then stops it (SIGTERM, 30 s, SIGKILL);
   * 2. SIGKILLs whatever engine process still names the root (a containerd or shims that
   *    survived a kill, and the containers under them);
   * 3. deletes user networks' `br-…` bridges dockerd leaves behind, and their FORWARD rules;
   * 4. deletes the FORWARD rule and the `kh-<name>` bridge;
   * 5. unmounts everything under the root — dockerd bind-mounts its data-root onto itself
   *    and leaves it mounted after a stop (DOCKER-NOTES.md), plus overlay and netns mounts
   *    a killed daemon leaves;
   * 6. deletes the root dir, but only once no mount is left under it (a recursive delete
   *    would otherwise reach into whatever is mounted there).
   *
   * @throws {DaemonCleanupError} listing the steps that failed; calling remove() again
   *   retries them.
   */
  remove(): Promise<void> {
    this.#removed = true;
    return this.#exclusive(async () => {
      if (this.#cleanedUp) return;
      const failures: CleanupFailure[] = [];
      if (this.isRunning()) {
        await purgeThroughApi(this.host);
        try {
          await this.#stop(DEFAULT_STOP_TIMEOUT_MS);
        } catch (error) {
          failures.push({ step: 'stop dockerd', error });
        }
      }
      failures.push(...(await teardownRoot(this.#paths, this.#state)));
      if (failures.length > 0) throw new DaemonCleanupError(failures, this.#context());
      if (this.#state.subnetIndex !== undefined) reservedSubnets.delete(this.#state.subnetIndex);
      this.#cleanedUp = true;
    });
  }

  /** Same as {@link remove}: `await using daemon = await startPrivateDaemon()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.remove();
  }

  // -------------------------------------------------------------------------------------

  #context(): { socketPath: string; rootDir: string; pid: number | undefined } {
    return { socketPath: this.#paths.socket, rootDir: this.#paths.root, pid: this.pid };
  }

  /** Runs `fn` after every earlier operation of this handle has settled. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #transition(operation: DaemonTransition['operation'], started: number, pidBefore: number | undefined, flags: { noop: boolean; forced?: boolean }): DaemonTransition {
    return {
      operation,
      durationMs: Math.round(performance.now() - started),
      pidBefore,
      pidAfter: this.pid,
      noop: flags.noop,
      forced: flags.forced ?? false,
    };
  }

  async #saveState(): Promise<void> {
    await writeFileAtomic(this.#paths.state, `${JSON.stringify(this.#state, null, 2)}\n`);
  }

  /** Makes the bridge, gives it a free 10.212.N.0/24, and inserts its FORWARD rule (first start only). */
  async #setUpNetwork(): Promise<void> {
    const bridge = this.#state.bridge;
    if (await linkExists(bridge)) {
      throw new DaemonStartError(
        `A network interface named ${bridge} already exists; choose another \`name\`, or remove the leftover with \`ip link delete ${bridge}\` if it is one of keelhaul's`,
        { ...this.#context(), reason: 'network' },
      );
    }
    try {
      await run('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
    } catch (error) {
      throw new DaemonStartError(`Could not create bridge ${bridge}`, { ...this.#context(), reason: 'network', cause: error });
    }
    this.#state.bridgeCreated = true;
    await this.#saveState();

    const fixed = this.#options.subnet;
    const tried = new Set<number>(reservedSubnets);
    for (let attempt = 0; ; attempt++) {
      let index: number | undefined;
      if (fixed !== 'auto') {
        const conflict = await subnetConflict(fixed, bridge);
        if (conflict !== undefined) {
          throw new DaemonStartError(`Subnet ${subnetOf(fixed).subnet} (option \`subnet: ${fixed}\`) overlaps ${conflict}`, {
            ...this.#context(),
            reason: 'network',
          });
        }
        index = fixed;
      } else {
        index = await findFreeSubnetIndex(tried);
        if (index === undefined || attempt >= 16) {
          throw new DaemonStartError('No free subnet 10.212.N.0/24 (N = 0…255) on this host', { ...this.#context(), reason: 'network' });
        }
      }
      tried.add(index);
      reservedSubnets.add(index);
      this.#state.subnetIndex = index;
      await this.#saveState();
      const { gateway } = subnetOf(index);
      try {
        await run('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
      } catch (error) {
        throw new DaemonStartError(`Could not give bridge ${bridge} the address ${gateway}/24`, {
          ...this.#context(),
          reason: 'network',
          cause: error,
        });
      }
      // Another process may have taken the same /24 between the check and the add.
      if (fixed === 'auto' && (await subnetConflict(index, bridge)) !== undefined) {
        await succeeds('ip', ['addr', 'del', `${gateway}/24`, 'dev', bridge]);
        reservedSubnets.delete(index);
        continue;
      }
      break;
    }
    try {
      await run('ip', ['link', 'set', bridge, 'up']);
      this.#state.forwardRules.push(bridge);
      await this.#saveState();
      await insertForwardRule(bridge);
    } catch (error) {
      throw new DaemonStartError(`Could not bring up bridge ${bridge} or allow its traffic`, {
        ...this.#context(),
        reason: 'network',
        cause: error,
      });
    }
  }

  async #start(): Promise<DaemonTransition> {
    if (this.#removed) {
      throw new DaemonControlError('This private daemon was removed; start a new one with startPrivateDaemon()', {
        ...this.#context(),
        operation: 'start',
        reason: 'removed',
      });
    }
    const started = performance.now();
    if (this.isRunning()) return this.#transition('start', started, this.pid, { noop: true });
    if (!this.#networkReady) {
      await this.#setUpNetwork();
      this.#networkReady = true;
    }
    await this.#clearStalePidfile();
    await this.#clearStaleContainerdPidfile();
    const log = await open(this.#paths.log, 'a');
    let child: ChildProcess;
    let spawnedAt: number;
    try {
      await log.write(`\n--- keelhaul: starting dockerd (${new Date().toISOString()}) ---\n`);
      spawnedAt = performance.now();
      child = spawn(this.#dockerdPath, this.#dockerdArgs(), {
        cwd: this.#paths.root,
        // Its own process group: a Ctrl-C of keelhaul, or a signal to keelhaul's group, must
        // not reach the daemon a fault controls.
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
      });
    } finally {
      await log.close();
    }
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
    });
    this.#child = child;
    this.#exited = exited;
    // The daemon must not keep keelhaul's event loop alive; remove() ends it.
    child.unref();
    await this.#waitReady(spawnedAt, child, exited);
    return this.#transition('start', started, undefined, { noop: false });
  }

  #dockerdArgs(): string[] {
    const p = this.#paths;
    return [
      '--host',
      `unix://${p.socket}`,
      '--data-root',
      p.data,
      '--exec-root',
      p.exec,
      '--pidfile',
      p.pidfile,
      '--config-file',
      p.config,
      // DOCKER-NOTES.md: a second daemon with iptables on rewrites the main daemon's chains.
      '--iptables=false',
      '--ip-masq=false',
      // Never `none` (dockerd 20.10 then deletes docker0); `--bip` would conflict with it.
      `--bridge=${this.#state.bridge}`,
      ...this.#tcpArgs(),
    ];
  }

  /** The TCP listener's flags: loopback only, TLS with client verification (the unix socket stays plain). */
  #tcpArgs(): string[] {
    const tcp = this.#options.tcp;
    if (!tcp) return [];
    return ['--host', `tcp://127.0.0.1:${tcp.port}`, '--tlsverify', '--tlscacert', tcp.caFile, '--tlscert', tcp.certFile, '--tlskey', tcp.keyFile];
  }

  /**
   * dockerd refuses to start while its pidfile names a live process ("pid file found,
   * ensure docker is not running"); after a SIGKILL the file stays. It is deleted when its
   * pid is gone (or a zombie, which dockerd would still count as running); a live dockerd
   * on this root is an error.
   */
  async #clearStalePidfile(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.#paths.pidfile, 'utf8');
    } catch {
      return;
    }
    const pid = Number(text.trim());
    if (Number.isInteger(pid) && pid > 0 && (await isAlive(pid))) {
      const cmdline = (await readCmdline(pid)) ?? '';
      if (cmdline.includes('dockerd') && cmdline.includes(`${this.#paths.root}/`)) {
        throw new DaemonStartError(`A dockerd (pid ${pid}) already runs on ${this.#paths.root}, not started by this handle`, {
          ...this.#context(),
          reason: 'root-dir-in-use',
        });
      }
    }
    await unlink(this.#paths.pidfile).catch(() => undefined);
  }

  /** `<exec-root>/containerd/containerd.pid`: the containerd dockerd started (its supervisor's pidfile). */
  get #containerdPidfile(): string {
    return join(this.#paths.exec, 'containerd', 'containerd.pid');
  }

  /** The pid of this daemon's containerd, when it is alive (a zombie counts as gone). */
  async #containerdPid(): Promise<number | undefined> {
    let pid: number;
    try {
      pid = Number((await readFile(this.#containerdPidfile, 'utf8')).trim());
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 0 || !(await isAlive(pid))) return undefined;
    const cmdline = (await readCmdline(pid)) ?? '';
    return cmdline.includes('containerd') && cmdline.includes(`${this.#paths.root}/`) ? pid : undefined;
  }

  /**
   * dockerd reuses a containerd whose pidfile names a live process, and checks liveness
   * with kill(pid, 0), which a zombie passes. When dockerd is SIGKILLed its containerd dies
   * with it but stays a zombie until pid 1 reaps it — 1.7 s on a machine whose init reaps
   * lazily — and a dockerd started meanwhile waits for that zombie and exits with "timeout
   * waiting for containerd to start". So a pidfile naming anything but a live containerd of
   * this root is deleted, and dockerd starts a fresh containerd.
   */
  async #clearStaleContainerdPidfile(): Promise<void> {
    if ((await this.#containerdPid()) === undefined) await unlink(this.#containerdPidfile).catch(() => undefined);
  }

  /** Waits (bounded) until this daemon's containerd has exited or is a zombie. */
  async #waitContainerdGone(): Promise<void> {
    const pid = await this.#containerdPid();
    if (pid !== undefined) await waitGone([pid], CONTAINERD_WAIT_MS);
  }

  /** Pings (each ping bounded by 1 s) until dockerd answers, it exits, or readyTimeoutMs (from the spawn) runs out. */
  async #waitReady(spawnedAt: number, child: ChildProcess, exited: Promise<ExitInfo>): Promise<void> {
    const timeoutMs = this.#options.readyTimeoutMs;
    const deadline = spawnedAt + timeoutMs;
    let lastError: unknown;
    let exit: ExitInfo | undefined;
    void exited.then((info) => {
      exit = info;
    });
    for (;;) {
      if (exit !== undefined) {
        const how = exit.error
          ? `could not be run: ${exit.error.message}`
          : `exited before it answered (${exit.signal ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`})`;
        throw new DaemonStartError(`dockerd (${this.#dockerdPath}) ${how}; see ${this.#paths.log}`, {
          socketPath: this.#paths.socket,
          rootDir: this.#paths.root,
          pid: child.pid,
          reason: exit.error ? 'spawn' : 'exited',
          logTail: await tailFile(this.#paths.log),
          ...(exit.code !== null ? { exitCode: exit.code } : {}),
          ...(exit.signal !== null ? { signal: exit.signal } : {}),
          cause: exit.error ?? lastError,
        });
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        throw new DaemonStartError(`dockerd (pid ${String(child.pid)}) did not answer a ping on ${this.#paths.socket} within ${timeoutMs} ms (readyTimeoutMs)`, {
          ...this.#context(),
          reason: 'timeout',
          readyTimeoutMs: timeoutMs,
          logTail: await tailFile(this.#paths.log),
          cause: lastError,
        });
      }
      if (existsSync(this.#paths.socket)) {
        try {
          await connectDocker({ host: this.host, pingTimeoutMs: Math.max(50, Math.min(READY_PING_TIMEOUT_MS, remaining)) });
          return;
        } catch (error) {
          lastError = error;
        }
      }
      await Promise.race([sleep(Math.min(50, Math.max(1, remaining))), exited]);
    }
  }

  async #stop(timeoutMs: number): Promise<DaemonTransition> {
    const started = performance.now();
    const child = this.#child;
    const pidBefore = this.pid;
    if (child === undefined || pidBefore === undefined || !this.isRunning()) {
      return this.#transition('stop', started, undefined, { noop: true });
    }
    signalProcess(pidBefore, 'SIGTERM');
    if (await this.#waitExit(timeoutMs)) {
      await this.#waitContainerdGone();
      return this.#transition('stop', started, pidBefore, { noop: false });
    }
    signalProcess(pidBefore, 'SIGKILL');
    if (await this.#waitExit(KILL_WAIT_MS)) {
      await this.#waitContainerdGone();
      return this.#transition('stop', started, pidBefore, { noop: false, forced: true });
    }
    throw new DaemonControlError(`dockerd (pid ${pidBefore}) did not exit within ${timeoutMs} ms of SIGTERM nor ${KILL_WAIT_MS} ms of SIGKILL`, {
      ...this.#context(),
      operation: 'stop',
      reason: 'timeout',
    });
  }

  async #kill(): Promise<DaemonTransition> {
    const started = performance.now();
    const pidBefore = this.pid;
    if (pidBefore === undefined) return this.#transition('kill', started, undefined, { noop: true });
    signalProcess(pidBefore, 'SIGKILL');
    if (await this.#waitExit(KILL_WAIT_MS)) {
      // Its containerd dies with it (the shims and containers do not).
      await this.#waitContainerdGone();
      return this.#transition('kill', started, pidBefore, { noop: false });
    }
    throw new DaemonControlError(`dockerd (pid ${pidBefore}) was still there ${KILL_WAIT_MS} ms after SIGKILL`, {
      ...this.#context(),
      operation: 'kill',
      reason: 'timeout',
    });
  }

  /**
   * Resolves true once dockerd has exited and been reaped (node reaps its children, so the
   * pid is gone from /proc and a new dockerd will not trip over it), false after `timeoutMs`.
   */
  async #waitExit(timeoutMs: number): Promise<boolean> {
    const exited = this.#exited;
    if (exited === undefined) return true;
    return (await withTimeout(exited, timeoutMs)) !== TIMED_OUT;
  }

  /** SIGHUP, then waits for dockerd's log to say whether daemon.json was reloaded. */
  async #reload(pid: number): Promise<void> {
    const offset = await fileSize(this.#paths.log);
    signalProcess(pid, 'SIGHUP');
    const deadline = performance.now() + RELOAD_TIMEOUT_MS;
    while (performance.now() < deadline) {
      const text = await readFrom(this.#paths.log, offset);
      if (/Reloaded configuration/.test(text)) return;
      const failure = text.split('\n').find((line) => /level=(error|fatal)/.test(line));
      if (failure !== undefined) {
        throw new DaemonControlError(`dockerd (pid ${pid}) could not reload ${this.#paths.config}: ${failure}`, {
          ...this.#context(),
          operation: 'set-live-restore',
          reason: 'reload-failed',
        });
      }
      await sleep(25);
    }
    throw new DaemonControlError(`dockerd (pid ${pid}) did not log "Reloaded configuration" within ${RELOAD_TIMEOUT_MS} ms of SIGHUP (see ${this.#paths.log})`, {
      ...this.#context(),
      operation: 'set-live-restore',
      reason: 'timeout',
    });
  }
}

/**
 * Whether this machine can run a private daemon: root, and `dockerd` plus `containerd`,
 * `ip`, `iptables`, `umount` on PATH. `missing` names what is not there.
 */
export async function privateDaemonPrerequisites(dockerd = 'dockerd'): Promise<{ ok: boolean; missing: string[]; dockerdPath: string | undefined }> {
  const missing: string[] = [];
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) missing.push('root');
  const dockerdPath = await findOnPath(dockerd);
  if (dockerdPath === undefined) missing.push(dockerd);
  for (const command of REQUIRED_COMMANDS) {
    if ((await findOnPath(command)) === undefined) missing.push(command);
  }
  return { ok: missing.length === 0, missing, dockerdPath };
}

/**
 * Starts a private dockerd beside the machine's main daemon and waits until it answers.
 *
 * Creates the bridge `kh-<name>` with a free `10.212.N.0/24`, its FORWARD rule, the root
 * dir with `daemon.json` (`live-restore` as asked), and runs
 * `dockerd --host unix://<root>/docker.sock --data-root <root>/data --exec-root <root>/exec
 * --pidfile <root>/docker.pid --config-file <root>/daemon.json --iptables=false
 * --ip-masq=false --bridge=kh-<name>` in its own process group, its output appended to
 * `<root>/dockerd.log`. A daemon answers in 0.2–0.55 s (DOCKER-NOTES.md). On any failure
 * everything made so far is removed before the error is thrown.
 *
 * @throws {TypeError} for an invalid option.
 * @throws {DaemonStartError} when not root or a command is missing (`reason: 'not-root'` /
 *   `'missing-command'`, `missing` lists them), when the root dir or bridge is taken, or
 *   when dockerd exits or does not answer within `readyTimeoutMs` (with the log tail).
 */
export async function startPrivateDaemon(options: PrivateDaemonOptions = {}): Promise<PrivateDaemon> {
  const resolved = resolveOptions(options);
  const prerequisites = await privateDaemonPrerequisites(resolved.dockerd);
  if (!prerequisites.ok || prerequisites.dockerdPath === undefined) {
    const notRoot = prerequisites.missing.includes('root');
    const commands = prerequisites.missing.filter((m) => m !== 'root');
    const what = [
      ...(notRoot ? ['root privileges (dockerd, ip and iptables need uid 0)'] : []),
      ...(commands.length > 0 ? [`${commands.join(', ')} on PATH (Debian: apt-get install docker.io iptables iproute2)`] : []),
    ];
    throw new DaemonStartError(`A private Docker daemon needs ${what.join(' and ')}`, {
      rootDir: resolved.rootDir,
      reason: notRoot ? 'not-root' : 'missing-command',
      missing: prerequisites.missing,
    });
  }

  // The root dir must be new (or empty): remove() deletes it.
  let entries: string[] = [];
  try {
    entries = await readdir(resolved.rootDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DaemonStartError(`Cannot use ${resolved.rootDir} as the daemon's root dir: ${(error as Error).message}`, {
        rootDir: resolved.rootDir,
        reason: 'root-dir-in-use',
        cause: error,
      });
    }
  }
  if (entries.length > 0) {
    const ours = entries.includes(STATE_FILE);
    throw new DaemonStartError(
      ours
        ? `${resolved.rootDir} already holds a private daemon of keelhaul (${STATE_FILE}); remove it first (removePrivateDaemonRoot) or choose another \`name\``
        : `${resolved.rootDir} is not empty; a private daemon needs a new or empty root dir, since remove() deletes it`,
      { rootDir: resolved.rootDir, reason: 'root-dir-in-use' },
    );
  }
  await mkdir(resolved.rootDir, { recursive: true, mode: 0o711 });
  // /proc/self/mountinfo and command lines show resolved paths.
  const root = await realpath(resolved.rootDir);
  const state: DaemonState = {
    format: STATE_FORMAT,
    name: resolved.name,
    bridge: `kh-${resolved.name}`,
    bridgeCreated: false,
    subnetIndex: undefined,
    forwardRules: [],
    createdBy: { pid: process.pid, at: new Date().toISOString() },
  };
  const daemon = new PrivateDaemon(CONSTRUCT, { options: resolved, root, dockerdPath: prerequisites.dockerdPath, state });
  try {
    await writeFileAtomic(join(root, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
    await mkdir(join(root, 'data'), { recursive: true, mode: 0o710 });
    await writeFileAtomic(join(root, 'daemon.json'), daemonJson(resolved.liveRestore));
    await daemon.start();
    return daemon;
  } catch (error) {
    let cleanupError: unknown;
    try {
      await daemon.remove();
    } catch (failure) {
      cleanupError = failure;
    }
    if (error instanceof DaemonStartError) throw cleanupError === undefined ? error : error.withCleanupError(cleanupError);
    throw new DaemonStartError(`Starting a private Docker daemon in ${root} failed: ${(error as Error).message}`, {
      rootDir: root,
      socketPath: join(root, 'docker.sock'),
      reason: 'spawn',
      cause: error,
      ...(cleanupError !== undefined ? { cleanupError } : {}),
    });
  }
}
