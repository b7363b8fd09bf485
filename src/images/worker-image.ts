/**
 * The reference worker image, `keelhaul/worker:<version>`, built offline: no registry, no
 * base image. The build context is a staging directory of symlinks to host files — the node
 * binary that runs keelhaul, every library `ldd` lists for it, a static busybox — plus the
 * compiled worker (`dist/src/worker/*.js`). `DockerClient.buildImage` streams the symlinks'
 * content, so the ~100 MB node binary is never copied to disk.
 *
 * The image follows docs/worker-contract.md; images/worker/README.md explains the layout,
 * the labels and the `FROM node` alternative for hosts that can pull.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Label, type DockerClient } from '../docker/index.js';
import { keelhaulVersion, packageRoot } from '../version.js';

/** Image repository of the reference worker. */
export const WORKER_IMAGE_REPOSITORY = 'keelhaul/worker';

/** Where the worker's entry point lives inside the image (ENTRYPOINT of images/worker/Dockerfile). */
export const WORKER_IMAGE_ENTRYPOINT = '/opt/keelhaul/worker/main.js';

/** busybox gives the image `sh`, `mkdir`, `chown` for its RUN steps and for debugging. */
const BUSYBOX_PATH = '/bin/busybox';

/**
 * Bumped when the way the context is assembled changes in a way the digest inputs would not
 * show (a new file written into the staging tree, a changed layout), so old images rebuild.
 */
const CONTEXT_FORMAT = 'keelhaul-worker-context/1';

/** `keelhaul/worker:<version>`, e.g. `keelhaul/worker:0.1.0`. */
export function workerImageTag(version: string = keelhaulVersion): string {
  return `${WORKER_IMAGE_REPOSITORY}:${version}`;
}

/** The slice of the Docker client an image build needs. */
export type ImageBuildClient = Pick<DockerClient, 'inspectImage' | 'buildImage' | 'removeImageIfUntagged'>;

