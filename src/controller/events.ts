/**
 * The run events moved to `src/events/` (issue 13); this module keeps the controller's
 * names (`RunEvent`, `EventLog`, …) where `controller/index.ts` and the root API export
 * them, until the exports are reworked.
 */
import type { FaultRecord, FaultTarget } from '../chaos/index.js';
import type { EventFaultRecord, EventFaultTarget } from '../events/index.js';

export { EventLog, type AttemptOutcome, type RunEvent, type RunEventInput } from '../events/index.js';

/** The keys of `A` that `B` does not have. */
type ExtraKeys<A, B> = Exclude<keyof A, keyof B>;

/**
 * Compile-time check: what the injector records is what the event schema accepts (chaos/
 * cannot import events/ yet, and events/ imports nothing above it). Fails to compile when
 * `FaultRecord` or `FaultTarget` (src/chaos/injector.ts) gains a field the schema lacks or
 * changes a field's type; then update `faultRecordSchema` / `faultTargetSchema` in
 * src/events/schema.ts and run `npm run schema`.
 */
type FaultRecordFitsEventSchema = [FaultRecord] extends [EventFaultRecord]
  ? [ExtraKeys<FaultRecord, EventFaultRecord> | ExtraKeys<FaultTarget, EventFaultTarget>] extends [never]
    ? true
    : never
  : never;
const faultRecordFits: FaultRecordFitsEventSchema = true;
void faultRecordFits;
