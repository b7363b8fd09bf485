import { describe, expect, it } from 'vitest';
import { mdText, renderMarkdownReport } from '../../src/report/markdown.js';
import { bigReport, failedEvents, failedReport, HOSTILE } from './report-fixtures.js';

/** Splits a table row into cells on unescaped pipes. */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** The Markdown without its fenced code blocks (where text is literal by definition). */
function outsideCodeBlocks(md: string): string {
  return md.replace(/^(`{3,})[^\n]*\n[\s\S]*?\n\1$/gm, '');
}

describe('report.md', () => {
  const md = renderMarkdownReport(failedReport(), failedEvents());

  it('markdown: the summary names status, run id, seed, scenario, duration, daemon, image and network', () => {
    expect(md).toMatch(/^# keelhaul run 20260101-120000-abcd: FAILED$/m);
    for (const line of [
      '- **status:** FAILED',
      '- **run id:** 20260101-120000-abcd',
      '- **seed:** 42',
      '- **scenario:** kill\\|retry (/scenarios/kill retry.yaml)',
      '- **duration:** 6.5 s (6500 ms)',
      '- **daemon:** /var/run/docker.sock, Docker 20.10.24, API 1.41',
      '- **image:** keelhaul/worker:0.1.0',
      '- **network:** none',
      '- **controllers:** 2 (resumed once)',
    ]) {
      expect(md).toContain(line);
    }
    expect(md).toContain('> **Run error:** run timed out after 6000 ms &lt;&&gt; "daemon" lost');
  });

  it('markdown: the checks table has a row per check with ok/FAIL, expected and observed; pipes escaped', () => {
    expect(md).toContain('## Checks (2 of 3 held)');
    expect(md).toContain('| check | result | expected | observed |');
    expect(md).toContain('| all-completed | FAIL | 2 of 2 tasks completed | 1 of 2 tasks completed |');
    expect(md).toContain('| exactly-once | ok | every task completes at most once | no task completed more than once |');
    expect(md).toContain('| no-leaks | ok | 0 containers \\| 0 networks | 0 containers \\| 0 networks |');
  });

  it('markdown: evidence is listed under the failing check, literally, in a code block', () => {
    const section = md.slice(md.indexOf('### FAIL all-completed'), md.indexOf('## Attempts'));
    expect(section).toContain('Expected 2 of 2 tasks completed; observed 1 of 2 tasks completed.');
    expect(section).toContain('```text\nt-<b>&"02: attempt 1 oom (exit 137); attempt 2 lost\n');
    expect(section).toContain(HOSTILE);
    expect(md).not.toContain('### FAIL exactly-once');
  });

  it('markdown: the attempts table has task, attempt, 12-char container, outcome, exit, reason, duration, faults', () => {
    expect(md).toContain('| task | attempt | container | outcome | exit | reason | duration | faults |');
    expect(md).toContain('| t-01 | 1 | 111111111111 | killed | 137 | fault kill-one | 700 ms | kill-one |');
    expect(md).toContain('| t-01 | 2 | 222222222222 | completed | 0 |  | 1.8 s |  |');
    expect(md).toMatch(
      /\| t-&lt;b&gt;&"02 \| 1 \| 333333333333 \| oom \| 137 \(OOMKilled\) \| worker said &lt;script&gt;alert\("x"\)&lt;\/script&gt;&"' \\\| piped \| 1\.8 s \| {2}\|/,
    );
    expect(md).toContain('| 444444444444 | lost | — | the Docker daemon stopped answering | no end recorded |');
  });

  it('markdown: the faults table has id, kind, trigger, status, offset and targets', () => {
    expect(md).toContain('| fault | kind | trigger | status | fired | targets |');
    expect(md).toContain('| kill-one | kill | on the 1st task.started | injected | +870 ms | t-01#1 (111111111111) |');
    expect(md).toContain('| never | kill | at 99999 ms | not-fired | — | — |');
    expect(md).toContain('| kill-&lt;two&gt; | kill | at 1500 ms | failed: 409 Conflict');
  });

  it('markdown: every table row has as many cells as its header', () => {
    const lines = md.split('\n');
    let width = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (!line.startsWith('|')) {
        width = 0;
        continue;
      }
      const n = cells(line).length;
      if (width === 0) width = n;
      expect(n, `line ${i + 1}: ${line}`).toBe(width);
    }
  });

  it('markdown: outside code blocks no hostile string appears raw', () => {
    const prose = outsideCodeBlocks(md);
    expect(prose).not.toMatch(/<script|<b>|<\/script/);
    expect(prose).toContain('&lt;script&gt;');
  });

  it('markdown: cleanup figures, event summary and the reproduce command', () => {
    expect(md).toContain('Removed 4 container(s), 0 network(s), 2 volume(s).');
    expect(md).toContain('volume kh-x: in use');
    expect(md).toMatch(/51 event\(s\) in events.jsonl/);
    expect(md).toContain('run aborted: timed out after 6000 ms <&>');
    expect(md).toMatch(/#3 not launched \(spent an attempt\): launch failed: .*no such file or directory/);
    expect(md).toContain('run resumed by pid 5151 (controller #2)');
    expect(md).toContain(`${'2026-01-01T12:00:06.050Z'} t-<b>&"02#2 lost: the Docker daemon stopped answering`);
    expect(md).toContain('no reaper for this run: spawn EACCES <reaper>');
    expect(md).toContain('t-<b>&"02#2 hung: no heartbeat for 1500 ms');
    expect(md).toContain('fault pause-it (pause) undone');
    expect(md).toContain("```sh\nkeelhaul run '/scenarios/kill retry.yaml' --seed 42\n```");
  });

  it('markdown: a scenario built in code reproduces from the run directory copy', () => {
    const report = { ...failedReport(), scenarioFile: null };
    expect(renderMarkdownReport(report, failedEvents())).toContain('keelhaul run /runs/20260101-120000-abcd/scenario.yaml --seed 42');
    expect(renderMarkdownReport(report, [])).toContain('The scenario was built in code; run it again with seed 42.');
  });

  it('markdown: a code block fence is longer than any backtick run in the evidence', () => {
    const report = failedReport();
    const withTicks = { ...report, checks: [{ ...report.checks[0]!, evidence: ['```', 'a ```` b'] }] };
    const out = renderMarkdownReport(withTicks, []);
    expect(out).toContain('`````text\n```\na ```` b\n`````');
  });

  it('markdown: mdText escapes pipes, markdown punctuation, HTML and line breaks', () => {
    expect(mdText('a|b')).toBe('a\\|b');
    expect(mdText('*x* [y](z) `c` \\')).toBe('\\*x\\* \\[y\\](z) \\`c\\` \\\\');
    expect(mdText('<img src=x onerror=alert(1)>')).toBe('&lt;img src=x onerror=alert(1)&gt;');
    expect(mdText('&amp; & &#60;')).toBe('&amp;amp; & &amp;#60;');
    expect(mdText('one\ntwo\r\nthree')).toBe('one<br>two<br>three');
  });

  it('markdown: a passing run with many tasks renders every attempt', () => {
    const report = bigReport(200);
    const out = renderMarkdownReport(report, []);
    expect(out).toMatch(/^# keelhaul run .*: PASSED$/m);
    const attempts = out.slice(out.indexOf('## Attempts'), out.indexOf('## Faults'));
    expect(attempts.split('\n').filter((l) => /^\| t-\d{3} \|/.test(l))).toHaveLength(report.attempts.length);
    expect(out).not.toContain('### FAIL');
  });
});
