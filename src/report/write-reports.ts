import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { readRunEventsFile, type RunEvent } from '../events/index.js';
import { renderHtmlReport } from './html.js';
import { renderJunitReport } from './junit.js';
import { renderMarkdownReport } from './markdown.js';
import { writeReportJson, type RunReport } from './report-json.js';
import { readSamplesFile } from './resource-charts.js';
import type { MonitorSample } from '../monitor/types.js';

/** The report formats keelhaul writes. */
export type ReportFormat = 'json' | 'md' | 'html' | 'junit';

/** Every format, in the order they are written and listed. */
export const REPORT_FORMATS: readonly ReportFormat[] = ['json', 'md', 'html', 'junit'];

/** The file name of each format inside a run directory. */
export const REPORT_FILE_NAMES: Readonly<Record<ReportFormat, string>> = {
  json: 'report.json',
  md: 'report.md',
  html: 'report.html',
  junit: 'junit.xml',
};

/** Renders one format other than json (json is the report itself). */
export function renderReport(format: Exclude<ReportFormat, 'json'>, report: RunReport, events: readonly RunEvent[], samples: readonly MonitorSample[] = []): string {
  switch (format) {
    case 'md':
      return renderMarkdownReport(report, events);
    case 'html':
      return renderHtmlReport(report, events, samples);
    case 'junit':
      return renderJunitReport(report);
  }
}

/** Options of {@link writeRunReports}. */
export interface WriteRunReportsOptions {
  /**
   * Which files to write.
   * @default ['json', 'md', 'html', 'junit']
   */
  readonly formats?: readonly ReportFormat[];
  /**
   * The run's events, when the caller already has them; otherwise `runDir/events.jsonl`
   * is read (tolerantly; a missing file means no events).
   */
  readonly events?: readonly RunEvent[];
  /**
   * The monitor's samples for report.html's charts, when the caller already has them;
   * otherwise the report's `resources.samplesFile` (default samples.jsonl) in `runDir` is
   * read (torn lines skipped; a missing file means no samples).
   */
  readonly samples?: readonly MonitorSample[];
}

/**
 * Writes a finished run's reports into its run directory, each atomically:
 * `report.json` (through `writeReportJson`), `report.md`, `report.html` (with the timeline
 * from `runDir/events.jsonl`) and `junit.xml`.
 *
 * @returns the path of each file written, keyed by format (`json`, `md`, `html`, `junit`)
 */
export async function writeRunReports(runDir: string, report: RunReport, options: WriteRunReportsOptions = {}): Promise<{ paths: Record<string, string> }> {
  const formats = [...new Set(options.formats ?? REPORT_FORMATS)];
  for (const format of formats) {
    if (!REPORT_FORMATS.includes(format)) {
      throw new TypeError(`Expected \`formats\` to hold only ${REPORT_FORMATS.join(', ')}, got \`${String(format)}\``);
    }
  }
  const needsEvents = formats.includes('md') || formats.includes('html');
  const events = options.events ?? (needsEvents ? await readRunEvents(runDir) : []);
  const samples = options.samples ?? (formats.includes('html') ? await readSamplesFile(join(runDir, report.resources?.samplesFile ?? 'samples.jsonl')) : []);
  const paths: Partial<Record<ReportFormat, string>> = {};
  await Promise.all(
    formats.map(async (format) => {
      const path = join(runDir, REPORT_FILE_NAMES[format]);
      if (format === 'json') await writeReportJson(path, report);
      else await writeFileAtomic(path, renderReport(format, report, events, samples));
      paths[format] = path;
    }),
  );
  // Listed in the canonical order, whatever order the writes finished in.
  const ordered: Record<string, string> = {};
  for (const format of REPORT_FORMATS) {
    const path = paths[format];
    if (path !== undefined) ordered[format] = path;
  }
  return { paths: ordered };
}

/**
 * The run's events for the reports (src/events/ reader): unreadable lines are skipped, a
 * missing file is no events. @throws {EventsFileReadError} when the file cannot be read
 */
async function readRunEvents(runDir: string): Promise<RunEvent[]> {
  return (await readRunEventsFile(join(runDir, 'events.jsonl'), { missing: 'empty' })).events;
}
