import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../../src/report/html.js';
import { escapeHtml } from '../../src/report/escape-html.js';
import { bigReport, failedEvents, failedReport, findAll, HOSTILE, HOSTILE_TASK, parseXml } from './report-fixtures.js';

const count = (text: string, needle: string): number => text.split(needle).length - 1;

/** The timeline's markup (both SVGs), parsed as XML: proves it is well formed and escaped. */
function timelineTree(html: string) {
  const start = html.indexOf('<div class="timeline-scroll">');
  const end = html.indexOf('</div>', start);
  expect(start).toBeGreaterThan(-1);
  return parseXml(html.slice(start, end + '</div>'.length));
}

describe('report.html', () => {
  const report = failedReport();
  const html = renderHtmlReport(report, failedEvents());

  it('html: one self-contained file: no script, no external stylesheet, font, image or fetch', () => {
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]*/g)];
    for (const m of urls) {
      const before = html.slice(Math.max(0, m.index - 7), m.index);
      expect(before, `URL outside an xmlns attribute: ${m[0]}`).toBe('xmlns="');
    }
    expect(html).not.toMatch(/<script|<link|<img|<iframe|<object|<embed|@import|url\(|\bsrc=|\bhref=/i);
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
  });

  it('html: every string from the report and the events is escaped', () => {
    expect(html).not.toContain(HOSTILE);
    expect(html).not.toContain(HOSTILE_TASK);
    expect(html).not.toMatch(/<script|<b>|<two>/);
    const escaped = escapeHtml(HOSTILE);
    expect(escaped).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&quot;&#39;');
    expect(html).toContain(`<li>${escaped}</li>`); // check evidence
    expect(html).toContain(`data-task="${escapeHtml(HOSTILE_TASK)}"`); // a bar's attribute
    expect(html).toContain(`worker: task.failed disk_full: ENOSPC ${escaped}`); // hover text from the events
    expect(html).toContain('kill-&lt;two&gt; (kill)'); // a fault marker label
    expect(html).toContain('<strong>Run error:</strong> run timed out after 6000 ms &lt;&amp;&gt; &quot;daemon&quot; lost');
  });

  it('html: escapeHtml replaces characters HTML does not allow', () => {
    expect(escapeHtml('a\u0000b\u001bc\ud800d')).toBe('a\ufffdb\ufffdc\ufffdd');
    expect(escapeHtml('tab\tand\nnewline')).toBe('tab\tand\nnewline');
  });

  it('html: the timeline is well-formed SVG with a lane per task, a bar per attempt and a marker per fired fault', () => {
    const tree = timelineTree(html);
    const svgs = findAll(tree, 'svg');
    expect(svgs.map((s) => s.attrs['class'])).toEqual(['axis', 'lanes']);
    const bars = findAll(tree, 'rect').filter((r) => r.attrs['class']?.startsWith('bar '));
    expect(bars).toHaveLength(report.attempts.length);
    expect(bars.map((b) => `${b.attrs['data-task']}#${b.attrs['data-attempt']} ${b.attrs['class']}`)).toEqual([
      't-01#1 bar bar-killed',
      't-01#2 bar bar-completed',
      `${HOSTILE_TASK}#1 bar bar-oom`,
      `${HOSTILE_TASK}#2 bar bar-lost`,
    ]);
    const markers = findAll(tree, 'g').filter((g) => g.attrs['class'] === 'fault-marker');
    const fired = report.faults.filter((f) => f.firedAt !== null);
    expect(markers).toHaveLength(fired.length);
    expect(markers.map((m) => findAll(m, 'text')[0]!.text)).toEqual(['kill-one (kill)', 'kill-<two> (kill)', 'pause-it (pause)']);
    // pause-it was undone: a band on its target's lane only, from firing to undoing.
    const spans = findAll(tree, 'rect').filter((r) => r.attrs['class'] === 'fault-span');
    expect(spans).toHaveLength(1);
    expect(Number(spans[0]!.attrs['y'])).toBe(30);
    expect(Number(spans[0]!.attrs['width'])).toBeCloseTo((1000 / 6500) * 1000, 0);
    // Moments from the events: the abort and the resume.
    const moments = findAll(tree, 'g').filter((g) => g.attrs['class']?.startsWith('run-marker '));
    expect(moments.map((g) => [g.attrs['class'], findAll(g, 'text')[0]!.text])).toEqual([
      ['run-marker run-resumed', 'resumed (controller #2)'],
      ['run-marker run-aborted', 'run aborted'],
    ]);
    const laneLabels = findAll(tree, 'text').filter((t) => t.attrs['class'] === 'lane-label');
    expect(laneLabels.map((t) => findAll(t, 'title')[0]!.text)).toEqual(['t-01', HOSTILE_TASK]);
  });

  it('html: bars sit where their attempts ran, and an attempt with no end is drawn open to the run end', () => {
    const bars = findAll(timelineTree(html), 'rect').filter((r) => r.attrs['class']?.startsWith('bar '));
    const x = (i: number): number => Number(bars[i]!.attrs['x']);
    const w = (i: number): number => Number(bars[i]!.attrs['width']);
    // 170 px of labels, then 1000 px for 6500 ms.
    expect(x(0)).toBeCloseTo(170 + (200 / 6500) * 1000, 0);
    expect(w(0)).toBeCloseTo((700 / 6500) * 1000, 0);
    expect(x(3) + w(3)).toBeCloseTo(1170, 0);
    expect(bars[3]!.attrs['stroke-dasharray']).toBe('3 2');
  });

  it('html: hover titles carry the attempt details', () => {
    const groups = findAll(timelineTree(html), 'g').filter((g) => g.attrs['class'] === 'attempt');
    const title = findAll(groups[0]!, 'title')[0]!.text;
    expect(title).toBe(
      [
        't-01 · attempt 1 · killed',
        'container 111111111111 (kh-20260101-120000-abcd-t-01-a1)',
        'exit 137',
        'reason: fault kill-one',
        'progress reached 50%',
        'started +200 ms, ended +900 ms (700 ms)',
        'faults: kill-one',
      ].join('\n'),
    );
  });

  it('html: a legend names every outcome', () => {
    const legend = html.slice(html.indexOf('<div class="legend">'), html.indexOf('<div class="timeline-scroll">'));
    for (const outcome of ['completed', 'failed', 'killed', 'oom', 'lost', 'fault injected', 'without effect', 'fault active']) expect(legend).toContain(outcome);
  });

  it('html: the checks, attempts and faults tables', () => {
    expect(count(html, '<tr class="check-fail">')).toBe(1);
    expect(count(html, '<tr class="check-ok">')).toBe(2);
    expect(html).toMatch(/<span class="pill" style="background: #e03131">FAIL<\/span>/);
    const attempts = html.slice(html.indexOf('<table class="attempts">'), html.indexOf('</table>', html.indexOf('<table class="attempts">')));
    expect(count(attempts, '<tr>')).toBe(1 + report.attempts.length);
    expect(attempts).toContain(`<code title="${report.attempts[0]!.containerId}">111111111111</code>`);
    const faults = html.slice(html.indexOf('<table class="faults">'), html.indexOf('</table>', html.indexOf('<table class="faults">')));
    expect(count(faults, '<tr>')).toBe(1 + report.faults.length);
    expect(faults).toContain('+870 ms');
    expect(html).toContain('<pre><code>keelhaul run &#39;/scenarios/kill retry.yaml&#39; --seed 42</code></pre>');
  });

  it('html: one task gets tall lanes; 200 tasks get short lanes in a scrolling box', () => {
    const one = bigReport(1);
    const oneTree = timelineTree(renderHtmlReport(one, []));
    const oneLanes = findAll(oneTree, 'svg')[1]!;
    expect(Number(oneLanes.attrs['height'])).toBe(1 * 30 + 6);
    expect(findAll(oneTree, 'rect').filter((r) => r.attrs['class']?.startsWith('bar '))).toHaveLength(1);

    const big = bigReport(200);
    const bigHtml = renderHtmlReport(big, []);
    const bigTree = timelineTree(bigHtml);
    const lanes = findAll(bigTree, 'svg')[1]!;
    expect(Number(lanes.attrs['height'])).toBe(200 * 12 + 6);
    expect(findAll(bigTree, 'rect').filter((r) => r.attrs['class']?.startsWith('bar '))).toHaveLength(big.attempts.length);
    expect(findAll(bigTree, 'text').filter((t) => t.attrs['class'] === 'lane-label')).toHaveLength(200);
    expect(bigHtml).toMatch(/\.timeline-scroll \{ overflow: auto; max-height: 75vh;/);
    expect(bigHtml).toMatch(/svg\.axis \{ position: sticky; top: 0;/);
  });

  it('html: a run with no tasks still renders', () => {
    const empty = { ...failedReport(), tasks: [], attempts: [], faults: [], checks: [], cleanup: null };
    const out = renderHtmlReport(empty, []);
    expect(out).toContain('No task, so no timeline.');
    expect(out).toContain('No checks ran.');
    expect(out).toContain('Cleanup did not complete');
  });
});
