import { describe, expect, it } from 'vitest';
import { checkBudget } from '../../src/checks/budget.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { renderMarkdownReport } from '../../src/report/markdown.js';
import { renderResourceCharts } from '../../src/report/resource-charts.js';
import { summarizeUsage, UsageTally, ZERO_USAGE } from '../../src/report/usage.js';
import type { MonitorSample } from '../../src/monitor/types.js';
import { parseScenario } from '../../src/scenario/load.js';
import { at, failedEvents, failedReport, findAll, parseXml, usageOf } from './report-fixtures.js';

describe('agent usage accounting', () => {
  it('usage: the tally sums reports per attempt; costs stay exact to the micro-dollar', () => {
    const tally = new UsageTally();
    tally.add('t-01', 1, { tokensIn: 100, tokensOut: 10, costUsd: 0.000451 });
    tally.add('t-01', 1, { tokensIn: 200, tokensOut: 20, costUsd: 0.000902 });
    tally.add('t-01', 2, { tokensIn: 1, tokensOut: 1, costUsd: 0.1 + 0.2 });
    expect(tally.of('t-01', 1)).toEqual({ tokensIn: 300, tokensOut: 30, tokens: 330, costUsd: 0.001353, reports: 2 });
    expect(tally.of('t-01', 2).costUsd).toBe(0.3);
    expect(tally.of('t-09', 1)).toEqual(ZERO_USAGE);
    expect(tally.total()).toMatchObject({ tokens: 332, reports: 3 });
  });

  it('usage: what attempts that did not complete used is wasted, per outcome and per task', () => {
    const u = summarizeUsage(
      ['a', 'b', 'c'],
      [
        { task: 'a', outcome: 'killed', usage: usageOf(100, 10, 1) },
        { task: 'a', outcome: 'completed', usage: usageOf(300, 30) },
        { task: 'b', outcome: 'hung', usage: usageOf(50, 5, 1) },
        { task: 'b', outcome: 'lost', usage: ZERO_USAGE },
      ],
    );
    expect(u.total.tokens).toBe(495);
    expect(u.wasted).toEqual(usageOf(150, 15, 2));
    expect(Object.keys(u.wastedByOutcome).sort()).toEqual(['hung', 'killed']);
    expect(u.wastedByOutcome.killed).toEqual(usageOf(100, 10, 1));
    expect(u.tasks.map((t) => [t.task, t.tokens, t.wasted.tokens])).toEqual([
      ['a', 440, 110],
      ['b', 55, 55],
      ['c', 0, 0],
    ]);
  });
});

describe('budget check', () => {
  const usage = summarizeUsage(
    ['a', 'b'],
    [
      { task: 'a', outcome: 'killed', usage: usageOf(1000, 100, 1) },
      { task: 'a', outcome: 'completed', usage: usageOf(2000, 200) },
      { task: 'b', outcome: 'completed', usage: usageOf(500, 50) },
    ],
  );

  it('budget: no budget passes and says that nothing was limited, with the figures', () => {
    const r = checkBudget(usage, undefined);
    expect(r).toMatchObject({ name: 'budget', ok: true });
    expect(r.expected).toMatch(/no budget set/);
    expect(r.observed).toBe('3850 tokens, $0.015750 ($0.004500 wasted on attempts that did not complete) from 5 usage report(s)');
    expect(checkBudget(usage, {}).ok).toBe(true);
  });

  it('budget: within every limit passes (a limit equal to the usage is within it)', () => {
    const r = checkBudget(usage, { tokens: 3850, costUsd: 1, wastedCostUsd: 0.0045 });
    expect(r.ok).toBe(true);
    expect(r.expected).toBe('tokens ≤ 3850 tokens, costUsd ≤ $1.000000, wastedCostUsd ≤ $0.004500');
  });

  it('budget: fails past any limit, names each one exceeded and the tasks that spent most', () => {
    const tokens = checkBudget(usage, { tokens: 3849 });
    expect(tokens.ok).toBe(false);
    expect(tokens.observed).toMatch(/over budget: tokens 3850 tokens > 3849 tokens$/);
    const wasted = checkBudget(usage, { costUsd: 1, wastedCostUsd: 0.001 });
    expect(wasted.ok).toBe(false);
    expect(wasted.observed).toMatch(/over budget: wastedCostUsd \$0\.004500 > \$0\.001000$/);
    expect(wasted.evidence).toEqual(['task a: 3300 tokens, $0.013500 ($0.004500 wasted)', 'task b: 550 tokens, $0.002250 ($0.000000 wasted)']);
    expect(checkBudget(usage, { tokens: 1, costUsd: 0.01 }).observed).toMatch(/tokens 3850 tokens > 1 tokens, costUsd \$0\.015750 > \$0\.010000/);
  });

  it('budget: the scenario takes `budget:` and refuses a negative or unknown limit, naming the field', () => {
    const base = 'name: b\ntasks:\n  count: 1\n  steps: [{ progress: 1 }]\n';
    expect(parseScenario(`${base}budget: { tokens: 5000, costUsd: 0.05, wastedCostUsd: 0.01 }\n`).budget).toEqual({ tokens: 5000, costUsd: 0.05, wastedCostUsd: 0.01 });
    expect(parseScenario(base).budget).toBeUndefined();
    expect(() => parseScenario(`${base}budget: { costUsd: -1 }\n`, 'b.yaml')).toThrow(/b\.yaml[\s\S]*budget\.costUsd/);
    expect(() => parseScenario(`${base}budget: { dollars: 1 }\n`, 'b.yaml')).toThrow(/b\.yaml[\s\S]*dollars/);
  });
});

