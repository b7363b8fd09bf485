import type { RunEvent } from '../events/index.js';
import { attemptDurationMs, countBy, describeControllers, describeTargets, formatDuration, offsetFromStart, reproduceCommand, shortContainerId } from './markdown.js';
import type { ReportAttempt, ReportFault, RunReport } from './report-json.js';
import type { MonitorSample } from '../monitor/types.js';
import { renderResourceCharts } from './resource-charts.js';
import { escapeHtml } from './escape-html.js';
import { formatUsd, type UsageTotals } from './usage.js';

/*
 * report.html: one self-contained file. No script, no external stylesheet, font or image:
 * CSS is inline, the timeline is inline SVG, and a Content-Security-Policy meta tag forbids
 * every fetch and every script, so even a string that escaped escaping could not run or
 * phone home. Every string from the report or the events goes through `esc`.
 */

const esc = escapeHtml;

/** A number for an SVG attribute: finite, at most one decimal. */
const num = (n: number): string => (Number.isFinite(n) ? String(Math.round(n * 10) / 10) : '0');

/** Outcome colours: the timeline bars, the legend and the attempts table share them. */
export const OUTCOME_COLOURS: Readonly<Record<ReportAttempt['outcome'], string>> = {
  completed: '#2f9e44',
  failed: '#e03131',
  killed: '#f08c00',
  oom: '#9c36b5',
  hung: '#c2255c',
  lost: '#868e96',
};
const OUTCOMES = Object.keys(OUTCOME_COLOURS) as ReportAttempt['outcome'][];
const FAULT_COLOUR = '#1c3d5a';
const ABORT_COLOUR = '#c92a2a';
const RESUME_COLOUR = '#1971c2';
const FAULT_SPAN_COLOUR = '#fab005';
const MARKER_COLOURS: Readonly<Record<'fault' | 'aborted' | 'resumed', string>> = { fault: FAULT_COLOUR, aborted: ABORT_COLOUR, resumed: RESUME_COLOUR };

// Timeline geometry, in px. The plot has a fixed width; the lanes get shorter as tasks
// get more numerous, down to a floor, and the box scrolls (the time axis stays in view).
const LABEL_W = 170;
const PLOT_W = 1000;
const PAD_R = 28;
const SVG_W = LABEL_W + PLOT_W + PAD_R;
const MARKER_ROW_H = 18;
const TICK_BAND_H = 22;

function laneHeight(lanes: number): number {
  if (lanes <= 8) return 30;
  if (lanes <= 30) return 22;
  if (lanes <= 80) return 16;
  return 12;
}

