/**
 * The reports of a real run, read back by real consumers: chaos/smoke.yaml (a SIGKILLed
 * worker, retried) with a budget it exceeds, so the run has a killed attempt, a fault and
 * a failing check. Its report.html is opened in headless Chromium (Debian's `chromium`,
 * driven by playwright-core through `executablePath`; no browser is downloaded) and the
 * rendered DOM is asked how many attempt bars, fault markers and resource charts it shows;
 * the page's screenshot is kept in test-artifacts/report.png. Its junit.xml is read back by
 * junit2json, a maintained JUnit XML parser.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseJunit } from 'junit2json';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario, type RunResult } from '../../src/controller/index.js';
import { connectDocker } from '../../src/docker/index.js';
import { loadScenarioFile } from '../../src/scenario/index.js';
import { requireTool } from '../setup/require-tool.js';

/** The browser: KEELHAUL_CHROMIUM, else `chromium` on PATH (`npm test` installs Debian's first). */
function chromiumPath(): string {
  return requireTool(process.env['KEELHAUL_CHROMIUM'] ?? 'chromium', 'apt-get install -y chromium');
}

const artifacts = resolve('test-artifacts');

describe('report.html in headless Chromium, junit.xml in a JUnit parser (docker)', () => {
  let runsDir: string;
  let run: RunResult;
  let browser: Browser;

  beforeAll(async () => {
    // First: a missing browser fails the file at once, before a run is spent.
    const executablePath = chromiumPath();
    runsDir = await mkdtemp(join(tmpdir(), 'keelhaul-report-html-'));
    const scenario = await loadScenarioFile('chaos/smoke.yaml');
    // A budget far below what four tasks use: the budget check fails, the report shows it.
    run = await runScenario({ scenario: { ...scenario, budget: { tokens: 1000 } }, scenarioFile: resolve('chaos/smoke.yaml'), docker: await connectDocker(), runsDir });
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });
  afterAll(async () => {
    await browser?.close();
    await rm(runsDir, { recursive: true, force: true });
  });

  it('the run directory holds report.json, report.md, report.html, junit.xml and samples.jsonl', () => {
    for (const name of ['report.json', 'report.md', 'report.html', 'junit.xml', 'samples.jsonl']) {
      expect(existsSync(join(run.runDir, name)), name).toBe(true);
    }
    const report = run.report;
    expect(report.attempts.filter((a) => a.outcome === 'killed')).toHaveLength(1);
    expect(report.checks.find((c) => c.name === 'budget')?.ok).toBe(false);
  });

  it('html: Chromium renders a bar per attempt coloured by outcome, a marker per fired fault, four resource charts; screenshot kept', async () => {
    const report = run.report;
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const blocked: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) blocked.push(r.url());
    });
    await page.goto(pathToFileURL(join(run.runDir, 'report.html')).href);

    // What was laid out, from the DOM after render: visible boxes, not markup counts.
    const rendered = await page.evaluate(() => {
      const visible = (selector: string): Element[] =>
        [...document.querySelectorAll(selector)].filter((e) => {
          const box = e.getBoundingClientRect();
          return box.width > 0 && box.height > 0;
        });
      return {
        bars: visible('svg.lanes rect.bar').map((e) => ({
          task: e.getAttribute('data-task'),
          attempt: Number(e.getAttribute('data-attempt')),
          cls: e.getAttribute('class'),
          fill: getComputedStyle(e).fill,
        })),
        faultMarkers: visible('svg.axis g.fault-marker').length,
        markerLabels: visible('svg.axis g.fault-marker text').map((e) => e.textContent),
        figures: visible('figure.chart-box').map((e) => e.getAttribute('data-chart')),
        charts: visible('svg.chart').map((e) => e.getAttribute('data-chart')),
        chartLines: visible('svg.chart g.series polyline, svg.chart g.series circle').length,
        status: document.querySelector('h1 .status')?.textContent,
        failedChecks: [...document.querySelectorAll('tr.check-fail code')].map((e) => e.textContent),
        usageRows: document.querySelectorAll('table.usage tbody tr').length,
      };
    });
    expect(rendered.bars).toHaveLength(report.attempts.length);
    expect(rendered.bars.map((b) => `${b.task}#${b.attempt}`).sort()).toEqual(report.attempts.map((a) => `${a.task}#${a.attempt}`).sort());
    const killed = report.attempts.find((a) => a.outcome === 'killed')!;
    const killedBar = rendered.bars.find((b) => b.task === killed.task && b.attempt === killed.attempt)!;
    expect(killedBar.cls).toContain('bar-killed');
    expect(killedBar.fill).toBe('rgb(240, 140, 0)');
    expect(rendered.bars.filter((b) => b.cls?.includes('bar-completed'))).toHaveLength(4);
    const fired = report.faults.filter((f) => f.firedAt !== null);
    expect(fired).toHaveLength(1);
    expect(rendered.faultMarkers).toBe(fired.length);
    expect(rendered.markerLabels).toEqual(['kill-a-running-worker (kill)']);
    // A chart per figure; the containers' only when the monitor caught a container (they
    // live ~1.5 s here, and a stats read can miss one on a loaded machine).
    expect(rendered.figures).toEqual(['process-rss', 'process-cpu', 'container-memory', 'container-cpu']);
    const samples = (await readFile(join(run.runDir, 'samples.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string });
    const containerSampled = samples.some((s) => s.kind === 'container');
    expect(rendered.charts).toEqual(['process-rss', 'process-cpu', ...(containerSampled ? ['container-memory', 'container-cpu'] : [])]);
    expect(rendered.chartLines).toBeGreaterThanOrEqual(4);
    expect(rendered.status).toBe('FAILED');
    expect(rendered.failedChecks).toEqual(['budget']);
    // The run and its waste; a row per outcome only when a killed attempt had reported usage.
    expect(rendered.usageRows).toBe(2 + Object.keys(report.usage.wastedByOutcome).length);
    // Self-contained: nothing but the file itself was requested.
    expect(blocked).toEqual([]);

    mkdirSync(artifacts, { recursive: true });
    const shot = join(artifacts, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    await page.close();
  });

  it('junit: junit2json reads junit.xml back: a testsuite for the scenario, a testcase per check, the failure with expected and observed', async () => {
    const parsed = (await parseJunit(await readFile(join(run.runDir, 'junit.xml'), 'utf8'))) as {
      tests: number;
      failures: number;
      testsuite: {
        name: string;
        tests: number;
        failures: number;
        properties: { name: string; value: unknown }[];
        testcase: { name: string; classname: string; failure?: { message: string; type: string; inner: string }[] }[];
      }[];
    };
    const report = run.report;
    expect(parsed.tests).toBe(report.checks.length);
    expect(parsed.failures).toBe(1);
    expect(parsed.testsuite).toHaveLength(1);
    const suite = parsed.testsuite[0]!;
    expect(suite.name).toBe('smoke');
    expect(suite.testcase.map((t) => t.name)).toEqual(report.checks.map((c) => c.name));
    expect(suite.properties.find((p) => p.name === 'keelhaul.runId')?.value).toBe(report.runId);
    const failing = suite.testcase.filter((t) => t.failure);
    expect(failing.map((t) => t.name)).toEqual(['budget']);
    const budget = report.checks.find((c) => c.name === 'budget')!;
    expect(failing[0]!.failure![0]!.message).toBe(`expected ${budget.expected}, observed ${budget.observed}`);
    expect(failing[0]!.failure![0]!.inner).toContain('reproduce: keelhaul run');
  });
});
