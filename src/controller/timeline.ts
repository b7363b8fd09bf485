/**
 * Reading the run's own timeline back: the events an earlier controller of the same run
 * recorded in events.jsonl, for checks that judge the whole run after a resume
 * (lock-exclusion, recovery-time).
 */
import { readFile } from 'node:fs/promises';
import type { RunEvent } from './events.js';

/**
 * The events of an events.jsonl file, in order. A line that is not a JSON object with a
 * string `type` and `ts` (a line cut short by a controller's death) is skipped. A missing
 * file gives no events.
 */
export async function readRunEvents(path: string): Promise<RunEvent[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  const out: RunEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as { type?: unknown; ts?: unknown };
      if (typeof e === 'object' && e !== null && typeof e.type === 'string' && typeof e.ts === 'string') out.push(e as RunEvent);
    } catch {
      // torn last line
    }
  }
  return out;
}
