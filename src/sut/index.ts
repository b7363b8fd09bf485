/** The system under test part: the SUT's process (its own process group), its container timeline from the daemon's events, and its files (ledger, JSONL logs against a JSON Schema). docs/sut.md. */
export { compileSchemaFile, readSutLedger, SutSchemaError, validateSutLog } from './files.js';
export { SutProcess, SutStartError, type SutExit, type SutProcessOptions } from './process.js';
export { SutTimeline, type SutContainerRecord, type SutTimelineOptions } from './timeline.js';
