import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/*
 * keelhaul's one atomic file writer: state.json, the report files, a private daemon's state
 * and config, parity and soak files. It sits beside the parts, like version.ts, and imports
 * none of them, so any part may use it.
 */

/**
 * Writes `data` to `path` atomically: a temp file beside it, fsync, rename over `path`,
 * then fsync of the directory so the rename itself survives a power cut. A reader sees
 * the old file or the new one, never half of one. The temp name adds random bytes so that two writers of the same
 * path in one process do not share a temp file. The temp file is removed on failure.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(path));
}

/** fsync of a directory makes a rename in it durable (POSIX); not possible on Windows, so best effort. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EPERM on platforms that cannot open or sync a directory: the rename is still atomic.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
