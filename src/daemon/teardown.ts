/**
 * Undoing a private daemon: through its API while it answers, then on the host — engine
 * processes, cgroups, bridges, FORWARD rules, mounts, the root dir. Used by
 * `PrivateDaemon.remove()` and, without a handle, by {@link removePrivateDaemonRoot}.
 */
import { readFile, realpath, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { connectDocker } from '../docker/index.js';
import { DaemonCleanupError, type CleanupFailure } from './errors.js';
import {
  containerIdsOnDisk,
  deleteForwardRule,
  linkExists,
  listLinks,
  mountsUnder,
  networkIdsInStore,
  processesOfRoot,
  removeContainerCgroups,
  run,
  signalProcess,
  unmountAllUnder,
  waitGone,
} from './host.js';
import { DEFAULT_STOP_TIMEOUT_MS, KILL_WAIT_MS, pathsOf, STATE_FORMAT, withTimeout, type DaemonState, type Paths } from './layout.js';

/** Bound of the API clean-up (remove containers, networks, volumes) in ms. */
const PURGE_TIMEOUT_MS = 30_000;

/**
 * Removes every container, user network and volume of the daemon at `host` through its API,
 * bounded by 30 s: with live-restore on, stopping dockerd would leave the containers running,
 * and with it off a container that ignores SIGTERM costs the shutdown 10 s. Best effort:
 * whatever stays is handled by the host-level teardown.
 */
export async function purgeThroughApi(host: string): Promise<void> {
  const work = (async () => {
    const client = await connectDocker({ host, pingTimeoutMs: 3_000 });
    const containers = await client.listContainers({ labels: {}, all: true });
    await Promise.allSettled(containers.map((c) => client.removeContainer(c.id, { force: true, volumes: true })));
    const networks = await client.listNetworks({ labels: {} });
    const builtIn = new Set(['bridge', 'host', 'none']);
    await Promise.allSettled(networks.filter((n) => !builtIn.has(n.name)).map((n) => client.removeNetwork(n.id)));
    const volumes = await client.listVolumes({ labels: {} });
    await Promise.allSettled(volumes.map((v) => client.removeVolume(v.name, { force: true })));
  })();
  await withTimeout(
    work.catch(() => undefined),
    PURGE_TIMEOUT_MS,
  );
}

/**
 * Everything after dockerd has stopped: kill survivors, delete bridges and rules, unmount,
 * delete the root dir. Each step is idempotent; failures are collected, not thrown.
 */
export async function teardownRoot(paths: Paths, state: DaemonState): Promise<CleanupFailure[]> {
  const failures: CleanupFailure[] = [];
  const step = async (name: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      failures.push({ step: name, error });
    }
  };
  const root = paths.root;

  await step('kill leftover engine processes', async () => {
    const survivors = await processesOfRoot(root);
    if (survivors.length === 0) return;
    // Containers first would be nicer, but SIGKILL to all at once is as good: nothing of
    // theirs is kept, and a shim without its container exits anyway.
    for (const p of survivors) signalProcess(p.pid, 'SIGKILL');
    const left = await waitGone(
      survivors.map((p) => p.pid),
      KILL_WAIT_MS,
    );
    if (left.length > 0) throw new Error(`pids ${left.join(', ')} still alive ${KILL_WAIT_MS} ms after SIGKILL`);
  });

  await step('remove containers’ cgroups', async () => {
    await removeContainerCgroups(await containerIdsOnDisk(paths.data));
  });

  await step('delete user networks’ bridges', async () => {
    const ids = await networkIdsInStore(paths.data);
    if (ids.length === 0) return;
    const links = new Set(await listLinks());
    for (const id of ids) {
      const bridge = `br-${id.slice(0, 12)}`;
      if (!links.has(bridge)) continue;
      await deleteForwardRule(bridge);
      await run('ip', ['link', 'delete', bridge]);
    }
  });

  for (const bridge of state.forwardRules) {
    await step(`delete FORWARD rule of ${bridge}`, () => deleteForwardRule(bridge));
  }

  await step('unmount everything under the root', async () => {
    const left = await unmountAllUnder(root);
    if (left.length > 0) throw new Error(`still mounted: ${left.join(', ')}`);
  });

  if (state.bridgeCreated) {
    await step(`delete bridge ${state.bridge}`, async () => {
      if (await linkExists(state.bridge)) await run('ip', ['link', 'delete', state.bridge]);
    });
  }

  await step('remove the root dir', async () => {
    // fs.rm crosses mount points: never recurse while anything is mounted below.
    const mounted = await mountsUnder(root);
    if (mounted.length > 0) throw new Error(`not removed, still mounted: ${mounted.join(', ')}`);
    await rm(root, { recursive: true, force: true, maxRetries: 3 });
  });
  return failures;
}

/**
 * Removes a private daemon's root without its handle — after the process that started it
 * crashed (a reaper, `keelhaul clean`). Refuses a directory without keelhaul's state file;
 * an absent directory is fine. Removes the containers and networks of a dockerd still
 * running on it through its API, stops it (SIGTERM, 30 s, SIGKILL) and undoes everything
 * remove() undoes.
 *
 * @throws {DaemonCleanupError} listing the steps that failed.
 */
export async function removePrivateDaemonRoot(rootDir: string): Promise<void> {
  let root: string;
  try {
    root = await realpath(rootDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const paths = pathsOf(root);
  let state: DaemonState;
  try {
    state = JSON.parse(await readFile(paths.state, 'utf8')) as DaemonState;
    if (state.format !== STATE_FORMAT) throw new Error(`unknown format ${String(state.format)}`);
  } catch (error) {
    throw new DaemonCleanupError([{ step: `read ${paths.state}`, error }], { rootDir: root });
  }
  const failures: CleanupFailure[] = [];
  const dockerds = (await processesOfRoot(root)).filter((p) => basename(p.cmdline.split(' ')[0] ?? '') === 'dockerd');
  if (dockerds.length > 0) await purgeThroughApi(`unix://${paths.socket}`);
  for (const d of dockerds) signalProcess(d.pid, 'SIGTERM');
  const left = await waitGone(
    dockerds.map((d) => d.pid),
    DEFAULT_STOP_TIMEOUT_MS,
  );
  for (const pid of left) signalProcess(pid, 'SIGKILL');
  failures.push(...(await teardownRoot(paths, state)));
  if (failures.length > 0) throw new DaemonCleanupError(failures, { rootDir: root, socketPath: paths.socket });
}