/** Options of {@link buildWorkerImage}. */
export interface BuildWorkerImageOptions {
  /**
   * Build even when an image with the tag already carries the same context digest.
   * @default false
   */
  readonly force?: boolean;
  /** Called with each line of the builder's output, without its newline. */
  readonly onProgress?: (line: string) => void;
  /**
   * Tag to build.
   * @default workerImageTag() — `keelhaul/worker:<keelhaul version>`
   */
  readonly tag?: string;
  /** Aborts the build; the promise then rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/** What {@link buildWorkerImage} did. */
export interface WorkerImageBuild {
  /** The tag that now points at the image. */
  readonly tag: string;
  /** The image id, `sha256:<64 hex>`. */
  readonly imageId: string;
  /** `true` when an image with the same context digest already existed and nothing was built. */
  readonly cached: boolean;
  /** sha256 (hex) of the build inputs; stored in the image's `dev.keelhaul.context-digest` label. */
  readonly contextDigest: string;
  /** Wall time of the whole call, in milliseconds. */
  readonly durationMs: number;
}

/** Which input of the worker image is missing or unusable. */
export type WorkerImageInput = 'dockerfile' | 'worker' | 'busybox' | 'node-libraries';

/**
 * A host file the worker image is made of is missing or unusable (no compiled worker, no
 * static busybox, a library `ldd` cannot find). The message says how to fix it.
 */
export class WorkerImageInputError extends Error {
  override name = 'WorkerImageInputError';
  /** Which input is missing. */
  readonly input: WorkerImageInput;
  /** The host path that was looked at. */
  readonly path: string;
  constructor(input: WorkerImageInput, path: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.input = input;
    this.path = path;
  }
}

/**
 * Builds the reference worker image, or finds it already built.
 *
 * The digest of the inputs (Dockerfile content, each host file's path, size and mtimeMs, the
 * worker's `.js` content, keelhaul's version) is compared with the `dev.keelhaul.context-digest`
 * label of the image the tag points at: equal and not `force` → `{cached: true}` without a
 * build (a few ms: one `ldd`, some stats, one image inspect). Otherwise the context is staged
 * under `<packageRoot>/.keelhaul/build/worker/` (removed afterwards) and built with labels
 * `dev.keelhaul.version`, `dev.keelhaul.context-digest`, `org.opencontainers.image.title`
 * and `org.opencontainers.image.version`. An image the tag pointed at before and that no tag
 * names any more is removed, so rebuilds do not pile up `<none>` images.
 *
 * @throws {WorkerImageInputError} when `dist/src/worker/main.js` is missing (run `npm run
 *   build`), `/bin/busybox` is missing (`apt-get install busybox-static`), `ldd` fails or
 *   lists a library it cannot find, or the worker imports something the image does not hold.
 * @throws {ImageBuildError} when the daemon's build fails (its `log` holds the last lines).
 * @throws {DaemonUnavailableError} when no daemon answers.
 */
export async function buildWorkerImage(docker: ImageBuildClient, options: BuildWorkerImageOptions = {}): Promise<WorkerImageBuild> {
  const started = performance.now();
  const { force = false, onProgress, tag = workerImageTag(), signal } = options;
  signal?.throwIfAborted();
  const version = keelhaulVersion;

  const dockerfilePath = join(packageRoot, 'images', 'worker', 'Dockerfile');
  const dockerfile = await readFile(dockerfilePath).catch((error: unknown) => {
    throw new WorkerImageInputError('dockerfile', dockerfilePath, `The worker image's Dockerfile is missing at ${dockerfilePath}; keelhaul's package is incomplete.`, {
      cause: error,
    });
  });
  const workerFiles = await collectWorkerFiles(join(packageRoot, 'dist', 'src', 'worker'));
  const hostFiles = await collectRuntimeFiles(process.execPath);
  const contextDigest = digestContext({ version, dockerfile, hostFiles, workerFiles });

  const existing = await docker.inspectImage(tag);
  if (!force && existing?.labels[Label.contextDigest] === contextDigest) {
    return { tag, imageId: existing.id, cached: true, contextDigest, durationMs: performance.now() - started };
  }

  const buildRoot = join(packageRoot, '.keelhaul', 'build', 'worker');
  await mkdir(buildRoot, { recursive: true });
  // A fresh directory per build: two builds at once (a CLI and a test) cannot clobber each other.
  const contextDir = await mkdtemp(join(buildRoot, 'context-'));
  try {
    await stageContext(contextDir, dockerfile, hostFiles, workerFiles);
    const { imageId } = await docker.buildImage({
      contextDir,
      dockerfile: 'Dockerfile',
      tag,
      labels: {
        [Label.version]: version,
        [Label.contextDigest]: contextDigest,
        'org.opencontainers.image.title': 'keelhaul-worker',
        'org.opencontainers.image.version': version,
      },
      ...(onProgress ? { onProgress } : {}),
      ...(signal ? { signal } : {}),
    });
    if (existing && existing.id !== imageId) await docker.removeImageIfUntagged(existing.id);
    return { tag, imageId, cached: false, contextDigest, durationMs: performance.now() - started };
  } finally {
    await rm(contextDir, { recursive: true, force: true });
  }
}

/** A host file that goes into the image's runtime layer. */
interface HostFile {
  /** Absolute path inside the image, e.g. `/lib64/ld-linux-x86-64.so.2` (as `ldd` prints it). */
  readonly imagePath: string;
  /** The real file on the host (symlinks resolved), whose content the image holds. */
  readonly hostPath: string;
  /** Size in bytes. */
  readonly size: number;
  /** Modification time, ms since the epoch. */
  readonly mtimeMs: number;
}

/** A compiled worker module, read into memory (they are small). */
interface WorkerFile {
  /** Path relative to `dist/src/worker/`, with `/` separators. */
  readonly relativePath: string;
  readonly content: Buffer;
}

/**
 * The node binary at `/usr/bin/node`, every library `ldd` lists for it at the path `ldd`
 * prints, and busybox at `/bin/busybox` (plus its libraries if it is not the static build).
 */
async function collectRuntimeFiles(nodeExecPath: string): Promise<HostFile[]> {
  const files = new Map<string, HostFile>();
  const add = async (imagePath: string, hostPath: string, input: WorkerImageInput): Promise<void> => {
    if (files.has(imagePath)) return;
    let real: string;
    try {
      real = await realpath(hostPath);
    } catch (error) {
      throw new WorkerImageInputError(input, hostPath, missingMessage(input, hostPath), { cause: error });
    }
    const info = await stat(real);
    files.set(imagePath, { imagePath, hostPath: real, size: info.size, mtimeMs: info.mtimeMs });
  };

  const node = await realpath(nodeExecPath);
  await add('/usr/bin/node', node, 'node-libraries');
  for (const lib of await sharedLibraries(node)) await add(lib, lib, 'node-libraries');

  await add(BUSYBOX_PATH, BUSYBOX_PATH, 'busybox');
  for (const lib of await sharedLibraries(BUSYBOX_PATH)) await add(lib, lib, 'node-libraries');

  return [...files.values()].sort((a, b) => (a.imagePath < b.imagePath ? -1 : a.imagePath > b.imagePath ? 1 : 0));
}

function missingMessage(input: WorkerImageInput, path: string): string {
  switch (input) {
    case 'busybox':
      return `The worker image needs a static busybox at ${path} (it gives the image a shell for its RUN steps); install it with \`apt-get install busybox-static\`.`;
    default:
      return `The worker image needs ${path}, which does not exist on this host.`;
  }
}

/**
 * Absolute paths of the shared libraries `ldd` lists for `binary`, including the dynamic
 * loader (`/lib64/ld-linux-x86-64.so.2` on glibc x86-64), in the form `ldd` prints them —
 * the loader path is baked into the ELF header and the libraries are found by the loader's
 * built-in search path, so the image must hold them at exactly those paths. The vDSO
 * (`linux-vdso.so.1`) has no file and is skipped. A static binary gives `[]`.
 */
async function sharedLibraries(binary: string): Promise<string[]> {
  let stdout: string;
  try {
    stdout = await new Promise<string>((resolvePromise, reject) => {
      execFile('ldd', [binary], { encoding: 'utf8' }, (error, out, err) => {
        // glibc's ldd exits 1 with "not a dynamic executable" for a static binary.
        if (error && /not a dynamic executable|statically linked/.test(`${out}${err}`)) resolvePromise('');
        else if (error) reject(Object.assign(error, { stderr: err }));
        else resolvePromise(out);
      });
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why = code === 'ENOENT' ? '`ldd` is not installed' : `\`ldd ${binary}\` failed: ${(error as Error).message}`;
    throw new WorkerImageInputError('node-libraries', binary, `Cannot list the shared libraries of ${binary}: ${why}. The worker image copies them from the host.`, {
      cause: error,
    });
  }

  const libraries: string[] = [];
  for (const line of stdout.split('\n')) {
    const notFound = /^\s*(\S+)\s+=>\s+not found/.exec(line);
    if (notFound) {
      throw new WorkerImageInputError('node-libraries', binary, `\`ldd ${binary}\` cannot find the library ${notFound[1]}; the worker image needs every library node loads.`);
    }
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
    const match = /^\s*(?:\S+\s+=>\s+)?(\/\S+)\s+\(0x[0-9a-f]+\)\s*$/.exec(line);
    if (match?.[1]) libraries.push(posix.normalize(match[1]));
  }
  return libraries;
}

/**
 * Every `.js` file under `dist/src/worker/` (recursively), read into memory. Checks that the
 * entry point exists and that the worker imports only node builtins and its own files: the
 * image holds no node_modules and nothing else of keelhaul, and an import of either would
 * only show up as ERR_MODULE_NOT_FOUND when a container starts.
 */
async function collectWorkerFiles(workerDir: string): Promise<WorkerFile[]> {
  const relativePaths: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && entry.name.endsWith('.js')) relativePaths.push(relative(workerDir, full).split(sep).join('/'));
    }
  };
  try {
    await walk(workerDir);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
  if (!relativePaths.includes('main.js')) {
    throw new WorkerImageInputError(
      'worker',
      join(workerDir, 'main.js'),
      `The compiled worker is missing: ${join(workerDir, 'main.js')} does not exist. Run \`npm run build\` first.`,
    );
  }
  relativePaths.sort();
  const files = await Promise.all(relativePaths.map(async (relativePath) => ({ relativePath, content: await readFile(join(workerDir, relativePath)) })));
  const known = new Set(relativePaths);
  for (const file of files) {
    for (const specifier of importSpecifiers(file.content.toString('utf8'))) {
      if (specifier.startsWith('.') || specifier.startsWith('/')) {
        const target = posix.normalize(posix.join(posix.dirname(file.relativePath), specifier));
        if (!specifier.startsWith('/') && known.has(target)) continue;
      } else if (isBuiltin(specifier)) {
        continue;
      }
      throw new WorkerImageInputError(
        'worker',
        join(workerDir, file.relativePath),
        `The worker module ${file.relativePath} imports '${specifier}', which the worker image does not hold: it carries only node and the files of src/worker/. Keep the worker free of npm dependencies and of imports from outside src/worker/.`,
      );
    }
  }
  return files;
}

/**
 * Module specifiers of static imports/re-exports and literal dynamic imports in compiled
 * (tsc, ESM) JavaScript. A regex is enough for tsc's output: one statement per import.
 */
function importSpecifiers(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [/^\s*(?:import|export)\s[^'";]*?\sfrom\s*['"]([^'"]+)['"]/gm, /^\s*import\s*['"]([^'"]+)['"]/gm, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) if (match[1]) specifiers.push(match[1]);
  }
  return specifiers;
}

