import { reproduceCommand } from './markdown.js';
import type { RunReport } from './report-json.js';

/*
 * junit.xml: each run is a <testsuite> named after its scenario, each check a <testcase>,
 * so a CI server lists broken invariants the way it lists failing tests. A run that failed
 * by itself (timeout, lost daemon, abort) adds a testcase `run` with an <error>.
 *
 * The shape is the one Jenkins, GitLab, GitHub reporters and Ant's JUnit schema agree on:
 * testsuites > testsuite(name, tests, failures, errors, skipped, time, timestamp) >
 * properties, testcase(classname, name, time) > failure|error(message, type) + text.
 */

/** Characters XML 1.0 does not allow even escaped (C0 controls but tab/LF/CR, U+FFFE/F, lone surrogates). */
// eslint-disable-next-line no-control-regex
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text content: `&`, `<`, and `>` (so `]]>` cannot appear). */
export function escapeXmlText(value: unknown): string {
  return String(value).replace(INVALID_XML_CHARS, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Escapes a double-quoted attribute value. Tab, newline and carriage return become
 * character references: a parser would otherwise normalise them to spaces.
 */
export function escapeXmlAttr(value: unknown): string {
  return escapeXmlText(value).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

const seconds = (ms: number): string => (Math.max(0, Number.isFinite(ms) ? ms : 0) / 1000).toFixed(3);

/** Ant's JUnit schema wants `YYYY-MM-DDTHH:MM:SS` (no zone, no fraction); the run's times are UTC. */
function timestamp(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})/.exec(iso);
  return match?.[1] ?? iso;
}

function reproduceLine(report: RunReport): string {
  const command = reproduceCommand(report);
  return command === null ? `reproduce: re-run scenario ${report.scenario} with --seed ${report.seed}` : `reproduce: ${command}`;
}

interface Suite {
  readonly xml: string;
  readonly tests: number;
  readonly failures: number;
  readonly errors: number;
  readonly durationMs: number;
}

function suite(report: RunReport): Suite {
  const classname = `keelhaul.${report.scenario}`;
  const cases: string[] = [];
  let failures = 0;
  let errors = 0;
  for (const check of report.checks) {
    const open = `<testcase classname="${escapeXmlAttr(classname)}" name="${escapeXmlAttr(check.name)}" time="0.000"`;
    if (check.ok) {
      cases.push(`    ${open}/>`);
      continue;
    }
    failures += 1;
    const body = [...(check.evidence.length ? check.evidence : ['no evidence recorded']), '', reproduceLine(report)].join('\n');
    cases.push(
      `    ${open}>\n      <failure message="${escapeXmlAttr(`expected ${check.expected}, observed ${check.observed}`)}" type="check">${escapeXmlText(body)}</failure>\n    </testcase>`,
    );
  }
  // A failed run with no failing check must still fail in CI: its reason becomes an error.
  const runError = report.error ?? (report.status === 'failed' && failures === 0 ? 'the run failed without a failing check' : undefined);
  if (runError !== undefined) {
    errors += 1;
    cases.push(
      `    <testcase classname="${escapeXmlAttr(classname)}" name="run" time="${seconds(report.durationMs)}">\n      <error message="${escapeXmlAttr(runError)}" type="run">${escapeXmlText(`${runError}\n\nrun ${report.runId}\n${reproduceLine(report)}`)}</error>\n    </testcase>`,
    );
  }
  const properties: [string, string][] = [
    ['keelhaul.runId', report.runId],
    ['keelhaul.seed', String(report.seed)],
    ['keelhaul.status', report.status],
    ['keelhaul.scenarioFile', report.scenarioFile ?? ''],
    ['keelhaul.backend', report.backend],
    ['keelhaul.image', report.image],
    ['keelhaul.network', report.network],
    ['keelhaul.version', report.keelhaulVersion],
    ...(report.unhardened
      ? ([['keelhaul.unhardened', `dangerouslyAllow: ${report.unhardened.dangerouslyAllow.join(', ')}: ${report.unhardened.warning}`]] as [string, string][])
      : []),
    ...(report.daemon ? ([['keelhaul.daemon', `${report.daemon.endpoint} (Docker ${report.daemon.version}, API ${report.daemon.apiVersion})`]] as [string, string][]) : []),
  ];
  const tests = cases.length;
  const xml = [
    `  <testsuite name="${escapeXmlAttr(report.scenario)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="0" time="${seconds(report.durationMs)}" timestamp="${escapeXmlAttr(timestamp(report.startedAt))}">`,
    '    <properties>',
    ...properties.map(([name, value]) => `      <property name="${escapeXmlAttr(name)}" value="${escapeXmlAttr(value)}"/>`),
    '    </properties>',
    ...cases,
    `    <system-out>${escapeXmlText(`run ${report.runId}: ${report.status}${report.unhardened ? ` (UNHARDENED: ${report.unhardened.warning})` : ''}\n${reproduceLine(report)}`)}</system-out>`,
    '  </testsuite>',
  ].join('\n');
  return { xml, tests, failures, errors, durationMs: report.durationMs };
}

/**
 * Renders `junit.xml`: `<testsuites>` with one `<testsuite name="<scenario>">` per report
 * and a `<testcase classname="keelhaul.<scenario>" name="<check>">` per check. A failing
 * check carries `<failure message="expected …, observed …">` with its evidence as text; a
 * run error (timeout, daemon lost, abort) is an extra testcase `run` with an `<error>`.
 * `time` is in seconds. Pass several reports to get one file for several runs.
 */
export function renderJunitReport(report: RunReport | readonly RunReport[]): string {
  const reports: readonly RunReport[] = Array.isArray(report) ? report : [report as RunReport];
  const suites = reports.map(suite);
  const sum = (f: (s: Suite) => number): number => suites.reduce((n, s) => n + f(s), 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="keelhaul" tests="${sum((s) => s.tests)}" failures="${sum((s) => s.failures)}" errors="${sum((s) => s.errors)}" time="${seconds(sum((s) => s.durationMs))}">`,
    ...suites.map((s) => s.xml),
    '</testsuites>',
    '',
  ].join('\n');
}
