import { describe, expect, it } from 'vitest';
import { escapeXmlAttr, escapeXmlText, renderJunitReport } from '../../src/report/junit.js';
import { bigReport, failedReport, findAll, HOSTILE, parseXml } from './report-fixtures.js';

describe('junit.xml', () => {
  const report = failedReport();
  const xml = renderJunitReport(report);
  const root = parseXml(xml);

  it('junit: is well-formed XML with a declaration and a <testsuites> root', () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true);
    expect(root.name).toBe('testsuites');
  });

  it('junit: counts tests, failures and errors; time in seconds', () => {
    expect(root.attrs).toMatchObject({ tests: '4', failures: '1', errors: '1', time: '6.500' });
    const suites = findAll(root, 'testsuite');
    expect(suites).toHaveLength(1);
    expect(suites[0]!.attrs).toMatchObject({ name: 'kill|retry', tests: '4', failures: '1', errors: '1', skipped: '0', time: '6.500', timestamp: '2026-01-01T12:00:00' });
  });

  it('junit: a testcase per check, classname keelhaul.<scenario>, plus `run` for the run error', () => {
    const cases = findAll(root, 'testcase');
    expect(cases.map((c) => [c.attrs['classname'], c.attrs['name']])).toEqual([
      ['keelhaul.kill|retry', 'all-completed'],
      ['keelhaul.kill|retry', 'exactly-once'],
      ['keelhaul.kill|retry', 'no-leaks'],
      ['keelhaul.kill|retry', 'run'],
    ]);
    expect(cases[1]!.children).toEqual([]);
  });

  it('junit: a failing check has <failure message="expected …, observed …"> with the evidence as its text', () => {
    const failure = findAll(root, 'failure');
    expect(failure).toHaveLength(1);
    expect(failure[0]!.attrs['message']).toBe('expected 2 of 2 tasks completed, observed 1 of 2 tasks completed');
    expect(failure[0]!.attrs['type']).toBe('check');
    expect(failure[0]!.text).toBe(
      [`t-<b>&"02: attempt 1 oom (exit 137); attempt 2 lost`, HOSTILE, '', "reproduce: keelhaul run '/scenarios/kill retry.yaml' --seed 42"].join('\n'),
    );
  });

  it('junit: the run error is an <error> on testcase `run`', () => {
    const error = findAll(root, 'error');
    expect(error).toHaveLength(1);
    expect(error[0]!.attrs['message']).toBe(report.error);
    expect(error[0]!.text).toContain(report.error);
    expect(error[0]!.text).toContain('run 20260101-120000-abcd');
  });

  it('junit: hostile strings are escaped, never raw markup', () => {
    expect(xml).not.toContain('<script>');
    expect(xml).toContain('&lt;script&gt;alert("x")&lt;/script&gt;&amp;"\'');
    expect(xml).toContain('message="run timed out after 6000 ms &lt;&amp;&gt; &quot;daemon&quot; lost"');
  });

  it('junit: properties carry run id, seed and status', () => {
    const props = Object.fromEntries(findAll(root, 'property').map((p) => [p.attrs['name'], p.attrs['value']]));
    expect(props).toMatchObject({ 'keelhaul.runId': '20260101-120000-abcd', 'keelhaul.seed': '42', 'keelhaul.status': 'failed' });
  });

  it('junit: a passing run has no failure and no error', () => {
    const out = parseXml(renderJunitReport(bigReport(3)));
    expect(out.attrs).toMatchObject({ tests: '3', failures: '0', errors: '0' });
    expect(findAll(out, 'failure')).toHaveLength(0);
    expect(findAll(out, 'error')).toHaveLength(0);
  });

  it('junit: a failed run with neither a failing check nor an error still fails', () => {
    const { error: _e, ...rest } = failedReport();
    const quiet = { ...rest, checks: rest.checks.map((c) => ({ ...c, ok: true, evidence: [] })) };
    const out = parseXml(renderJunitReport(quiet));
    expect(out.attrs).toMatchObject({ failures: '0', errors: '1' });
    expect(findAll(out, 'error')[0]!.attrs['message']).toBe('the run failed without a failing check');
  });

  it('junit: several reports give one testsuite each and summed totals', () => {
    const out = parseXml(renderJunitReport([failedReport(), bigReport(2)]));
    expect(findAll(out, 'testsuite').map((s) => s.attrs['name'])).toEqual(['kill|retry', 'big']);
    expect(out.attrs).toMatchObject({ tests: '7', failures: '1', errors: '1', time: '14.500' });
  });

  it('junit: characters XML forbids are replaced; newlines survive in attributes', () => {
    const r = failedReport();
    const nasty = { ...r, checks: [{ ...r.checks[0]!, observed: 'line1\nline2\u0007', evidence: ['nul\u0000here', 'cdata ]]> end', 'lone \ud800 surrogate'] }] };
    const out = renderJunitReport(nasty);
    const tree = parseXml(out);
    const failure = findAll(tree, 'failure')[0]!;
    expect(failure.attrs['message']).toBe('expected 2 of 2 tasks completed, observed line1\nline2\ufffd');
    expect(failure.text).toContain('nul\ufffdhere');
    expect(failure.text).toContain('cdata ]]> end');
    expect(failure.text).toContain('lone \ufffd surrogate');
    expect(escapeXmlText('a]]>b')).toBe('a]]&gt;b');
    expect(escapeXmlAttr(`"'\t`)).toBe('&quot;&apos;&#9;');
  });

  it('junit: the well-formedness check itself rejects broken XML', () => {
    expect(() => parseXml('<a><b></a>')).toThrow(/closes/);
    expect(() => parseXml('<a>x & y</a>')).toThrow(/bare &/);
    expect(() => parseXml('<a m="<"/>')).toThrow(/< in attribute/);
    expect(() => parseXml('<a>]]></a>')).toThrow(/\]\]>/);
    expect(() => parseXml('<a/><b/>')).toThrow(/after the root/);
    expect(() => parseXml('<a>&bogus;</a>')).toThrow(/unknown entity/);
  });
});
