import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { Label, workspaceGeneration, workspaceSnapshotName, type DockerClient } from '../docker/index.js';

/**
 * A task workspace's file tree at the end of a run: each regular file's `/`-separated
 * path relative to the workspace, its size in bytes and its lowercase hex SHA-256.
 * Directories are implied by the paths; empty directories are not recorded.
 */
export type WorkspaceTree = Record<string, { readonly bytes: number; readonly sha256: string }>;

/** `workspaces.json` in a run directory: each task's workspace tree, taken before cleanup. */
export interface WorkspaceSnapshot {
  readonly backend: 'docker' | 'local';
  /** Task id → its workspace tree (the task's last workspace when a disk-full retry got a fresh one). */
  readonly tasks: Readonly<Record<string, WorkspaceTree>>;
  /** Why trees could not be taken (e.g. a tmpfs volume whose data went with its last container); absent when they were. */
  readonly unavailable?: string;
}

/** The file name of the snapshot in a run directory. */
export const WORKSPACE_SNAPSHOT_FILE = 'workspaces.json';

/** Files keelhaul itself writes into workspaces (the fill-disk filler), left out of trees. */
const HARNESS_FILES = new Set(['.keelhaul-fill']);

/**
 * The file tree of a directory: every regular file below it (symlinks and other special
 * files are left out), with size and SHA-256. The same walk as {@link TREE_SCRIPT} does
 * inside a container.
 */
export async function hashDirectory(root: string): Promise<WorkspaceTree> {
  const tree: Record<string, { bytes: number; sha256: string }> = {};
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(join(dir, entry.name), path);
      else if (entry.isFile() && !HARNESS_FILES.has(path)) {
        const data = await readFile(join(dir, entry.name));
        tree[path] = { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
      }
    }
  };
  await walk(root, '');
  return tree;
}

/**
 * The walk of {@link hashDirectory} as a script for `node -e` inside the worker image:
 * argv holds `task=/mount/point` pairs; prints one JSON object `{task: tree}`.
 */
export const TREE_SCRIPT = `
const { createHash } = require('node:crypto');
const { readdirSync, readFileSync } = require('node:fs');
const skip = new Set(${JSON.stringify([...HARNESS_FILES])});
const out = {};
for (const pair of process.argv.slice(1)) {
  const i = pair.indexOf('=');
  const task = pair.slice(0, i);
  const tree = {};
  const walk = (dir, prefix) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = prefix ? prefix + '/' + e.name : e.name;
      if (e.isDirectory()) walk(dir + '/' + e.name, path);
      else if (e.isFile() && !skip.has(path)) {
        const data = readFileSync(dir + '/' + e.name);
        tree[path] = { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
      }
    }
  };
  walk(pair.slice(i + 1), '');
  out[task] = tree;
}
process.stdout.write(JSON.stringify(out));
`;

/** The workspace trees of local workspace directories (task → directory). */
export async function snapshotLocalWorkspaces(directories: ReadonlyMap<string, string>): Promise<WorkspaceSnapshot> {
  const tasks: Record<string, WorkspaceTree> = {};
  for (const [task, dir] of [...directories].sort(([a], [b]) => (a < b ? -1 : 1))) tasks[task] = await hashDirectory(dir);
  return { backend: 'local', tasks };
}

/**
 * The workspace trees of a docker run, before its cleanup: finds the run's workspace
 * volumes by label query (`role=workspace`, one per task; the latest generation when a
 * disk-full retry made another), mounts them all into one labelled helper container of the
 * run's worker image (non-root, no network, read-only root) that hashes them with node,
 * and removes the helper.
 *
 * @param labels the helper's labels (the run's `probe` label set, so cleanup finds it)
 * @throws {DockerError} when the daemon refuses; the caller records the snapshot as unavailable
 */
export async function snapshotDockerWorkspaces(
  docker: DockerClient,
  options: { runId: string; image: string; labels: Record<string, string>; sizeLimited: boolean },
): Promise<WorkspaceSnapshot> {
  if (options.sizeLimited) {
    // DOCKER-NOTES "Disk full": a tmpfs volume's data is gone once no container uses it.
    return { backend: 'docker', tasks: {}, unavailable: 'workspace.size makes each workspace a tmpfs volume, whose files are gone once its last container exited' };
  }
  const volumes = await docker.listVolumes({ labels: { [Label.run]: options.runId, [Label.role]: 'workspace' } });
  const latest = new Map<string, string>();
  for (const v of volumes) {
    const task = v.labels[Label.task];
    if (!task) continue;
    const current = latest.get(task);
    if (current === undefined || workspaceGeneration(v.name, options.runId, task) > workspaceGeneration(current, options.runId, task)) latest.set(task, v.name);
  }
  if (latest.size === 0) return { backend: 'docker', tasks: {} };
  const tasks = [...latest.keys()].sort();
  const id = await docker.createContainer({
    name: workspaceSnapshotName(options.runId, Date.now().toString(36)),
    image: options.image,
    labels: options.labels,
    env: {},
    entrypoint: ['/usr/bin/node', '-e', TREE_SCRIPT],
    cmd: tasks.map((t, i) => `${t}=/ws/${i}`),
    user: '1000:1000',
    networkMode: 'none',
    mounts: tasks.map((t, i) => ({ type: 'volume' as const, source: latest.get(t)!, target: `/ws/${i}`, readOnly: true, noCopy: true })),
    readonlyRootfs: true,
    capDrop: ['ALL'],
    securityOpt: ['no-new-privileges'],
    memoryBytes: 256 * 1024 * 1024,
    pidsLimit: 16,
  });
  try {
    await docker.startContainer(id);
    const { exitCode } = await docker.waitContainer(id);
    const output = await docker.containerLogs(id, { follow: false });
    const [stdout, stderr] = await Promise.all([readAll(output.stdout), readAll(output.stderr)]);
    if (exitCode !== 0) throw new Error(`the workspace snapshot container exited ${exitCode}: ${stderr.slice(0, 500)}`);
    return { backend: 'docker', tasks: JSON.parse(stdout) as Record<string, WorkspaceTree> };
  } finally {
    await docker.removeContainer(id, { force: true }).catch(() => undefined);
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes `workspaces.json` into a run directory (atomically). */
export async function writeWorkspaceSnapshot(runDir: string, snapshot: WorkspaceSnapshot): Promise<void> {
  await writeFileAtomic(join(runDir, WORKSPACE_SNAPSHOT_FILE), `${JSON.stringify(snapshot, null, 2)}\n`);
}