/** A step of 1, 2 or 5 × 10^k that cuts `span` into at most ~10 ticks. */
function tickStep(span: number): number {
  const raw = Math.max(span, 1) / 10;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function tickLabel(ms: number, step: number, span: number): string {
  if (span < 2000) return `${num(ms)} ms`;
  if (step >= 60_000) return `${num(ms / 60_000)} min`;
  return `${(ms / 1000).toFixed(step < 1000 ? 1 : 0)} s`;
}

/** What the events add to an attempt's hover text: progress reached, the worker's own failure. */
interface AttemptEventFacts {
  progress?: number;
  failure?: string;
  retryDelayMs?: number;
}

function attemptKey(task: string, attempt: number): string {
  return `${task}\u0000${attempt}`;
}

function eventFacts(events: readonly RunEvent[]): Map<string, AttemptEventFacts> {
  const facts = new Map<string, AttemptEventFacts>();
  const get = (task: string, attempt: number): AttemptEventFacts => {
    const key = attemptKey(task, attempt);
    let f = facts.get(key);
    if (!f) facts.set(key, (f = {}));
    return f;
  };
  for (const e of events) {
    if (e.type === 'worker.event') {
      const w = e.event as { type: string; fraction?: unknown; reason?: unknown; message?: unknown };
      if (w.type === 'task.progress' && typeof w.fraction === 'number') {
        const f = get(e.task, e.attempt);
        f.progress = Math.max(f.progress ?? 0, w.fraction);
      } else if (w.type === 'task.failed') {
        get(e.task, e.attempt).failure = `${String(w.reason)}${w.message ? `: ${String(w.message)}` : ''}`;
      }
    } else if (e.type === 'attempt.retrying') {
      get(e.task, e.attempt).retryDelayMs = e.delayMs;
    }
  }
  return facts;
}

interface Marker {
  readonly kind: 'fault' | 'aborted' | 'resumed';
  readonly x: number;
  readonly label: string;
  readonly title: string;
  readonly hollow: boolean;
  row: number;
  anchorEnd: boolean;
}

/** Puts marker labels in rows so that none overlaps another; returns the number of rows. */
function placeMarkers(markers: Marker[]): number {
  const rows: [number, number][][] = [];
  const charW = 6.4;
  for (const m of [...markers].sort((a, b) => a.x - b.x)) {
    const w = m.label.length * charW + 16;
    m.anchorEnd = m.x + w > SVG_W - 4;
    const span: [number, number] = m.anchorEnd ? [m.x - w, m.x + 8] : [m.x - 8, m.x + w];
    let row = rows.findIndex((r) => r.every(([a, b]) => span[1] < a || span[0] > b));
    if (row === -1) {
      row = rows.length;
      rows.push([]);
    }
    rows[row]!.push(span);
    m.row = row;
  }
  return rows.length;
}

function attemptTitle(report: RunReport, a: ReportAttempt, facts: AttemptEventFacts | undefined): string {
  const start = offsetFromStart(report, a.startedAt);
  const end = offsetFromStart(report, a.endedAt);
  const ms = attemptDurationMs(a);
  return [
    `${a.task} · attempt ${a.attempt} · ${a.outcome}`,
    `container ${shortContainerId(a.containerId)}${a.containerName ? ` (${a.containerName})` : ''}`,
    `exit ${a.exitCode ?? '—'}${a.oomKilled ? ' (OOMKilled)' : ''}`,
    ...(a.reason ? [`reason: ${a.reason}`] : []),
    ...(facts?.failure ? [`worker: task.failed ${facts.failure}`] : []),
    ...(facts?.progress !== undefined ? [`progress reached ${Math.round(facts.progress * 100)}%`] : []),
    `started +${start ?? '?'} ms, ${end === null ? 'no end recorded' : `ended +${end} ms (${formatDuration(ms ?? 0)})`}`,
    ...(a.faults.length ? [`faults: ${a.faults.join(', ')}`] : []),
  ].join('\n');
}

function faultTitle(f: ReportFault): string {
  return [
    `fault ${f.faultId} (${f.kind}) · ${f.status}`,
    `trigger: ${f.trigger}`,
    `fired ${f.firedAt ?? '—'}${f.offsetMs !== null ? ` (+${f.offsetMs} ms)` : ''}`,
    `params: ${JSON.stringify(f.params)}`,
    `targets: ${describeTargets(f)}`,
    ...(f.error ? [`error: ${f.error}`] : []),
  ].join('\n');
}

function legend(): string {
  const swatch = (colour: string, label: string, extra = ''): string =>
    `<span class="legend-item"><svg width="22" height="12" aria-hidden="true"><rect x="1" y="1" width="20" height="10" rx="2" fill="${colour}"${extra}/></svg>${esc(label)}</span>`;
  const diamond = (fill: string, label: string): string =>
    `<span class="legend-item"><svg width="14" height="14" aria-hidden="true"><path d="M7 1 L13 7 L7 13 L1 7 Z" fill="${fill}" stroke="${FAULT_COLOUR}" stroke-width="1.5"/></svg>${esc(label)}</span>`;
  const moment = (colour: string, label: string): string =>
    `<span class="legend-item"><svg width="14" height="14" aria-hidden="true"><line x1="7" y1="0" x2="7" y2="14" stroke="${colour}" stroke-width="2"/></svg>${esc(label)}</span>`;
  const abort = moment(ABORT_COLOUR, 'run aborted') + moment(RESUME_COLOUR, 'run resumed');
  return `<div class="legend">${OUTCOMES.map((o) => swatch(OUTCOME_COLOURS[o], o)).join('')}${swatch('#adb5bd', 'no end recorded', ' fill-opacity="0.5" stroke="#495057" stroke-dasharray="3 2"')}${diamond('#ffd43b', 'fault injected')}${diamond('#fff', 'fault fired without effect (no target, failed, skipped)')}${swatch(FAULT_SPAN_COLOUR, 'fault active (until undone)', ' fill-opacity="0.3"')}${abort}<span class="legend-item legend-note">retry backoff: dotted line</span></div>`;
}

/** A fault that was undone (`fault.undone`): when it was active and on which tasks. */
interface FaultSpan {
  readonly faultId: string;
  readonly kind: string;
  readonly from: number;
  readonly to: number;
  readonly tasks: readonly string[];
}

function faultSpans(report: RunReport, events: readonly RunEvent[]): FaultSpan[] {
  const spans: FaultSpan[] = [];
  for (const e of events) {
    if (e.type !== 'fault.undone') continue;
    const fault = report.faults.find((f) => f.faultId === e.faultId);
    const injected = events.find((i) => (i.type === 'fault.injected' || i.type === 'fault.failed') && i.fault.faultId === e.faultId);
    const firedAt = fault?.firedAt ?? (injected?.type === 'fault.injected' || injected?.type === 'fault.failed' ? injected.fault.firedAt : null);
    const from = offsetFromStart(report, firedAt);
    const to = offsetFromStart(report, e.ts);
    if (from === null || to === null || to < from) continue;
    spans.push({ faultId: e.faultId, kind: e.kind, from, to, tasks: e.targets.flatMap((t) => (t.task !== undefined ? [t.task] : [])) });
  }
  return spans;
}

/** The timeline: a lane per task, a bar per attempt, a marker per fired fault. */
function timeline(report: RunReport, events: readonly RunEvent[]): string {
  const laneIds = report.tasks.map((t) => t.task);
  const known = new Set(laneIds);
  for (const a of report.attempts) {
    if (!known.has(a.task)) {
      known.add(a.task);
      laneIds.push(a.task);
    }
  }
  if (laneIds.length === 0) return '<p class="muted">No task, so no timeline.</p>';
  const laneIndex = new Map(laneIds.map((id, i) => [id, i]));

  const facts = eventFacts(events);
  let span = Math.max(report.durationMs, 1);
  for (const a of report.attempts) span = Math.max(span, offsetFromStart(report, a.endedAt) ?? 0, offsetFromStart(report, a.startedAt) ?? 0);
  const faultOffset = (f: ReportFault): number | null => offsetFromStart(report, f.firedAt) ?? f.offsetMs;
  for (const f of report.faults) span = Math.max(span, faultOffset(f) ?? 0);
  // Moments of the run itself, from the events: an abort, a resume by a new controller.
  const runMoments = events.flatMap((e): { kind: 'aborted' | 'resumed'; at: number | null; label: string; title: string }[] => {
    const at = offsetFromStart(report, e.ts);
    if (e.type === 'run.aborted') return [{ kind: 'aborted', at, label: 'run aborted', title: `run aborted at ${e.ts} (+${at} ms)\n${e.reason}` }];
    if (e.type === 'run.resumed') {
      const n = e.previousControllers + 1;
      return [{ kind: 'resumed', at, label: `resumed (controller #${n})`, title: `run resumed at ${e.ts} (+${at} ms) by pid ${e.controllerPid}, controller #${n}` }];
    }
    return [];
  });
  for (const m of runMoments) span = Math.max(span, m.at ?? 0);
  const spans = faultSpans(report, events);
  for (const fs of spans) span = Math.max(span, fs.to);
  const x = (ms: number): number => LABEL_W + (Math.min(Math.max(ms, 0), span) / span) * PLOT_W;

  const laneH = laneHeight(laneIds.length);
  const barH = Math.max(6, Math.round(laneH * 0.64));
  const labelFont = laneH >= 22 ? 12 : laneH >= 16 ? 11 : 9;
  const lanesH = laneIds.length * laneH + 6;

  const markers: Marker[] = [];
  for (const f of report.faults) {
    const at = f.firedAt !== null ? faultOffset(f) : null;
    if (at === null) continue;
    markers.push({
      kind: 'fault',
      x: x(at),
      label: `${f.faultId} (${f.kind})`,
      title: faultTitle(f),
      hollow: f.status !== 'injected',
      row: 0,
      anchorEnd: false,
    });
  }
  for (const m of runMoments) {
    if (m.at === null) continue;
    markers.push({ kind: m.kind, x: x(m.at), label: m.label, title: m.title, hollow: false, row: 0, anchorEnd: false });
  }
  const rows = placeMarkers(markers);
  const axisH = rows * MARKER_ROW_H + TICK_BAND_H + (rows ? 4 : 0);
  const step = tickStep(span);
  const ticks: number[] = [];
  for (let t = 0; t <= span + 1e-9; t += step) ticks.push(t);

  // The axis: marker labels in rows, then tick labels. Sticky, so it stays above the lanes.
  const axis: string[] = [];
  axis.push(
    `<svg class="axis" xmlns="http://www.w3.org/2000/svg" width="${SVG_W}" height="${axisH}" viewBox="0 0 ${SVG_W} ${axisH}" role="img" aria-label="time axis and faults">`,
  );
  axis.push(`<rect width="${SVG_W}" height="${axisH}" fill="#fff"/>`);
  for (const t of ticks) {
    axis.push(`<text class="tick" x="${num(x(t))}" y="${axisH - 8}" text-anchor="middle">${esc(tickLabel(t, step, span))}</text>`);
    axis.push(`<line x1="${num(x(t))}" y1="${axisH - 4}" x2="${num(x(t))}" y2="${axisH}" stroke="#868e96"/>`);
  }
  axis.push(`<text class="tick axis-title" x="8" y="${axisH - 8}">task</text>`);
  axis.push(`<line x1="${LABEL_W}" y1="${axisH - 0.5}" x2="${LABEL_W + PLOT_W}" y2="${axisH - 0.5}" stroke="#868e96"/>`);
  for (const m of markers) {
    const cy = m.row * MARKER_ROW_H + MARKER_ROW_H / 2 + 2;
    const colour = MARKER_COLOURS[m.kind];
    const textX = m.anchorEnd ? m.x - 9 : m.x + 9;
    const shape =
      m.kind === 'fault'
        ? `<path d="M${num(m.x)} ${num(cy - 6)} L${num(m.x + 6)} ${num(cy)} L${num(m.x)} ${num(cy + 6)} L${num(m.x - 6)} ${num(cy)} Z" fill="${m.hollow ? '#fff' : '#ffd43b'}" stroke="${colour}" stroke-width="1.5"/>`
        : `<rect x="${num(m.x - 4)}" y="${num(cy - 4)}" width="8" height="8" fill="${colour}"/>`;
    axis.push(
      `<g class="${m.kind === 'fault' ? 'fault-marker' : `run-marker run-${m.kind}`}"><title>${esc(m.title)}</title>` +
        `<line x1="${num(m.x)}" y1="${num(cy + 6)}" x2="${num(m.x)}" y2="${axisH}" stroke="${colour}" stroke-dasharray="3 2"/>` +
        shape +
        `<text class="marker-label" x="${num(textX)}" y="${num(cy + 4)}" text-anchor="${m.anchorEnd ? 'end' : 'start'}" fill="${colour}">${esc(m.label)}</text></g>`,
    );
  }
  axis.push('</svg>');

  // The lanes: zebra background, grid, retry connectors, bars, then marker lines on top.
  const lanes: string[] = [];
  lanes.push(
    `<svg class="lanes" xmlns="http://www.w3.org/2000/svg" width="${SVG_W}" height="${lanesH}" viewBox="0 0 ${SVG_W} ${lanesH}" role="img" aria-label="attempts per task over time">`,
  );
  laneIds.forEach((id, i) => {
    const y = i * laneH;
    if (i % 2 === 0) lanes.push(`<rect x="0" y="${y}" width="${SVG_W}" height="${laneH}" fill="#f1f3f5"/>`);
    const shown = id.length > 24 ? `${id.slice(0, 23)}…` : id;
    lanes.push(
      `<text class="lane-label" x="${LABEL_W - 8}" y="${num(y + laneH / 2 + labelFont * 0.35)}" text-anchor="end" font-size="${labelFont}"><title>${esc(id)}</title>${esc(shown)}</text>`,
    );
  });
  for (const t of ticks) lanes.push(`<line x1="${num(x(t))}" y1="0" x2="${num(x(t))}" y2="${lanesH}" stroke="#dee2e6"/>`);

  // Faults with a duration (pause, netem): a band from firing to undoing on the targets' lanes.
  for (const fs of spans) {
    const x0 = x(fs.from);
    const w = Math.max(2, x(fs.to) - x0);
    const lanesHit = [...new Set(fs.tasks.flatMap((t) => (laneIndex.has(t) ? [laneIndex.get(t)!] : [])))];
    const rows = lanesHit.length ? lanesHit : laneIds.map((_, i) => i);
    const title = `fault ${fs.faultId} (${fs.kind}) active from +${fs.from} ms to +${fs.to} ms (${formatDuration(fs.to - fs.from)})`;
    for (const i of rows) {
      lanes.push(
        `<rect class="fault-span" x="${num(x0)}" y="${i * laneH}" width="${num(w)}" height="${laneH}" fill="${FAULT_SPAN_COLOUR}" fill-opacity="0.3"><title>${esc(title)}</title></rect>`,
      );
    }
  }

  const byTask = new Map<string, ReportAttempt[]>();
  for (const a of report.attempts) byTask.set(a.task, [...(byTask.get(a.task) ?? []), a]);
  for (const [task, attempts] of byTask) {
    const cy = (laneIndex.get(task) ?? 0) * laneH + laneH / 2;
    const sorted = [...attempts].sort((a, b) => a.attempt - b.attempt);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      const next = sorted[i]!;
      const from = offsetFromStart(report, prev.endedAt);
      const to = offsetFromStart(report, next.startedAt);
      if (from === null || to === null || to <= from) continue;
      const delay = facts.get(attemptKey(task, next.attempt))?.retryDelayMs;
      lanes.push(
        `<line class="retry" x1="${num(x(from))}" y1="${num(cy)}" x2="${num(x(to))}" y2="${num(cy)}" stroke="#495057" stroke-width="1.5" stroke-dasharray="2 3"><title>${esc(`${task}: attempt ${next.attempt} after ${to - from} ms${delay !== undefined ? ` (backoff ${delay} ms)` : ''}`)}</title></line>`,
      );
    }
    for (const a of sorted) {
      const start = offsetFromStart(report, a.startedAt) ?? 0;
      const end = offsetFromStart(report, a.endedAt);
      const x0 = x(start);
      const w = Math.max(2, x(end ?? span) - x0);
      const open = end === null;
      const colour = OUTCOME_COLOURS[a.outcome] ?? OUTCOME_COLOURS.lost;
      const label = w >= 22 && barH >= 10 ? `<text class="bar-label" x="${num(x0 + 4)}" y="${num(cy + 3.5)}">#${a.attempt}</text>` : '';
      lanes.push(
        `<g class="attempt"><title>${esc(attemptTitle(report, a, facts.get(attemptKey(a.task, a.attempt))))}</title>` +
          `<rect class="bar bar-${esc(a.outcome)}" data-task="${esc(a.task)}" data-attempt="${a.attempt}" x="${num(x0)}" y="${num(cy - barH / 2)}" width="${num(w)}" height="${barH}" rx="2" fill="${colour}"${open ? ' fill-opacity="0.5" stroke="#495057" stroke-dasharray="3 2"' : ''}/>` +
          `${label}</g>`,
      );
    }
  }
  for (const m of markers) {
    const colour = MARKER_COLOURS[m.kind];
    lanes.push(
      `<line class="marker-line" x1="${num(m.x)}" y1="0" x2="${num(m.x)}" y2="${lanesH}" stroke="${colour}" stroke-width="1.2" stroke-dasharray="4 3"><title>${esc(m.title)}</title></line>`,
    );
  }
  lanes.push('</svg>');

  return `${legend()}<div class="timeline-scroll">${axis.join('')}${lanes.join('')}</div>`;
}

