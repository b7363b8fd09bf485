/**
 * Reading the run's own timeline back: the events an earlier controller of the same run
 * recorded in events.jsonl, for checks that judge the whole run after a resume
 * (lock-exclusion, recovery-time).
 */
import { EventsFileReadError, readRunEventsFile, type RunEvent } from '../events/index.js';

/**
 * The events of an events.jsonl file, in order, read with the tolerant reader of
 * src/events/ (`readRunEventLines`): a line that is not an event — a JSON object with
 * non-empty string `ts`, `run` and `type`; typically the last line, cut short by a
 * controller's death — is skipped. A file that is missing or cannot be read gives no
 * events (the checks that use them then see only this controller's). Never throws.
 */
export async function readRunEvents(path: string): Promise<RunEvent[]> {
  try {
    return (await readRunEventsFile(path, { missing: 'empty' })).events;
  } catch (error) {
    if (error instanceof EventsFileReadError) return [];
    throw error;
  }
}
