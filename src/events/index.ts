/**
 * `events/`: the run's events — the schema (zod, the one source of the `RunEvent` type and
 * of docs/events.schema.json), the one writer (`EventLog`, `appendRunEvent`) and the one
 * tolerant reader (`readRunEventLines`, `readRunEventsFile`) of `events.jsonl`.
 * A low part: it imports nothing of keelhaul's but the worker contract's `WorkerEvent` type.
 */
export {
  attemptOutcomeSchema,
  faultRecordSchema,
  faultTargetSchema,
  runEventSchema,
  workerEventSchema,
  RUN_EVENT_TYPES,
  type AttemptOutcome,
  type EventFaultRecord,
  type EventFaultTarget,
  type RunEvent,
  type RunEventInput,
  type RunEventType,
} from './schema.js';
export { eventsJsonSchema } from './json-schema.js';
export { appendRunEvent, EventLog, formatEventLine, type EventRedactor } from './writer.js';
export {
  EventsFileReadError,
  parseEventLine,
  readRunEventLines,
  readRunEventsFile,
  type InvalidLineProblem,
  type InvalidRunEventLine,
  type ReadRunEventsOptions,
  type RunEventLine,
  type RunEventsFile,
} from './reader.js';
