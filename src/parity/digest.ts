import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readRunEventLines } from '../events/index.js';
import type { RunReport } from '../report/index.js';
import { WORKSPACE_SNAPSHOT_FILE, type WorkspaceSnapshot } from '../backends/workspace-snapshot.js';

/** One attempt as parity compares it. */
export interface AttemptDigest {
  readonly attempt: number;
  /** `completed`, `killed`, `failed`, `oom`, `hung`, `lost` (report.json `attempts[].outcome`). */
  readonly outcome: string;
  /** Exit code; 128 + n for a signal n; null when it never exited. */
  readonly exitCode: number | null;
  /**
   * The types of the worker events the attempt emitted, in `seq` order, heartbeats left
   * out: their number is timing, not behaviour (docs/worker-contract.md, *Determinism*).
   */
  readonly events: readonly string[];
  /**
   * For an attempt a fault hit: the event types recorded after the first such fault fired,
   * its terminal event aside (left out of `events`). What a worker emits between a fault's
   * trigger and the fault landing is timing, not behaviour (a killed container said `started
   * progress`, the same killed process `started`): parity shows them and does not compare them
   * (issue 16, item 11). Its terminal event (`task.failed` after a stop's SIGTERM) is its
   * reaction to the fault, and stays in `events`.
   */
  readonly eventsAfterFault?: readonly string[];
}

/** The events that end an attempt (docs/worker-contract.md): compared even after a fault fired. */
const TERMINAL_EVENTS = new Set(['task.completed', 'task.failed']);

/** One task as parity compares it. */
export interface TaskDigest {
  /** Final state: `completed`, `failed`, `not-run`. */
  readonly state: string;
  readonly attempts: readonly AttemptDigest[];
  /** The workspace's file tree, path → SHA-256; null when no snapshot was taken. */
  readonly files: Readonly<Record<string, string>> | null;
}

/** The outcome of one run, reduced to what must not depend on the backend. */
export interface OutcomeDigest {
  readonly backend: 'docker' | 'local';
  readonly runId: string;
  readonly runDir: string;
  readonly seed: number;
  /** The run's status (`passed`, `failed`). */
  readonly status: string;
  /** Task id → digest, in the scenario's task order. */
  readonly tasks: Readonly<Record<string, TaskDigest>>;
  /** Why the file trees are missing (a snapshot could not be taken); absent when they are there. */
  readonly filesUnavailable?: string;
}

/**
 * Reduces a finished run directory to its outcome digest: task states and attempts from
 * `report.json`, event types per attempt from `events.jsonl`, file trees from
 * `workspaces.json` (written when the run was started with `captureWorkspaces`).
 *
 * @throws {Error} (ENOENT and the like) when `report.json` cannot be read; `EventsFileReadError` (src/events/)
 *   (with `code` ENOENT and the like) when `events.jsonl` cannot be
 */
