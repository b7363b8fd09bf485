/** workspace-compliance: each completed task changed only the workspace paths it declared. */
import type { CheckResult } from './invariants.js';

/** What a completed attempt's workspace held once it exited, listed from the volume itself. */
export interface WorkspaceListing {
  readonly task: string;
  readonly attempt: number;
  /** The task's declared `writes`; undefined when it declares none (then it is not checked). */
  readonly declared?: readonly string[] | undefined;
  /**
   * Entries found under /workspace, relative, `/`-separated; directories end in `/`.
   * Undefined when the listing could not be taken (see `error`).
   */
  readonly entries?: readonly string[] | undefined;
  /** Why the listing is missing. */
  readonly error?: string | undefined;
}

/** Whether `path` (a file, or a directory ending in `/`) is one of `declared` or lies under or above one. */
export function isDeclared(path: string, declared: readonly string[]): boolean {
  if (path.endsWith('/')) {
    // A directory holding a declared path (the worker creates the parents), or inside a declared directory.
    const dir = path.slice(0, -1);
    return declared.some((d) => d.startsWith(`${dir}/`) || d === dir || dir.startsWith(`${d.replace(/\/$/, '')}/`));
  }
  return declared.some((d) => path === d || path.startsWith(`${d.replace(/\/$/, '')}/`));
}

/**
 * workspace-compliance: for each completed attempt of a task that declares `writes`,
 * every entry the listing of its workspace volume shows is a declared path, under a
 * declared directory, or a parent directory of one. The listing comes from the volume
 * (src/controller/workspace-lister.ts), not from the worker's own `files` report. The
 * workspace starts empty and belongs to one task, so whatever it holds at the end the
 * task's attempts put there. `ignore`: files a fault wrote, not the task (fill-disk's
 * `.keelhaul-fill`). A completed attempt with no listing fails: nothing proves it complied.
 */
export function checkWorkspaceCompliance(listings: readonly WorkspaceListing[], ignore: readonly string[] = []): CheckResult {
  const evidence: string[] = [];
  const unchecked = [...new Set(listings.filter((l) => l.declared === undefined).map((l) => l.task))];
  const checked = listings.filter((l) => l.declared !== undefined);
  let undeclared = 0;
  for (const l of checked) {
    const who = `${l.task} attempt ${l.attempt}`;
    if (l.entries === undefined) {
      evidence.push(`${who}: no listing of its workspace${l.error ? ` (${l.error})` : ''}`);
      continue;
    }
    const bad = l.entries.filter((e) => !ignore.includes(e) && !isDeclared(e, l.declared!));
    undeclared += bad.length;
    for (const path of bad) evidence.push(`${who}: wrote ${path}, not in writes [${l.declared!.join(', ')}]`);
  }
  if (unchecked.length > 0) evidence.push(`not checked (no writes declared): ${unchecked.join(', ')}`);
  const problems = evidence.length - (unchecked.length > 0 ? 1 : 0);
  const paths = evidence.filter((e) => e.includes(': wrote ')).map((e) => e.split(': wrote ')[1]!.split(', not in')[0]);
  return {
    name: 'workspace-compliance',
    ok: problems === 0,
    expected: 'each completed task that declares writes leaves only those paths (and their parent directories) in its workspace',
    observed:
      problems === 0
        ? `${checked.length} completed attempt(s) checked, every path declared${unchecked.length ? `; ${unchecked.length} task(s) without writes not checked` : ''}`
        : `${undeclared} undeclared path(s)${paths.length ? `: ${[...new Set(paths)].slice(0, 10).join(', ')}` : ''}; ${problems} problem(s) among ${checked.length} attempt(s)`,
    evidence: evidence.slice(0, 50),
  };
}
