/** Reports: writers for a finished run's report files. */
export * from './report-json.js';
export { readEventsFile, parseEventLine, type EventsFile, type InvalidEventLine } from './events-file.js';
export { renderMarkdownReport } from './markdown.js';
export { renderHtmlReport } from './html.js';
export { renderJunitReport, escapeXmlText, escapeXmlAttr } from './junit.js';
export {
  writeRunReports,
  renderReport,
  REPORT_FORMATS,
  REPORT_FILE_NAMES,
  type ReportFormat,
  type WriteRunReportsOptions,
} from './write-reports.js';
export * from './usage.js';
export { renderResourceCharts, readSamplesFile } from './resource-charts.js';