/** sha256 (hex) over everything that decides the image's content. */
function digestContext(inputs: { version: string; dockerfile: Buffer; hostFiles: readonly HostFile[]; workerFiles: readonly WorkerFile[] }): string {
  const hash = createHash('sha256');
  const field = (value: string | Buffer): void => {
    // Length-prefixed, so that no two different input lists hash the same bytes.
    hash.update(`${Buffer.byteLength(value)}:`);
    hash.update(value);
  };
  field(CONTEXT_FORMAT);
  field(inputs.version);
  field(inputs.dockerfile);
  for (const file of inputs.hostFiles) {
    // Host binaries are ~100 MB: path + size + mtime stands in for their content.
    field(file.imagePath);
    field(file.hostPath);
    field(String(file.size));
    field(String(file.mtimeMs));
  }
  for (const file of inputs.workerFiles) {
    field(file.relativePath);
    field(file.content);
  }
  return hash.digest('hex');
}

/**
 * Writes the build context:
 * - `Dockerfile` — a copy of images/worker/Dockerfile;
 * - `rootfs/` — symlinks to host files at their image paths (node, libraries, busybox), the
 *   image's big layer, which stays cached in the builder while only the worker changes;
 * - `app/opt/keelhaul/` — the worker's `.js` files (written from the bytes that were hashed,
 *   so the image matches its digest) and a `package.json` with `{"type":"module"}`, which
 *   makes node load them as ES modules.
 */
async function stageContext(contextDir: string, dockerfile: Buffer, hostFiles: readonly HostFile[], workerFiles: readonly WorkerFile[]): Promise<void> {
  await writeFile(join(contextDir, 'Dockerfile'), dockerfile);
  const rootfs = join(contextDir, 'rootfs');
  for (const file of hostFiles) {
    const link = resolve(rootfs, `.${file.imagePath}`);
    await mkdir(dirname(link), { recursive: true });
    await symlink(file.hostPath, link);
  }
  const app = join(contextDir, 'app', 'opt', 'keelhaul');
  await mkdir(join(app, 'worker'), { recursive: true });
  await writeFile(join(app, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
  for (const file of workerFiles) {
    const target = join(app, 'worker', ...file.relativePath.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content);
  }
}
