import { readFile } from 'node:fs/promises';
import type { ContainerSample, MonitorSample, ProcessSample } from '../monitor/types.js';
import { escapeHtml as esc } from './escape-html.js';

/*
 * The resource charts of report.html: inline SVG line charts drawn from the monitor's
 * samples.jsonl — RSS and CPU of the controller, dockerd and the reaper, and the memory and
 * CPU of the attempt containers summed per sampling tick. No script, nothing fetched: the
 * page's Content-Security-Policy forbids both.
 */

/** One line of a chart: a name for the legend, a colour, points (ms since the run started, value). */
interface Series {
  readonly name: string;
  readonly colour: string;
  readonly points: readonly (readonly [number, number])[];
}

const PALETTE = ['#1971c2', '#e8590c', '#2f9e44', '#9c36b5', '#c2255c', '#0c8599', '#5c940d', '#862e9c'];

// Geometry, px: a chart is small enough for two side by side on a laptop screen.
const W = 560;
const H = 220;
const PAD_L = 58;
const PAD_R = 14;
const PAD_T = 28;
const PAD_B = 34;

const num = (n: number): string => (Number.isFinite(n) ? String(Math.round(n * 10) / 10) : '0');

/** A step of 1, 2 or 5 × 10^k that cuts `span` into at most `n` parts. */
function niceStep(span: number, n: number): number {
  const raw = Math.max(span, 1e-9) / n;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function formatTick(value: number, step: number): string {
  return step >= 1 ? String(Math.round(value)) : value.toFixed(Math.min(3, Math.ceil(-Math.log10(step))));
}

/**
 * One line chart as inline SVG (`<svg class="chart" data-chart="<id>">`), with a y axis
 * from 0, an x axis in seconds since the run started, a legend and a hover title on each
 * line holding its peak. A chart with no points says so instead of drawing empty axes.
 */
function lineChart(id: string, title: string, unit: string, series: readonly Series[], spanMs: number): string {
  const drawn = series.filter((s) => s.points.length > 0);
  if (drawn.length === 0) return `<figure class="chart-box" data-chart="${esc(id)}"><figcaption>${esc(title)}</figcaption><p class="muted">No samples.</p></figure>`;
  const maxY = Math.max(...drawn.flatMap((s) => s.points.map((p) => p[1])), 0);
  const yStep = niceStep(maxY || 1, 4);
  const yTop = Math.max(yStep, Math.ceil((maxY || 1) / yStep) * yStep);
  const span = Math.max(spanMs, ...drawn.flatMap((s) => s.points.map((p) => p[0])), 1);
  const plotW = W - PAD_L - PAD_R;
  const plotH = H - PAD_T - PAD_B;
  const x = (ms: number): number => PAD_L + (Math.max(0, ms) / span) * plotW;
  const y = (v: number): number => PAD_T + plotH - (v / yTop) * plotH;
  const out: string[] = [];
  out.push(
    `<svg class="chart" data-chart="${esc(id)}" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`,
  );
  out.push(`<text class="chart-title" x="${PAD_L}" y="16">${esc(title)}</text>`);
  for (let v = 0; v <= yTop + 1e-9; v += yStep) {
    out.push(`<line x1="${PAD_L}" y1="${num(y(v))}" x2="${W - PAD_R}" y2="${num(y(v))}" stroke="${v === 0 ? '#868e96' : '#e9ecef'}"/>`);
    out.push(`<text class="tick" x="${PAD_L - 6}" y="${num(y(v) + 4)}" text-anchor="end">${esc(formatTick(v, yStep))}</text>`);
  }
  out.push(`<text class="tick" x="12" y="${num(PAD_T + plotH / 2)}" text-anchor="middle" transform="rotate(-90 12 ${num(PAD_T + plotH / 2)})">${esc(unit)}</text>`);
  const xStep = niceStep(span / 1000, 6);
  for (let s = 0; s <= span / 1000 + 1e-9; s += xStep) {
    out.push(`<line x1="${num(x(s * 1000))}" y1="${PAD_T + plotH}" x2="${num(x(s * 1000))}" y2="${PAD_T + plotH + 4}" stroke="#868e96"/>`);
    out.push(`<text class="tick" x="${num(x(s * 1000))}" y="${PAD_T + plotH + 16}" text-anchor="middle">${esc(`${formatTick(s, xStep)} s`)}</text>`);
  }
  out.push(`<line x1="${PAD_L}" y1="${PAD_T}" x2="${PAD_L}" y2="${PAD_T + plotH}" stroke="#868e96"/>`);
  for (const s of drawn) {
    const peak = Math.max(...s.points.map((p) => p[1]));
    const points = s.points.map(([ms, v]) => `${num(x(ms))},${num(y(v))}`).join(' ');
    const tip = `${s.name}: peak ${peak.toFixed(1)} ${unit}, ${s.points.length} sample(s)`;
    // A single sample is a dot: a one-point polyline draws nothing.
    out.push(
      s.points.length === 1
        ? `<g class="series" data-series="${esc(s.name)}"><title>${esc(tip)}</title><circle cx="${num(x(s.points[0]![0]))}" cy="${num(y(s.points[0]![1]))}" r="3" fill="${s.colour}"/></g>`
        : `<g class="series" data-series="${esc(s.name)}"><title>${esc(tip)}</title><polyline points="${points}" fill="none" stroke="${s.colour}" stroke-width="1.8" stroke-linejoin="round"/></g>`,
    );
  }
  out.push('</svg>');
  const legend = drawn
    .map(
      (s) =>
        `<span class="legend-item"><svg width="18" height="10" aria-hidden="true"><line x1="0" y1="5" x2="18" y2="5" stroke="${s.colour}" stroke-width="3"/></svg>${esc(s.name)}</span>`,
    )
    .join('');
  return `<figure class="chart-box" data-chart="${esc(id)}">${out.join('')}<div class="legend chart-legend">${legend}</div></figure>`;
}

/**
 * The resource charts for report.html from the run's samples: process RSS (MiB), process
 * CPU (% of one core), and the attempt containers' memory (MiB, summed per tick) and CPU
 * (%, summed per tick) with how many containers were sampled. `startedAtMs` is the run's
 * start (epoch ms), `spanMs` the width of the x axis.
 *
 * @returns an HTML fragment: a paragraph when there are no samples, else the charts
 */
export function renderResourceCharts(samples: readonly MonitorSample[], startedAtMs: number, spanMs: number): string {
  if (samples.length === 0) return '<p class="muted">No resource samples (samples.jsonl is missing or empty).</p>';
  const at = (time: string): number => Date.parse(time) - startedAtMs;
  const processes = samples.filter((s): s is ProcessSample => s.kind === 'process');
  const names = [...new Set(processes.map((p) => p.name))];
  const colourOf = (i: number): string => PALETTE[i % PALETTE.length]!;
  const MiB = 1024 * 1024;
  const rss: Series[] = names.map((name, i) => ({
    name,
    colour: colourOf(i),
    points: processes.filter((p) => p.name === name).map((p) => [at(p.time), p.rssBytes / MiB] as const),
  }));
  const cpu: Series[] = names.map((name, i) => ({
    name,
    colour: colourOf(i),
    points: processes.filter((p) => p.name === name).map((p) => [at(p.time), p.cpuPercent] as const),
  }));
  // Containers come and go: a line per container would be a tangle, so the tick's sum.
  const ticks = new Map<number, { time: number; memory: number; cpu: number; count: number }>();
  for (const c of samples.filter((s): s is ContainerSample => s.kind === 'container')) {
    const t = ticks.get(c.tick) ?? { time: at(c.time), memory: 0, cpu: 0, count: 0 };
    t.memory += c.memoryBytes / MiB;
    t.cpu += c.cpuPercent;
    t.count += 1;
    t.time = Math.min(t.time, at(c.time));
    ticks.set(c.tick, t);
  }
  const byTick = [...ticks.values()].sort((a, b) => a.time - b.time);
  const containers: Series[] = [
    { name: 'memory of all attempt containers (MiB)', colour: PALETTE[0]!, points: byTick.map((t) => [t.time, t.memory] as const) },
    { name: 'containers sampled', colour: PALETTE[1]!, points: byTick.map((t) => [t.time, t.count] as const) },
  ];
  const containerCpu: Series[] = [{ name: 'CPU of all attempt containers', colour: PALETTE[2]!, points: byTick.map((t) => [t.time, t.cpu] as const) }];
  return `<div class="charts">${[
    lineChart('process-rss', 'Process RSS', 'MiB', rss, spanMs),
    lineChart('process-cpu', 'Process CPU', '% of one core', cpu, spanMs),
    lineChart('container-memory', 'Attempt containers: memory and count', 'MiB / count', containers, spanMs),
    lineChart('container-cpu', 'Attempt containers: CPU', '% of one core', containerCpu, spanMs),
  ].join('')}</div>`;
}

/**
 * Reads a samples file (JSONL of {@link MonitorSample}): lines that are not a JSON sample
 * (a torn last line) are skipped; a missing file is no samples.
 *
 * @throws the read error for anything but ENOENT
 */
export async function readSamplesFile(path: string): Promise<MonitorSample[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: MonitorSample[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const s = JSON.parse(line) as MonitorSample;
      if ((s.kind === 'process' || s.kind === 'container') && typeof s.time === 'string') out.push(s);
    } catch {
      // a line cut short by a controller that died mid-write
    }
  }
  return out;
}
