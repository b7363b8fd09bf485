/**
 * The workspace belongs to the worker's user, whatever the image holds (issue 16, item 1).
 *
 * What Docker 20.10 does, measured on this project's daemon:
 * - A fresh named volume of the `local` driver mounts as `root:root 0755` when the image has
 *   nothing at the mount point: a worker running as uid 1000 in a `FROM scratch` image fails
 *   every write with EACCES.
 * - When the image has a directory at the mount point and the volume is empty, every
 *   container create copies it in ("copy-up"), including the directory's owner and mode onto
 *   the volume's root — again at the next create while the volume stays empty. So an image
 *   whose `/workspace` is root-owned resets any ownership set before. Keelhaul's own mounts
 *   of a workspace therefore set `NoCopy` (`MountSpec.noCopy`): the workspace starts empty,
 *   whatever the image has at `/workspace`.
 * - The `local` driver has no option that sets the owner of an ordinary volume; a tmpfs
 *   volume takes `o=uid=…,gid=…,mode=…` (DOCKER-NOTES "Disk full"), which is what a
 *   `workspace.size` volume uses.
 * - `PUT /containers/{id}/archive` extracts a tar into a container that was created and
 *   never started, with its volumes mounted, and keeps each entry's uid, gid and mode —
 *   except the entry for the extraction directory itself (`./`), which is skipped. Extracting
 *   a `workspace/` directory entry at `/` therefore sets the volume root's owner. The
 *   daemon refuses it under a read-only root filesystem, so it is done in a helper
 *   container rather than in the worker's own.
 *
 * The cheapest correct way for an ordinary volume is that helper: created from the run's
 * image (which the daemon has: the run checked it), never started, the one archive call,
 * removed; nothing needed inside the image (no shell, no `chown`). Measured on this
 * project's shared 2-core machine under load (load average 11): create 35–145 ms, archive
 * 285–460 ms, remove 45–130 ms — 0.3–0.5 s once per volume — where a started busybox
 * `chown` helper (root with CAP_CHOWN only) took 1.7–2.3 s to its exit. It carries the run's
 * label, so a controller that dies in between leaves it to the run's cleanup and the reaper.
 *
 * Whose workspace: keelhaul always sets the container's `User` (the backend's `user`,
 * `1000:1000` unless the embedder passes another), so an image's own `Config.User` never
 * decides who the worker is, and the workspace root is owned by that uid:gid, mode 0750.
 */
import { ResourceConflictError, type DockerClient } from '../docker/index.js';

/** A numeric `uid:gid`. */
export interface WorkerIds {
  readonly uid: number;
  readonly gid: number;
}

/** The worker's user was not a numeric `uid[:gid]`, so keelhaul cannot give it the workspace. */
export class WorkerUserError extends Error {
  override name = 'WorkerUserError';
  readonly user: string;
  constructor(user: string) {
    super(
      `Expected the worker's \`user\` to be a numeric \`uid:gid\` (e.g. \`1000:1000\`), got \`${user}\`: the workspace is given to that uid and gid, which a user name would need the image's /etc/passwd to resolve`,
    );
    this.user = user;
  }
}

/** A workspace volume could not be given to the worker's user. */
export class WorkspaceOwnerError extends Error {
  override name = 'WorkspaceOwnerError';
  readonly volume: string;
  /** The helper container, when it was created. */
  readonly containerId: string | undefined;
  constructor(volume: string, containerId: string | undefined, options: { cause: unknown }) {
    const why = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`cannot give workspace volume ${volume} to the worker's user${containerId ? ` (helper container ${containerId.slice(0, 12)})` : ''}: ${why}`, options);
    this.volume = volume;
    this.containerId = containerId;
  }
}

/**
 * Parses `uid[:gid]` (both decimal, ≥ 0); a missing gid is the uid, as Docker does for a
 * numeric user without a group.
 * @throws {WorkerUserError} for a name or anything else not numeric
 */
export function parseWorkerUser(user: string): WorkerIds {
  const m = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!m) throw new WorkerUserError(user);
  const uid = Number(m[1]);
  return { uid, gid: m[2] === undefined ? uid : Number(m[2]) };
}

/** The mode of a workspace root: the worker's user reads, writes, enters; its group reads. */
export const WORKSPACE_MODE = 0o750;

