/**
 * How an attempt ended, as the report records it. A module of its own so that the report
 * shape (`report-json.ts`) and the usage sums (`usage.ts`) share it without importing each other.
 */
export type ReportAttemptOutcome = 'completed' | 'failed' | 'killed' | 'oom' | 'hung' | 'lost';
