/**
 * The run events moved to `src/events/` (issue 13); this module keeps the controller's
 * names (`RunEvent`, `EventLog`, …) where `controller/index.ts` and the root API export
 * them, until the exports are reworked.
 */
import type { FaultRecord } from '../chaos/index.js';
import type { EventFaultRecord } from '../events/index.js';

export { EventLog, type AttemptOutcome, type RunEvent, type RunEventInput } from '../events/index.js';

/**
 * Compile-time check: what the injector records is what the event schema accepts. Fails to
 * compile when `FaultRecord` (src/chaos/injector.ts) gains a field the schema lacks or
 * changes one's type; then update `faultRecordSchema` in src/events/schema.ts.
 */
export type FaultRecordFitsEventSchema = FaultRecord extends EventFaultRecord ? true : never;
const faultRecordFits: FaultRecordFitsEventSchema = true;
void faultRecordFits;
