import { open, readFile } from 'node:fs/promises';

/** One line of `completions.jsonl`: a task completed, by which attempt. */
export interface CompletionEntry {
  readonly task: string;
  readonly attempt: number;
  readonly containerId: string;
  /** The controller (pid) that recorded it. */
  readonly controllerPid: number;
  readonly ts: string;
}

/**
 * The completion ledger, `completions.jsonl`: the controller appends one line per
 * completed task, fsynced, before it records the task as completed in state.json. A
 * resumed controller reads it first, so a task in the ledger never runs again, and the
 * exactly-once check counts its lines per task.
 */
export class CompletionLedger {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }

  /** Appends and fsyncs one entry (O_APPEND: concurrent appends do not interleave within a line). */
  async append(entry: CompletionEntry): Promise<void> {
    const file = await open(this.path, 'a');
    try {
      await file.write(`${JSON.stringify(entry)}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
  }

  /** Every complete entry; a line cut short by a crash is ignored (it was never fsynced). ENOENT → []. */
  async read(): Promise<CompletionEntry[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const entries: CompletionEntry[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        entries.push(JSON.parse(line) as CompletionEntry);
      } catch {
        // A torn last line: its append never completed, so the completion was not recorded.
      }
    }
    return entries;
  }
}
