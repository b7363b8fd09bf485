import type { RunEvent } from '../events/index.js';
import type { ReportAttempt, ReportFault, RunReport } from './report-json.js';
import { formatUsd, type UsageTotals } from './usage.js';

/*
 * report.md: the run in Markdown (GitHub-flavoured tables), for a CI job summary or a PR
 * comment. Every string from the report is escaped for the place it goes: table cells
 * and prose through `mdText` (pipes, Markdown punctuation, HTML), evidence inside fenced
 * code blocks whose fence is longer than any backtick run in it.
 *
 * The small formatting helpers exported here (durations, short container ids, offsets,
 * the reproduce command) are shared with the HTML renderer so both say the same thing.
 */

/** Characters that would start Markdown syntax inside a line: emphasis, code, links, escapes, table pipes. */
const MD_PUNCTUATION = /[\\`*[\]|]/g;

/** Control characters other than tab and newlines: they have no place in a text report. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/**
 * Escapes text for a Markdown line or table cell: `|` becomes `\|` (a table cell would
 * otherwise end there), other Markdown punctuation is backslash-escaped, `<` and `>` become
 * entities (a renderer that passes HTML through must not see a tag), an `&` that would read
 * as an entity is escaped, and line breaks become `<br>` (a table row is one line).
 */
export function mdText(value: unknown): string {
  return String(value)
    .replace(CONTROL, '\uFFFD')
    .replace(MD_PUNCTUATION, (c) => `\\${c}`)
    .replace(/&(?=#?[A-Za-z0-9]+;)/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r?\n|\r/g, '<br>');
}

/** A fenced code block around `text`, with a fence longer than any backtick run inside it. */
function codeBlock(text: string, info = 'text'): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${text.replace(CONTROL, '\uFFFD')}\n${fence}`;
}

/** A GFM table; cells are escaped here. */
function table(headers: readonly string[], rows: readonly (readonly unknown[])[], align?: readonly ('l' | 'r')[]): string {
  const line = (cells: readonly unknown[]): string => `| ${cells.map((c) => mdText(c)).join(' | ')} |`;
  const rule = `| ${headers.map((_, i) => (align?.[i] === 'r' ? '---:' : '---')).join(' | ')} |`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** `1602 ms`, `4.3 s`, `2 min 5 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  if (Math.abs(ms) < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`;
}

/** The first 12 characters of a container id, as `docker ps` shows it; `—` when there is none. */
export function shortContainerId(id: string): string {
  return id ? id.slice(0, 12) : '—';
}

/** Milliseconds from the run's start to an ISO time, or null. */
export function offsetFromStart(report: RunReport, iso: string | null): number | null {
  if (iso === null) return null;
  const t = Date.parse(iso);
  const start = Date.parse(report.startedAt);
  return Number.isFinite(t) && Number.isFinite(start) ? t - start : null;
}

/** How long an attempt ran, or null when it has no end (still running or lost). */
export function attemptDurationMs(attempt: ReportAttempt): number | null {
  if (attempt.endedAt === null) return null;
  const ms = Date.parse(attempt.endedAt) - Date.parse(attempt.startedAt);
  return Number.isFinite(ms) ? ms : null;
}

/** A fault's targets as `t-02#1 (6bef9766a327)`. */
export function describeTargets(fault: ReportFault): string {
  if (fault.targets.length === 0) return '—';
  return fault.targets.map((t) => (t.task !== undefined ? `${t.task}#${t.attempt ?? '?'} (${shortContainerId(t.containerId)})` : shortContainerId(t.containerId))).join(', ');
}

/** Quotes an argument for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that re-runs this scenario with this seed, or null when the scenario was
 * built in code and the run directory is unknown. Prefers the scenario file as given; else
 * the copy the run directory keeps (`scenario.yaml`, with its seed).
 */
export function reproduceCommand(report: RunReport, events: readonly RunEvent[] = []): string | null {
  let file = report.scenarioFile;
  if (file === null) {
    const started = events.find((e) => e.type === 'run.started');
    if (started?.type === 'run.started') file = `${started.runDir.replace(/\/+$/, '')}/scenario.yaml`;
  }
  return file === null ? null : `keelhaul run ${shellQuote(file)} --seed ${report.seed}`;
}