function pill(text: string, colour: string): string {
  return `<span class="pill" style="background: ${colour}">${esc(text)}</span>`;
}

function summary(report: RunReport): string {
  const items: [string, string][] = [
    ['run id', esc(report.runId)],
    ['seed', esc(report.seed)],
    ['scenario', `${esc(report.scenario)}${report.scenarioFile ? ` <span class="muted">(${esc(report.scenarioFile)})</span>` : ''}`],
    ['started', esc(report.startedAt)],
    ['duration', `${esc(formatDuration(report.durationMs))} <span class="muted">(${esc(report.durationMs)} ms)</span>`],
    ['backend', esc(report.backend)],
    ['controllers', esc(describeControllers(report))],
    ['daemon', report.daemon ? `${esc(report.daemon.endpoint)} <span class="muted">Docker ${esc(report.daemon.version)}, API ${esc(report.daemon.apiVersion)}</span>` : '—'],
    ['image', esc(report.image)],
    ['network', esc(report.network)],
    ['tasks', esc(`${report.tasks.length}${report.tasks.length ? `: ${countBy(report.tasks.map((t) => t.outcome))}` : ''}`)],
    ['attempts', esc(`${report.attempts.length}${report.attempts.length ? `: ${countBy(report.attempts.map((a) => a.outcome))}` : ''}`)],
    ['faults', esc(`${report.faults.length}${report.faults.length ? `: ${countBy(report.faults.map((f) => f.status))}` : ''}`)],
    ['checks', esc(`${report.checks.filter((c) => c.ok).length} of ${report.checks.length} held`)],
    ['usage', esc(`${report.usage.total.tokens} tokens, ${formatUsd(report.usage.total.costUsd)} (${formatUsd(report.usage.wasted.costUsd)} wasted)`)],
    ['keelhaul', esc(report.keelhaulVersion)],
  ];
  return `<dl class="summary">${items.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${v}</dd></div>`).join('')}</dl>`;
}

function checksTable(report: RunReport): string {
  if (report.checks.length === 0) return '<p class="muted">No checks ran.</p>';
  // The evidence column only when some check has evidence (a passing run usually has none).
  const withEvidence = report.checks.some((c) => c.evidence.length > 0);
  const rows = report.checks.map(
    (c) =>
      `<tr class="${c.ok ? 'check-ok' : 'check-fail'}"><td><code>${esc(c.name)}</code></td><td>${c.ok ? pill('ok', OUTCOME_COLOURS.completed) : pill('FAIL', OUTCOME_COLOURS.failed)}</td><td>${esc(c.expected)}</td><td>${esc(c.observed)}</td>${
        withEvidence ? `<td>${c.evidence.length ? `<ul class="evidence">${c.evidence.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>` : ''}</td>` : ''
      }</tr>`,
  );
  return `<table class="checks"><thead><tr><th>check</th><th>result</th><th>expected</th><th>observed</th>${withEvidence ? '<th>evidence</th>' : ''}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function attemptsTable(report: RunReport): string {
  if (report.attempts.length === 0) return '<p class="muted">No attempt was launched.</p>';
  const rows = report.attempts.map((a) => {
    const ms = attemptDurationMs(a);
    const start = offsetFromStart(report, a.startedAt);
    return `<tr><td>${esc(a.task)}</td><td class="num">${esc(a.attempt)}</td><td><code title="${esc(a.containerId)}">${esc(shortContainerId(a.containerId))}</code></td><td>${pill(a.outcome, OUTCOME_COLOURS[a.outcome] ?? OUTCOME_COLOURS.lost)}</td><td class="num">${esc(a.exitCode ?? '—')}${a.oomKilled ? ' <span class="muted">OOMKilled</span>' : ''}</td><td>${esc(a.reason ?? '')}</td><td class="num">${start === null ? '—' : esc(`+${start} ms`)}</td><td class="num">${ms === null ? '<span class="muted">no end recorded</span>' : esc(formatDuration(ms))}</td><td>${esc(a.faults.join(', '))}</td></tr>`;
  });
  return `<table class="attempts"><thead><tr><th>task</th><th>attempt</th><th>container</th><th>outcome</th><th>exit</th><th>reason</th><th>started</th><th>duration</th><th>faults</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function faultsTable(report: RunReport): string {
  if (report.faults.length === 0) return '<p class="muted">The scenario has no faults.</p>';
  const statusColour: Record<ReportFault['status'], string> = {
    injected: OUTCOME_COLOURS.completed,
    'no-target': OUTCOME_COLOURS.killed,
    failed: OUTCOME_COLOURS.failed,
    'not-fired': OUTCOME_COLOURS.lost,
    skipped: OUTCOME_COLOURS.lost,
  };
  const rows = report.faults.map(
    (f) =>
      `<tr><td><code>${esc(f.faultId)}</code></td><td>${esc(f.kind)}</td><td>${esc(f.trigger)}</td><td>${pill(f.status, statusColour[f.status] ?? OUTCOME_COLOURS.lost)}</td><td class="num">${f.offsetMs === null ? '—' : esc(`+${f.offsetMs} ms`)}</td><td><code>${esc(JSON.stringify(f.params))}</code></td><td>${esc(describeTargets(f))}</td><td>${esc(f.error ?? '')}</td></tr>`,
  );
  return `<table class="faults"><thead><tr><th>fault</th><th>kind</th><th>trigger</th><th>status</th><th>fired</th><th>params</th><th>targets</th><th>error</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function usageBlock(report: RunReport): string {
  const u = report.usage;
  if (u.total.reports === 0) return '<p class="muted">No worker reported usage.</p>';
  const row = (name: string, t: UsageTotals, cls: string): string =>
    `<tr class="${cls}"><td>${esc(name)}</td><td class="num">${esc(t.tokensIn)}</td><td class="num">${esc(t.tokensOut)}</td><td class="num">${esc(t.tokens)}</td><td class="num">${esc(formatUsd(t.costUsd))}</td><td class="num">${esc(t.reports)}</td></tr>`;
  const rows = [
    row('run', u.total, 'usage-total'),
    row('wasted: attempts that did not complete', u.wasted, 'usage-wasted'),
    ...Object.entries(u.wastedByOutcome).map(([outcome, t]) => row(`wasted by ${outcome} attempts`, t, 'usage-wasted-outcome')),
  ];
  const taskRows = u.tasks.map(
    (t) =>
      `<tr><td>${esc(t.task)}</td><td class="num">${esc(t.tokens)}</td><td class="num">${esc(formatUsd(t.costUsd))}</td><td class="num">${esc(formatUsd(t.wasted.costUsd))}</td></tr>`,
  );
  return `<p>Summed from the <code>usage</code> workers reported; usage of killed, failed, hung, OOM-killed or lost attempts counts as wasted.</p><table class="usage"><thead><tr><th></th><th>tokens in</th><th>tokens out</th><th>tokens</th><th>cost</th><th>reports</th></tr></thead><tbody>${rows.join('')}</tbody></table><details><summary>per task</summary><table class="usage-tasks"><thead><tr><th>task</th><th>tokens</th><th>cost</th><th>wasted</th></tr></thead><tbody>${taskRows.join('')}</tbody></table></details>`;
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function resourcesBlock(report: RunReport, samples: readonly MonitorSample[]): string {
  const r = report.resources;
  const figures = r
    ? `<p>${esc(r.samples)} sample(s) in <code>${esc(r.samplesFile)}</code> (${esc(r.skipped)} skipped), ${esc(r.alerts)} alert(s). Controller RSS ${esc(mib(r.controllerRss.firstBytes))} → ${esc(mib(r.controllerRss.lastBytes))}; peaks: ${esc(r.peaks.map((p) => `${p.name} ${mib(p.rssBytes)}, ${p.cpuPercent.toFixed(1)} % CPU`).join('; ') || '—')}${r.containers.sampled ? esc(`; containers ${mib(r.containers.peakMemoryBytes)} each at most, ${mib(r.containers.peakTotalMemoryBytes)} together`) : ''}.</p>`
    : '<p class="muted">The monitor did not run.</p>';
  return `${figures}${renderResourceCharts(samples, Date.parse(report.startedAt), report.durationMs)}`;
}

function cleanupBlock(report: RunReport): string {
  const c = report.cleanup;
  if (c === null) return `<p>Cleanup did not complete: <code>${esc(`keelhaul clean ${report.runId}`)}</code> removes what is left.</p>`;
  return `<p>Removed ${esc(c.containers)} container(s), ${esc(c.networks)} network(s), ${esc(c.volumes)} volume(s).</p>${c.errors.length ? `<ul class="evidence">${c.errors.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>` : ''}`;
}

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #212529; margin: 0; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 12px; display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
h2 { font-size: 17px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #dee2e6; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
pre { background: #f1f3f5; padding: 10px 12px; border-radius: 4px; overflow-x: auto; }
.muted { color: #868e96; }
.status { font-size: 14px; color: #fff; padding: 3px 10px; border-radius: 4px; letter-spacing: .04em; }
.status.passed { background: #2f9e44; }
.status.failed { background: #e03131; }
.run-error { border-left: 4px solid #e03131; background: #fff5f5; padding: 8px 12px; margin: 12px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 4px 24px; margin: 0; }
.summary div { display: flex; gap: 8px; min-width: 0; }
.summary dt { color: #868e96; min-width: 72px; }
.summary dd { margin: 0; overflow-wrap: anywhere; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; margin: 0 0 8px; font-size: 12.5px; }
.legend-item { display: inline-flex; align-items: center; gap: 5px; }
.legend-note { color: #868e96; }
.timeline-scroll { overflow: auto; max-height: 75vh; width: fit-content; border: 1px solid #dee2e6; border-radius: 4px; max-width: 100%; }
.timeline-scroll svg { display: block; }
svg.axis { position: sticky; top: 0; z-index: 1; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
.tick { font-size: 11px; fill: #495057; }
.lane-label { fill: #343a40; }
.bar-label { font-size: 10px; fill: #fff; pointer-events: none; }
.marker-label { font-size: 11px; font-weight: 600; }
.attempt:hover rect { stroke: #212529; stroke-width: 1.5; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid #e9ecef; overflow-wrap: anywhere; }
th { white-space: nowrap; position: sticky; top: 0; background: #f8f9fa; font-weight: 600; border-bottom: 1px solid #ced4da; }
td.num { text-align: right; white-space: nowrap; }
tr.check-fail td { background: #fff5f5; }
table.checks td:first-child code { white-space: nowrap; }
tr.check-ok td:first-child { border-left: 3px solid #2f9e44; }
tr.check-fail td:first-child { border-left: 3px solid #e03131; }
.pill { display: inline-block; color: #fff; font-size: 11.5px; font-weight: 600; padding: 1px 7px; border-radius: 9px; white-space: nowrap; }
ul.evidence { margin: 0; padding-left: 18px; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.chart-box { margin: 0; border: 1px solid #dee2e6; border-radius: 4px; padding: 6px 8px; }
.chart-box svg.chart { display: block; }
.chart-title { font-size: 13px; font-weight: 600; fill: #212529; }
.chart-legend { margin: 4px 0 0; }
table.usage { width: auto; }
tr.usage-wasted td { color: #c92a2a; }
footer { margin-top: 32px; color: #868e96; font-size: 12px; }
`;

/**
 * Renders `report.html`: one self-contained page (inline CSS and SVG, no script, nothing
 * fetched) with the run's summary, a timeline (a lane per task, a bar per attempt coloured
 * by outcome, a marker per fired fault, hover titles with each attempt's details), and the
 * checks, attempts and faults tables, agent usage (total and wasted), resource charts (from
 * `samples`, the run's samples.jsonl: process RSS and CPU, attempt containers' memory and
 * CPU per tick) and cleanup. Every string from the report and the events is
 * HTML-escaped.
 */
export function renderHtmlReport(report: RunReport, events: readonly RunEvent[], samples: readonly MonitorSample[] = []): string {
  const passed = report.status === 'passed';
  const command = reproduceCommand(report, events);
  const title = `keelhaul run ${report.runId} — ${passed ? 'PASSED' : 'FAILED'}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>keelhaul run <code>${esc(report.runId)}</code> <span class="status ${passed ? 'passed' : 'failed'}">${passed ? 'PASSED' : 'FAILED'}</span></h1>
${report.error !== undefined ? `<div class="run-error"><strong>Run error:</strong> ${esc(report.error)}</div>` : ''}
${report.unhardened ? `<div class="run-error"><strong>UNHARDENED RUN</strong> (dangerouslyAllow: ${esc(report.unhardened.dangerouslyAllow.join(', '))}): ${esc(report.unhardened.warning)}</div>` : ''}
${summary(report)}
</header>
<main>
<section id="timeline"><h2>Timeline</h2>
${timeline(report, events)}
</section>
<section id="checks"><h2>Checks</h2>
${checksTable(report)}
</section>
<section id="attempts"><h2>Attempts</h2>
${attemptsTable(report)}
</section>
<section id="faults"><h2>Faults</h2>
${faultsTable(report)}
</section>
<section id="usage"><h2>Agent usage</h2>
${usageBlock(report)}
</section>
<section id="resources"><h2>Resources</h2>
${resourcesBlock(report, samples)}
</section>
<section id="cleanup"><h2>Cleanup</h2>
${cleanupBlock(report)}
</section>
<section id="reproduce"><h2>Reproduce</h2>
${command === null ? `<p>The scenario was built in code; run it again with seed ${esc(report.seed)}.</p>` : `<pre><code>${esc(command)}</code></pre>`}
</section>
</main>
<footer>keelhaul ${esc(report.keelhaulVersion)} · report schema ${esc(report.schemaVersion)} · ${esc(events.length)} event(s)</footer>
</body>
</html>
`;
}