export async function digestRun(runDir: string): Promise<OutcomeDigest> {
  const report = JSON.parse(await readFile(join(runDir, 'report.json'), 'utf8')) as RunReport;
  const events = new Map<string, { seq: number; order: number; type: string; ts: number }[]>();
  let order = 0;
  // The tolerant reader of src/events/: a torn last line (or any line that is not an event) is skipped.
  for await (const entry of readRunEventLines(join(runDir, 'events.jsonl'))) {
    if (entry.kind !== 'event') continue;
    const parsed = entry.event;
    if (parsed.type !== 'worker.event' || !parsed.task || !parsed.attempt || !parsed.event?.type) continue;
    if (parsed.event.type === 'heartbeat') continue;
    const key = `${parsed.task}#${parsed.attempt}`;
    const list = events.get(key) ?? [];
    list.push({ seq: parsed.event.seq ?? Number.MAX_SAFE_INTEGER, order: order++, type: parsed.event.type, ts: Date.parse(parsed.ts) });
    events.set(key, list);
  }
  let snapshot: WorkspaceSnapshot | undefined;
  let filesUnavailable: string | undefined;
  try {
    snapshot = JSON.parse(await readFile(join(runDir, WORKSPACE_SNAPSHOT_FILE), 'utf8')) as WorkspaceSnapshot;
    filesUnavailable = snapshot.unavailable;
  } catch {
    filesUnavailable = `no ${WORKSPACE_SNAPSHOT_FILE} in the run directory (the run was not started with captureWorkspaces)`;
  }
  const tasks: Record<string, TaskDigest> = {};
  for (const t of report.tasks) {
    const attempts = report.attempts
      .filter((a) => a.task === t.task)
      .sort((x, y) => x.attempt - y.attempt)
      .map((a): AttemptDigest => {
        const all = (events.get(`${t.task}#${a.attempt}`) ?? []).sort((x, y) => x.seq - y.seq || x.order - y.order);
        // The first fault that hit this attempt: what came after its trigger is timing.
        // `?? []`: a report.json from before faults were recorded per attempt.
        const fault = (report.faults ?? [])
          .filter((f) => (a.faults ?? []).includes(f.faultId) && f.firedAt !== null)
          .sort((x, y) => Date.parse(x.firedAt!) - Date.parse(y.firedAt!))[0];
        if (fault === undefined) return { attempt: a.attempt, outcome: a.outcome, exitCode: a.exitCode, events: all.map((e) => e.type) };
        let fired = Date.parse(fault.firedAt!);
        // An `on` trigger counted an event type (`on the 2nd task.started`): when this attempt's
        // own event of that type set it off, the cut is right after it — events the same
        // stdout chunk carried, recorded before the fault's clock started, are timing too.
        const triggerType = /\bthe \d+(?:st|nd|rd|th) (\S+)/.exec(fault.trigger)?.[1];
        const own = triggerType ? all.filter((e) => e.type === triggerType && e.ts <= fired).at(-1) : undefined;
        if (own) fired = own.ts;
        // After the firing, the worker's terminal event is its reaction to the fault (a stop's
        // SIGTERM → task.failed `terminated`), behaviour to compare; what else it got out before
        // the fault landed (a progress line) is timing.
        const cut = own ? all.indexOf(own) + 1 : all.findIndex((e) => e.ts > fired);
        const before = cut < 0 ? all : all.slice(0, cut);
        const after = cut < 0 ? [] : all.slice(cut);
        const terminal = after.filter((e) => TERMINAL_EVENTS.has(e.type));
        return {
          attempt: a.attempt,
          outcome: a.outcome,
          exitCode: a.exitCode,
          events: [...before, ...terminal].map((e) => e.type),
          eventsAfterFault: after.filter((e) => !TERMINAL_EVENTS.has(e.type)).map((e) => e.type),
        };
      });
    const tree = snapshot && !snapshot.unavailable ? (snapshot.tasks[t.task] ?? {}) : undefined;
    tasks[t.task] = {
      state: t.outcome,
      attempts,
      files: tree
        ? Object.fromEntries(
            Object.entries(tree)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([path, f]) => [path, f.sha256]),
          )
        : null,
    };
  }
  return {
    backend: report.backend,
    runId: report.runId,
    runDir,
    seed: report.seed,
    status: report.status,
    tasks,
    ...(filesUnavailable !== undefined ? { filesUnavailable } : {}),
  };
}

/** One compared value: a row of the comparison table. */
export interface ParityRow {
  /** The task, or null for a run-level field. */
  readonly task: string | null;
  /** `status`, `state`, `attempts`, `attempt 2 outcome`, `attempt 1 exit code`, `attempt 1 events`, `files`, `file out/x.txt`. */
  readonly field: string;
  readonly docker: string;
  readonly local: string;
  readonly same: boolean;
}

const ABSENT = '(absent)';

/** Event types without the `task.` prefix, joined: `started progress completed`. */
function eventsText(events: readonly string[] | undefined): string {
  return events === undefined ? ABSENT : events.map((e) => e.replace(/^task\./, '')).join(' ') || '(none)';
}