/** `1`, or `2 (resumed once)`; a report written before `controllers` existed counts as 1. */
export function describeControllers(report: RunReport): string {
  const n = typeof report.controllers === 'number' ? report.controllers : 1;
  return n > 1 ? `${n} (resumed ${n === 2 ? 'once' : `${n - 1} times`})` : String(n);
}

/** `4 completed, 1 killed` from a list of outcomes, in first-seen order. */
export function countBy(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([v, n]) => `${n} ${v}`).join(', ');
}

function summarySection(report: RunReport): string {
  const rows: [string, string][] = [
    ['status', report.status === 'passed' ? 'PASSED' : 'FAILED'],
    ['run id', report.runId],
    ['seed', String(report.seed)],
    ['scenario', report.scenarioFile ? `${report.scenario} (${report.scenarioFile})` : report.scenario],
    ['started', report.startedAt],
    ['duration', `${formatDuration(report.durationMs)} (${report.durationMs} ms)`],
    ['backend', report.backend],
    ['controllers', describeControllers(report)],
    ['daemon', report.daemon ? `${report.daemon.endpoint}, Docker ${report.daemon.version}, API ${report.daemon.apiVersion}` : '—'],
    ['image', report.image],
    ['network', report.network],
    ['tasks', `${report.tasks.length}${report.tasks.length ? `: ${countBy(report.tasks.map((t) => t.outcome))}` : ''}`],
    ['attempts', `${report.attempts.length}${report.attempts.length ? `: ${countBy(report.attempts.map((a) => a.outcome))}` : ''}`],
    ['faults', `${report.faults.length}${report.faults.length ? `: ${countBy(report.faults.map((f) => f.status))}` : ''}`],
    [
      'agent usage',
      `${report.usage.total.tokens} tokens, ${formatUsd(report.usage.total.costUsd)} (${formatUsd(report.usage.wasted.costUsd)} wasted on attempts that did not complete)`,
    ],
    ['keelhaul', report.keelhaulVersion],
  ];
  return rows.map(([k, v]) => `- **${k}:** ${mdText(v)}`).join('\n');
}

function checksSection(report: RunReport): string {
  const failed = report.checks.filter((c) => !c.ok);
  const parts = [`## Checks (${report.checks.length - failed.length} of ${report.checks.length} held)`];
  if (report.checks.length === 0) {
    parts.push('No checks ran.');
    return parts.join('\n\n');
  }
  parts.push(
    table(
      ['check', 'result', 'expected', 'observed'],
      report.checks.map((c) => [c.name, c.ok ? 'ok' : 'FAIL', c.expected, c.observed]),
    ),
  );
  for (const c of failed) {
    parts.push(`### FAIL ${mdText(c.name)}`);
    parts.push(`Expected ${mdText(c.expected)}; observed ${mdText(c.observed)}.`);
    parts.push(c.evidence.length ? `Evidence:\n\n${codeBlock(c.evidence.join('\n'))}` : 'No evidence recorded.');
  }
  return parts.join('\n\n');
}

function attemptsSection(report: RunReport): string {
  if (report.attempts.length === 0) return '## Attempts\n\nNo attempt was launched.';
  const rows = report.attempts.map((a) => {
    const ms = attemptDurationMs(a);
    return [
      a.task,
      a.attempt,
      shortContainerId(a.containerId),
      a.outcome,
      a.exitCode === null ? '—' : `${a.exitCode}${a.oomKilled ? ' (OOMKilled)' : ''}`,
      a.reason ?? '',
      ms === null ? 'no end recorded' : formatDuration(ms),
      a.faults.join(', '),
    ];
  });
  return `## Attempts\n\n${table(['task', 'attempt', 'container', 'outcome', 'exit', 'reason', 'duration', 'faults'], rows, ['l', 'r', 'l', 'l', 'r', 'l', 'r', 'l'])}`;
}

