/** Reports: writers for a finished run's report files. */
export type { ReportAttemptOutcome } from './attempt-outcome.js';
export { readEventsFile, type EventsFile, type InvalidEventLine } from './events-file.js';
export { renderHtmlReport } from './html.js';
export { renderJunitReport } from './junit.js';
export { renderMarkdownReport } from './markdown.js';
export { REPORT_SCHEMA_VERSION, writeReportJson, type ReportAttempt, type ReportFault, type ReportSut, type RunReport } from './report-json.js';
export { readSamplesFile, renderResourceCharts } from './resource-charts.js';
export { summarizeUsage, UsageTally, type RunUsage, type TaskUsage, type UsageReport, type UsageTotals } from './usage.js';
export { renderReport, REPORT_FILE_NAMES, REPORT_FORMATS, writeRunReports, type ReportFormat, type WriteRunReportsOptions } from './write-reports.js';
