/** Parity: the same scenario on the docker and the local backend, compared by outcome digest. */
export { compareDigests, digestRun, renderParityTable, type AttemptDigest, type OutcomeDigest, type ParityRow, type TaskDigest } from './digest.js';
export { renderParityMarkdown, runParity, type ParityOptions, type ParityResult } from './parity.js';
export { compareSutDigests, digestSutRun, scenarioForMode, SutParityError, sutModes, type SutDigest } from './sut-parity.js';