function usageSection(report: RunReport): string {
  const u = report.usage;
  if (u.total.reports === 0) return '## Agent usage\n\nNo worker reported usage.';
  const line = (name: string, t: UsageTotals): unknown[] => [name, t.tokensIn, t.tokensOut, t.tokens, formatUsd(t.costUsd), t.reports];
  const rows = [
    line('run', u.total),
    line('wasted (attempts that did not complete)', u.wasted),
    ...Object.entries(u.wastedByOutcome).map(([outcome, t]) => line(`  wasted by ${outcome} attempts`, t)),
  ];
  const tasks = u.tasks.map((t) => [t.task, t.tokens, formatUsd(t.costUsd), formatUsd(t.wasted.costUsd)]);
  return [
    '## Agent usage',
    'Summed from the `usage` workers reported (docs/worker-contract.md); usage of attempts that were killed, failed, hung, OOM-killed or lost counts as wasted.',
    table(['', 'tokens in', 'tokens out', 'tokens', 'cost', 'reports'], rows, ['l', 'r', 'r', 'r', 'r', 'r']),
    table(['task', 'tokens', 'cost', 'wasted'], tasks, ['l', 'r', 'r', 'r']),
  ].join('\n\n');
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function resourcesSection(report: RunReport): string {
  const r = report.resources;
  if (r === null) return '## Resources\n\nThe monitor took no samples.';
  const rows = r.peaks.map((p) => [p.name, mib(p.rssBytes), `${p.cpuPercent.toFixed(1)} %`]);
  if (r.containers.sampled > 0)
    rows.push([
      `containers (${r.containers.sampled} sampled; all together ${mib(r.containers.peakTotalMemoryBytes)})`,
      mib(r.containers.peakMemoryBytes),
      `${r.containers.peakCpuPercent.toFixed(1)} %`,
    ]);
  return [
    '## Resources',
    `${r.samples} sample(s) in ${mdText(r.samplesFile)} (${r.skipped} skipped), ${r.alerts} alert(s). Controller RSS ${mib(r.controllerRss.firstBytes)} → ${mib(r.controllerRss.lastBytes)} (growth ${mib(r.controllerRss.growthBytes)}).`,
    rows.length ? table(['process', 'peak RSS / memory', 'peak CPU (of one core)'], rows, ['l', 'r', 'r']) : 'No process was sampled.',
  ].join('\n\n');
}

function faultsSection(report: RunReport): string {
  if (report.faults.length === 0) return '## Faults\n\nThe scenario has no faults.';
  const rows = report.faults.map((f) => [
    f.faultId,
    f.kind,
    f.trigger,
    f.error ? `${f.status}: ${f.error}` : f.status,
    f.offsetMs === null ? '—' : `+${f.offsetMs} ms`,
    describeTargets(f),
  ]);
  return `## Faults\n\n${table(['fault', 'kind', 'trigger', 'status', 'fired', 'targets'], rows, ['l', 'l', 'l', 'l', 'r', 'l'])}`;
}

function cleanupSection(report: RunReport): string {
  const c = report.cleanup;
  if (c === null) return `## Cleanup\n\nCleanup did not complete: ${mdText(`keelhaul clean ${report.runId}`)} removes what is left.`;
  const lines = [`## Cleanup\n\nRemoved ${c.containers} container(s), ${c.networks} network(s), ${c.volumes} volume(s).`];
  if (c.errors.length) lines.push(`${c.errors.length} error(s):\n\n${codeBlock(c.errors.join('\n'))}`);
  return lines.join('\n\n');
}

/** A short account of the event log: how many of each type, and the events worth reading. */
function eventsSection(events: readonly RunEvent[]): string | undefined {
  if (events.length === 0) return undefined;
  const notable: string[] = [];
  let invalidWorkerLines = 0;
  for (const e of events) {
    switch (e.type) {
      case 'run.aborted':
        notable.push(`${e.ts} run aborted: ${e.reason}`);
        break;
      case 'run.resumed':
        notable.push(`${e.ts} run resumed by pid ${e.controllerPid} (controller #${e.previousControllers + 1})`);
        break;
      case 'attempt.adopted':
        notable.push(`${e.ts} ${e.task}#${e.attempt} adopted (container ${shortContainerId(e.containerId)}, ${e.state})`);
        break;
      case 'attempt.lost':
        notable.push(`${e.ts} ${e.task}#${e.attempt} lost: ${e.reason}`);
        break;
      case 'attempt.launch-failed':
        notable.push(`${e.ts} ${e.task}#${e.attempt} not launched (${e.spendsAttempt ? 'spent an attempt' : 'daemon going away, no attempt spent'}): ${e.reason}`);
        break;
      case 'attempt.hung':
        notable.push(`${e.ts} ${e.task}#${e.attempt} hung: no heartbeat for ${e.silentMs} ms`);
        break;
      case 'fault.undone':
        notable.push(`${e.ts} fault ${e.faultId} (${e.kind}) undone`);
        break;
      case 'reaper.unavailable':
        notable.push(`${e.ts} no reaper for this run: ${e.reason}`);
        break;
      case 'run.reaped':
        notable.push(
          `${e.ts} run reaped after its controller (pid ${e.deadControllerPid}) died: removed ${e.containers} container(s), ${e.networks} network(s), ${e.volumes} volume(s)`,
        );
        break;
      case 'fault.skipped':
        notable.push(`${e.ts} fault ${e.faultId} (${e.kind}) never fired: ${e.reason}`);
        break;
      case 'worker.event':
        if (e.event.type === 'task.failed') {
          const failed = e.event as { reason?: unknown; message?: unknown };
          notable.push(`${e.ts} ${e.task}#${e.attempt} task.failed ${String(failed.reason)}${failed.message ? `: ${String(failed.message)}` : ''}`);
        }
        break;
      case 'worker.invalid-line':
        invalidWorkerLines += 1;
        break;
      case 'worker.invalid-lines-suppressed':
        invalidWorkerLines += e.lines;
        break;
      default:
        break;
    }
  }
  const parts = [`## Events\n\n${events.length} event(s) in events.jsonl: ${mdText(countBy(events.map((e) => e.type)))}.`];
  if (invalidWorkerLines) parts.push(`${invalidWorkerLines} worker output line(s) were not events (kept in the attempts' stdout.log).`);
  if (notable.length) parts.push(codeBlock(notable.join('\n')));
  return parts.join('\n\n');
}

function reproduceSection(report: RunReport, events: readonly RunEvent[]): string {
  const command = reproduceCommand(report, events);
  return command === null
    ? `## Reproduce\n\nThe scenario was built in code; run it again with seed ${report.seed}.`
    : `## Reproduce\n\nThe same scenario and seed give the same fault plan:\n\n${codeBlock(command, 'sh')}`;
}

/**
 * Renders `report.md`: a summary (status, run id, seed, scenario, duration, daemon, image,
 * network), the checks (evidence under each failing one), the attempts, the faults, agent
 * usage (total and wasted), resource peaks, the cleanup figures, a short account of the event log and the command that reproduces the run.
 */
export function renderMarkdownReport(report: RunReport, events: readonly RunEvent[]): string {
  const eventLog = eventsSection(events);
  const sections = [
    `# keelhaul run ${mdText(report.runId)}: ${report.status === 'passed' ? 'PASSED' : 'FAILED'}`,
    ...(report.error !== undefined ? [`> **Run error:** ${mdText(report.error)}`] : []),
    ...(report.unhardened ? [`> **UNHARDENED RUN** (dangerouslyAllow: ${report.unhardened.dangerouslyAllow.join(', ')}): ${mdText(report.unhardened.warning)}`] : []),
    summarySection(report),
    checksSection(report),
    attemptsSection(report),
    faultsSection(report),
    usageSection(report),
    resourcesSection(report),
    cleanupSection(report),
    ...(eventLog !== undefined ? [eventLog] : []),
    reproduceSection(report, events),
  ];
  return `${sections.join('\n\n')}\n`;
}
