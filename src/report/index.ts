/** Reports: writers for a finished run's report files. */
export * from './report-json.js';