/** An octal field of a ustar header: `width - 1` digits, zero-padded, then NUL. */
function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/**
 * A tar archive (POSIX ustar) holding one directory entry, `name/`, owned by `ids` with
 * `mode`: 512 bytes of header and the two 512-byte zero blocks that end an archive.
 * Hand-written rather than a dependency: it is one fixed header.
 */
export function directoryEntryTar(name: string, ids: WorkerIds, mode: number): Buffer {
  const entry = `${name}/`;
  if (Buffer.byteLength(entry) > 100) throw new RangeError(`tar entry name longer than 100 bytes: ${entry}`);
  const header = Buffer.alloc(512, 0);
  header.write(entry, 0, 'utf8');
  header.write(octal(mode, 8), 100, 'ascii');
  header.write(octal(ids.uid, 8), 108, 'ascii');
  header.write(octal(ids.gid, 8), 116, 'ascii');
  header.write(octal(0, 12), 124, 'ascii'); // size
  header.write(octal(0, 12), 136, 'ascii'); // mtime
  header.write('        ', 148, 'ascii'); // checksum, counted as spaces
  header.write('5', 156, 'ascii'); // typeflag: directory
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(octal(sum, 7) + ' ', 148, 'ascii');
  return Buffer.concat([header, Buffer.alloc(1024, 0)]);
}

/** What {@link giveWorkspaceToWorker} needs. */
export interface WorkspaceOwnerOptions {
  /** The workspace volume, just created. */
  readonly volume: string;
  /** The helper's container name (unique per volume). */
  readonly name: string;
  /** An image the daemon has: the run's worker image. Nothing in it is run. */
  readonly image: string;
  /** The run's labels for the helper, so cleanup and the reaper find it. */
  readonly labels: Readonly<Record<string, string>>;
  /** Who gets the workspace root. */
  readonly owner: WorkerIds;
  /** Where the workspace is mounted in the worker (an absolute path of one segment, `/workspace`). */
  readonly mountPath: string;
}

/**
 * Makes a workspace volume's root belong to the worker's user (see the file comment): a
 * helper container of the run's image that mounts the volume (`NoCopy`) and is never
 * started, one `PUT /archive` of a `workspace/` directory entry owned by `owner`
 * ({@link WORKSPACE_MODE}), then the helper is removed (also when the archive failed).
 *
 * @throws {WorkspaceOwnerError} with the daemon's error as `cause` (a `DockerError`; a
 *   `DaemonUnavailableError` when the daemon went away)
 */
export async function giveWorkspaceToWorker(docker: Pick<DockerClient, 'createContainer' | 'putArchive' | 'removeContainer'>, options: WorkspaceOwnerOptions): Promise<void> {
  const segment = options.mountPath.replace(/^\/+|\/+$/g, '');
  if (segment === '' || segment.includes('/')) throw new RangeError(`workspace mount path must be one absolute segment, got ${options.mountPath}`);
  let id: string | undefined;
  const create = (): Promise<string> =>
    docker.createContainer({
      name: options.name,
      image: options.image,
      labels: options.labels,
      env: {},
      // Never started: create only needs an entrypoint to exist in the spec, not in the image.
      entrypoint: ['/keelhaul-workspace-owner-never-runs'],
      networkMode: 'none',
      mounts: [{ type: 'volume', source: options.volume, target: options.mountPath, noCopy: true }],
      // The archive call is refused under a read-only root filesystem (path `/` is not in a volume).
      readonlyRootfs: false,
      capDrop: ['ALL'],
      securityOpt: ['no-new-privileges'],
      memoryBytes: 16 * 1024 * 1024,
      pidsLimit: 1,
    });
  try {
    try {
      id = await create();
    } catch (error) {
      // A controller killed between this helper's create and its removal left it behind under
      // the same name (seen on resume after a SIGKILL: every attempt's launch got 409): it is
      // ours, never started, and goes before the create is tried again.
      if (!(error instanceof ResourceConflictError)) throw error;
      await docker.removeContainer(options.name, { force: true }).catch(() => undefined);
      id = await create();
    }
    await docker.putArchive(id, '/', directoryEntryTar(segment, options.owner, WORKSPACE_MODE));
  } catch (error) {
    throw new WorkspaceOwnerError(options.volume, id, { cause: error });
  } finally {
    if (id !== undefined) await docker.removeContainer(id, { force: true }).catch(() => undefined);
  }
}