/**
 * Compares two digests field by field, docker on the left: the run's status, then per
 * task its final state, its number of attempts, each attempt's outcome, exit code and
 * event types (for an attempt a fault hit, those recorded before the fault fired; the rest
 * is a row shown as the same), and its workspace tree (one row for the tree, plus one per path that
 * differs). File trees are compared only when both runs have them.
 */
export function compareDigests(docker: OutcomeDigest, local: OutcomeDigest): ParityRow[] {
  const rows: ParityRow[] = [];
  const add = (task: string | null, field: string, d: string, l: string): void => {
    rows.push({ task, field, docker: d, local: l, same: d === l });
  };
  add(null, 'status', docker.status, local.status);
  const taskIds = [...Object.keys(docker.tasks), ...Object.keys(local.tasks).filter((t) => !(t in docker.tasks))];
  for (const task of taskIds) {
    const d = docker.tasks[task];
    const l = local.tasks[task];
    add(task, 'state', d?.state ?? ABSENT, l?.state ?? ABSENT);
    add(task, 'attempts', String(d?.attempts.length ?? ABSENT), String(l?.attempts.length ?? ABSENT));
    const count = Math.max(d?.attempts.length ?? 0, l?.attempts.length ?? 0);
    for (let i = 0; i < count; i++) {
      const da = d?.attempts[i];
      const la = l?.attempts[i];
      const n = da?.attempt ?? la?.attempt ?? i + 1;
      add(task, `attempt ${n} outcome`, da?.outcome ?? ABSENT, la?.outcome ?? ABSENT);
      add(task, `attempt ${n} exit code`, da ? String(da.exitCode) : ABSENT, la ? String(la.exitCode) : ABSENT);
      add(task, `attempt ${n} events`, eventsText(da?.events), eventsText(la?.events));
      if (da?.eventsAfterFault !== undefined || la?.eventsAfterFault !== undefined) {
        // Shown, never compared: timing between a fault's trigger and its landing.
        rows.push({
          task,
          field: `attempt ${n} events after the fault (not compared)`,
          docker: eventsText(da?.eventsAfterFault),
          local: eventsText(la?.eventsAfterFault),
          same: true,
        });
      }
    }
    if (d?.files && l?.files) {
      const paths = [...new Set([...Object.keys(d.files), ...Object.keys(l.files)])].sort();
      const differing = paths.filter((p) => d.files![p] !== l.files![p]);
      add(task, 'files', `${Object.keys(d.files).length} file(s)`, `${Object.keys(l.files).length} file(s)${differing.length ? `, ${differing.length} differ` : ''}`);
      if (differing.length) rows[rows.length - 1] = { ...rows[rows.length - 1]!, same: false };
      for (const p of differing) add(task, `file ${p}`, d.files[p]?.slice(0, 12) ?? ABSENT, l.files[p]?.slice(0, 12) ?? ABSENT);
    }
  }
  return rows;
}

/** The rows that differ. */
export function parityDifferences(rows: readonly ParityRow[]): ParityRow[] {
  return rows.filter((r) => !r.same);
}

/**
 * The comparison as a plain-text table (task, field, docker, local, `=` or `≠`), one row
 * per compared value; with `onlyDifferences`, only the rows that differ. Values longer
 * than `width` characters are cut with `…`. `columns` names the two sides (a SUT's modes).
 */
export function renderParityTable(rows: readonly ParityRow[], options: { onlyDifferences?: boolean; width?: number; columns?: readonly [string, string] } = {}): string {
  const width = options.width ?? 48;
  const cut = (s: string): string => (s.length > width ? `${s.slice(0, width - 1)}…` : s);
  const shown = options.onlyDifferences ? rows.filter((r) => !r.same) : rows;
  const [left, right] = options.columns ?? ['docker', 'local'];
  const table = [['task', 'field', left, right, ''], ...shown.map((r) => [r.task ?? '(run)', r.field, cut(r.docker), cut(r.local), r.same ? '=' : '≠'])];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  return table
    .map((row) =>
      row
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
