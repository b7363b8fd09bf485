/**
 * keelhaul's own short-lived helper containers: a probe that joins an attempt's network
 * namespace, a lister that mounts a workspace volume. They run keelhaul's image, never the
 * user's, so nothing has to be inside a worker image for keelhaul to look at it
 * (docs/worker-contract.md, issue #16). Every helper is hardened as an attempt is (no
 * capability unless asked for, read-only root, no-new-privileges, small memory and pids
 * limits), carries the run's labels — so cleanup, the reaper and the leak query find it —
 * and `dev.keelhaul.skip=true`, so a fault selector never picks it (Pumba's skip label).
 */
import type { ContainerSpec, DockerClient, MountSpec } from './client.js';
import { Label } from './labels.js';

/** The hardening every helper gets unless its options say otherwise. */
export const HELPER_DEFAULTS = {
  /** `nobody`: a helper needs no identity of its own (a lister of a tmpfs workspace passes the worker's). */
  user: '65534:65534',
  /** Bytes: busybox `sh` with a few `nc`s peaks well under 8 MiB. */
  memoryBytes: 32 * 1024 * 1024,
  /** Enough for a shell, a subshell, `timeout` and `nc` per probed address. */
  pidsLimit: 64,
} as const;

/** What {@link helperContainerSpec} and {@link runHelperContainer} take. */
export interface HelperSpec {
  /** Container name, e.g. `kh-<run>-<task>-a<n>-probe-<stamp>` (names.ts). */
  readonly name: string;
  /** keelhaul's image (`keelhaul/worker:<version>`, which holds busybox). */
  readonly image: string;
  /** The run's labels for the helper (role `probe`, `filler`, …); `dev.keelhaul.skip=true` is added. */
  readonly labels: Readonly<Record<string, string>>;
  /** `none`, a network, or `container:<id>` to share an attempt's network namespace. */
  readonly networkMode: string;
  /** The whole command line, run as the entrypoint (the image's own entrypoint is the worker). */
  readonly command: readonly string[];
  readonly mounts?: readonly MountSpec[];
  /** Capabilities beyond none, e.g. `NET_ADMIN` for a shaping helper. @default [] */
  readonly capAdd?: readonly string[];
  /** @default HELPER_DEFAULTS.user */
  readonly user?: string;
  /** @default HELPER_DEFAULTS.memoryBytes */
  readonly memoryBytes?: number;
  /** @default HELPER_DEFAULTS.pidsLimit */
  readonly pidsLimit?: number;
}

/** The container spec of a helper: {@link HelperSpec} with the hardening defaults and the skip label. */
export function helperContainerSpec(spec: HelperSpec): ContainerSpec {
  return {
    name: spec.name,
    image: spec.image,
    labels: { ...spec.labels, [Label.skip]: 'true' },
    env: {},
    entrypoint: [...spec.command],
    cmd: [],
    user: spec.user ?? HELPER_DEFAULTS.user,
    networkMode: spec.networkMode,
    mounts: spec.mounts ?? [],
    readonlyRootfs: true,
    capDrop: ['ALL'],
    ...(spec.capAdd?.length ? { capAdd: [...spec.capAdd] } : {}),
    securityOpt: ['no-new-privileges'],
    memoryBytes: spec.memoryBytes ?? HELPER_DEFAULTS.memoryBytes,
    pidsLimit: spec.pidsLimit ?? HELPER_DEFAULTS.pidsLimit,
  };
}

/** What a helper printed and how it ended. */
export interface HelperResult {
  readonly exitCode: number;
  /** UTF-8, at most 1 MiB kept. */
  readonly stdout: string;
  readonly stderr: string;
  /** From create to exit, ms. */
  readonly durationMs: number;
}

/** The step of a helper's life that failed. */
export type HelperStage = 'create' | 'start' | 'wait' | 'logs' | 'timeout';

/**
 * A helper container could not be run to its end. `stage` says where; `cause` is the Docker
 * error (a `ResourceConflictError` at `start` when the container whose namespace it joins has
 * exited: "cannot join network of a non running container"; an `ImageNotFoundError` at
 * `create` when keelhaul's image is absent).
 */
export class HelperContainerError extends Error {
  override name = 'HelperContainerError';
  /** The helper's container name. */
  readonly helper: string;
  readonly stage: HelperStage;
  /** Set once the daemon created it. */
  readonly containerId: string | undefined;
  constructor(helper: string, stage: HelperStage, message: string, options: { containerId?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.helper = helper;
    this.stage = stage;
    this.containerId = options.containerId;
  }
}

const MAX_OUTPUT = 1024 * 1024;

/**
 * Creates, starts and waits for a helper, reads its output from the daemon's log, and removes
 * it (`force`) whatever happened, so a helper outlives its call only when the controller dies
 * mid-way (then cleanup or the reaper removes it by the run label).
 *
 * @param timeoutMs bound on the whole call, ms; past it the helper is removed (killed) and
 *   the call throws with stage `timeout`. @default 15000
 * @throws {HelperContainerError} when it cannot be created, started, waited for or read, or
 *   runs past `timeoutMs`. A non-zero exit is not an error: it is in `exitCode`.
 */
export async function runHelperContainer(
  docker: Pick<DockerClient, 'createContainer' | 'startContainer' | 'waitContainer' | 'containerLogs' | 'removeContainer'>,
  spec: HelperSpec,
  options: { timeoutMs?: number } = {},
): Promise<HelperResult> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 15_000;
  let id: string | undefined;
  let finished = false;
  let timer: NodeJS.Timeout | undefined;
  const remove = (cid: string): Promise<void> => docker.removeContainer(cid, { force: true }).catch(() => undefined);
  const fail = (stage: HelperStage, error: unknown): HelperContainerError =>
    error instanceof HelperContainerError
      ? error
      : new HelperContainerError(spec.name, stage, `helper ${spec.name}: ${stage} failed: ${error instanceof Error ? error.message : String(error)}`, {
          ...(id ? { containerId: id } : {}),
          cause: error,
        });
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new HelperContainerError(spec.name, 'timeout', `helper ${spec.name} did not finish within ${timeoutMs} ms`, id ? { containerId: id } : {})),
      timeoutMs,
    );
  });
  // A rejection that nobody awaits yet (the race below starts after create) must not crash the process.
  timedOut.catch(() => undefined);
  const steps = async (): Promise<HelperResult> => {
    let stage: HelperStage = 'create';
    try {
      const created = await docker.createContainer(helperContainerSpec(spec));
      // Timed out while the create was in flight: the finally below has already run.
      if (finished) {
        await remove(created);
        throw new HelperContainerError(spec.name, 'timeout', `helper ${spec.name} was created after its ${timeoutMs} ms had run out`, { containerId: created });
      }
      id = created;
      stage = 'start';
      await docker.startContainer(id);
      stage = 'wait';
      const { exitCode } = await docker.waitContainer(id);
      stage = 'logs';
      const output = await docker.containerLogs(id, { follow: false });
      const [stdout, stderr] = await Promise.all([readBounded(output.stdout), readBounded(output.stderr)]);
      return { exitCode, stdout, stderr, durationMs: Date.now() - started };
    } catch (error) {
      throw fail(stage, error);
    }
  };
  try {
    return await Promise.race([steps(), timedOut]);
  } finally {
    clearTimeout(timer);
    finished = true;
    // After a timeout a create may still be in flight: steps() removes what it makes when it lands.
    if (id) await remove(id);
  }
}

async function readBounded(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    if (size < MAX_OUTPUT) chunks.push(b.subarray(0, MAX_OUTPUT - size));
    size += b.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}