describe('usage and resources in report.md and report.html', () => {
  it('md: an agent usage section with the run, the waste by outcome and each task; resource peaks', () => {
    const md = renderMarkdownReport(failedReport(), failedEvents());
    expect(md).toContain('## Agent usage');
    expect(md).toMatch(/\| run \| 4500 \| 1100 \| 5600 \| \$0\.\d{6} \| 6 \|/);
    expect(md).toMatch(/wasted by killed attempts/);
    expect(md).toMatch(/wasted by oom attempts/);
    expect(md).toContain('## Resources');
    expect(md).toMatch(/\| controller \| 85\.8 MiB \| 12\.5 % \|/);
  });

  const samples: MonitorSample[] = [];
  for (let tick = 0; tick < 5; tick++) {
    samples.push({ kind: 'process', time: at(tick * 1000), tick, name: 'controller', pid: 1, rssBytes: (80 + tick) * 1024 * 1024, cpuPercent: 10 * tick });
    samples.push({ kind: 'process', time: at(tick * 1000 + 5), tick, name: 'dockerd', pid: 2, rssBytes: 60 * 1024 * 1024, cpuPercent: 3 });
    if (tick > 0)
      samples.push({
        kind: 'container',
        time: at(tick * 1000 + 9),
        tick,
        containerId: 'c1',
        memoryBytes: 20 * 1024 * 1024,
        memoryLimitBytes: 256 * 1024 * 1024,
        cpuPercent: 30,
        pids: 4,
      });
  }

  it('html: four resource charts of inline SVG, a line per process, well-formed', () => {
    const fragment = renderResourceCharts(samples, Date.parse(at(0)), 6500);
    const tree = parseXml(`<div>${fragment}</div>`);
    const charts = findAll(tree, 'svg').filter((s) => s.attrs['class'] === 'chart');
    expect(charts.map((c) => c.attrs['data-chart'])).toEqual(['process-rss', 'process-cpu', 'container-memory', 'container-cpu']);
    const rss = charts[0]!;
    expect(
      findAll(rss, 'g')
        .filter((g) => g.attrs['class'] === 'series')
        .map((g) => g.attrs['data-series']),
    ).toEqual(['controller', 'dockerd']);
    expect(findAll(rss, 'polyline')[0]!.attrs['points']!.split(' ')).toHaveLength(5);
    expect(fragment).toContain('controller: peak 84.0 MiB, 5 sample(s)');
    expect(renderResourceCharts([], 0, 1000)).toMatch(/No resource samples/);
  });

  it('html: usage and resources sections, charts included, and still no script', () => {
    const html = renderHtmlReport(failedReport(), failedEvents(), samples);
    expect(html).toContain('<section id="usage">');
    expect(html).toContain('wasted by oom attempts');
    expect(html).toContain('<section id="resources">');
    expect(html.match(/<svg class="chart"/g)).toHaveLength(4);
    expect(html).not.toMatch(/<script/i);
  });
});
