/**
 * Fixtures for the report tests: a failed run with a killed-and-retried attempt, a failing
 * check whose evidence is hostile markup, a run error, a lost attempt with no end, and a
 * fault that never fired; its events as the controller would log them; and a generator of
 * big passing runs for the layout.
 */
import type { RunEvent } from '../../src/events/index.js';
import type { RunReport } from '../../src/report/report-json.js';
import { summarizeUsage, ZERO_USAGE, type UsageTotals } from '../../src/report/usage.js';

/** Usage of `reports` worker reports totalling these tokens, priced as the reference worker prices them. */
export const usageOf = (tokensIn: number, tokensOut: number, reports = 2): UsageTotals => ({
  tokensIn,
  tokensOut,
  tokens: tokensIn + tokensOut,
  costUsd: Math.round((tokensIn * 3e-6 + tokensOut * 15e-6) * 1e6) / 1e6,
  reports,
});

/** The report's `usage`, summed from its attempts (as the controller sums it). */
const withUsage = (r: Omit<RunReport, 'usage'>): RunReport => ({
  ...r,
  usage: summarizeUsage(
    r.tasks.map((t) => t.task),
    r.attempts,
  ),
});

export const HOSTILE = `<script>alert("x")</script>&"'`;
export const HOSTILE_TASK = `t-<b>&"02`;
export const RUN_ID = '20260101-120000-abcd';
const T0 = Date.parse('2026-01-01T12:00:00.000Z');
export const at = (ms: number): string => new Date(T0 + ms).toISOString();

const cid = (n: number): string => `${String(n).repeat(12)}${'f'.repeat(52)}`;

/** A failed, once-resumed run: 2 tasks, 4 attempts (killed + retried, completed, oom, lost), 4 faults (3 fired, 1 undone). */
export function failedReport(): RunReport {
  return withUsage({
    schemaVersion: 2,
    keelhaulVersion: '0.1.0',
    runId: RUN_ID,
    seed: 42,
    scenario: 'kill|retry',
    scenarioFile: '/scenarios/kill retry.yaml',
    status: 'failed',
    error: `run timed out after 6000 ms <&> "daemon" lost`,
    unhardened: { dangerouslyAllow: ['privileged'], warning: 'the workers were NOT hardened: dangerouslyAllow let them run privileged <&>' },
    redactedSecrets: 1,
    startedAt: at(0),
    endedAt: at(6500),
    durationMs: 6500,
    backend: 'docker',
    image: 'keelhaul/worker:0.1.0',
    network: 'none',
    daemon: { endpoint: '/var/run/docker.sock', version: '20.10.24', apiVersion: '1.41' },
    controllers: 2,
    tasks: [
      { task: 't-01', outcome: 'completed', attempts: 2 },
      { task: HOSTILE_TASK, outcome: 'failed', attempts: 2 },
    ],
    attempts: [
      {
        task: 't-01',
        attempt: 1,
        containerId: cid(1),
        containerName: `kh-${RUN_ID}-t-01-a1`,
        exitCode: 137,
        oomKilled: false,
        outcome: 'killed',
        reason: 'fault kill-one',
        startedAt: at(200),
        endedAt: at(900),
        faults: ['kill-one'],
        usage: usageOf(1200, 300),
      },
      {
        task: 't-01',
        attempt: 2,
        containerId: cid(2),
        containerName: `kh-${RUN_ID}-t-01-a2`,
        exitCode: 0,
        oomKilled: false,
        outcome: 'completed',
        startedAt: at(1200),
        endedAt: at(3000),
        faults: [],
        usage: usageOf(2400, 700, 3),
      },
      {
        task: HOSTILE_TASK,
        attempt: 1,
        containerId: cid(3),
        containerName: `kh-${RUN_ID}-t-02-a1`,
        exitCode: 137,
        oomKilled: true,
        outcome: 'oom',
        reason: `worker said ${HOSTILE} | piped`,
        startedAt: at(250),
        endedAt: at(2000),
        faults: [],
        usage: usageOf(900, 100, 1),
      },
      {
        task: HOSTILE_TASK,
        attempt: 2,
        containerId: cid(4),
        containerName: `kh-${RUN_ID}-t-02-a2`,
        exitCode: null,
        oomKilled: false,
        outcome: 'lost',
        reason: 'the Docker daemon stopped answering',
        startedAt: at(2300),
        endedAt: null,
        faults: [],
        usage: ZERO_USAGE,
      },
    ],
    faults: [
      {
        faultId: 'kill-one',
        kind: 'kill',
        trigger: 'on the 1st task.started',
        status: 'injected',
        firedAt: at(880),
        offsetMs: 870,
        params: { signal: 'SIGKILL' },
        targets: [{ containerId: cid(1), task: 't-01', attempt: 1, actedAt: at(885) }],
      },
      {
        faultId: `kill-<two>`,
        kind: 'kill',
        trigger: 'at 1500 ms',
        status: 'failed',
        firedAt: at(1500),
        offsetMs: 1490,
        params: { signal: 'SIGKILL' },
        targets: [{ containerId: cid(3), service: 'api' }],
        error: `409 Conflict: container ${HOSTILE} is not running`,
      },
      {
        faultId: 'pause-it',
        kind: 'pause',
        trigger: 'at 3200 ms',
        status: 'injected',
        firedAt: at(3200),
        offsetMs: 3190,
        params: { durationMs: 1000 },
        targets: [{ containerId: cid(4), task: HOSTILE_TASK, attempt: 2 }],
      },
      {
        faultId: 'never',
        kind: 'kill',
        trigger: 'at 99999 ms',
        status: 'not-fired',
        firedAt: null,
        offsetMs: null,
        params: { signal: 'SIGTERM' },
        targets: [],
      },
    ],
    cleanup: { containers: 4, networks: 0, volumes: 2, errors: ['volume kh-x: in use'] },
    resources: {
      samplesFile: 'samples.jsonl',
      samples: 12,
      skipped: 1,
      peaks: [{ name: 'controller', rssBytes: 90_000_000, cpuPercent: 12.5 }],
      containers: { peakMemoryBytes: 30_000_000, peakCpuPercent: 40, peakTotalMemoryBytes: 60_000_000, sampled: 3 },
      controllerRss: { firstBytes: 80_000_000, lastBytes: 90_000_000, growthBytes: 10_000_000 },
      alerts: 1,
      writeError: 'ENOSPC',
    },
    checks: [
      {
        name: 'all-completed',
        ok: false,
        expected: '2 of 2 tasks completed',
        observed: '1 of 2 tasks completed',
        evidence: [`${HOSTILE_TASK}: attempt 1 oom (exit 137); attempt 2 lost`, HOSTILE],
      },
      { name: 'exactly-once', ok: true, expected: 'every task completes at most once', observed: 'no task completed more than once', evidence: [] },
      { name: 'no-leaks', ok: true, expected: '0 containers | 0 networks', observed: '0 containers | 0 networks', evidence: [] },
    ],
    // Only a SUT run has it (docs/sut.md); here so that every optional field is covered.
    sut: {
      command: ['python3', 'orchestrator.py', 'run'],
      stateDir: `/runs/${RUN_ID}/sut-state`,
      output: { stdout: `/runs/${RUN_ID}/sut/stdout.log`, stderr: `/runs/${RUN_ID}/sut/stderr.log` },
      exits: [
        { phase: 'run', exitCode: null, signal: 'SIGKILL', startedAt: at(0), endedAt: at(900), killedBy: 'sut-kill' },
        { phase: 'resume', exitCode: 1, signal: null, startedAt: at(950), endedAt: at(5000), stderrTail: ['Traceback (most recent call last):', HOSTILE] },
      ],
      containers: [
        {
          containerId: 'c'.repeat(64),
          name: 'acme-task-1-1',
          task: 'task-1',
          createdAt: at(100),
          startedAt: [at(110)],
          diedAt: [{ time: at(800), exitCode: 137 }],
          destroyedAt: null,
          oomKilled: false,
          faults: ['kill-one'],
        },
      ],
      recovery: [{ faultId: 'kill-one', task: 'task-1', containerId: 'c'.repeat(64), recoveryMs: null, recovered: false }],
    },
  });
}

const e = <T extends Omit<RunEvent, 'ts' | 'run'>>(ms: number, event: T): RunEvent => ({ ts: at(ms), run: RUN_ID, ...event }) as unknown as RunEvent;

/** The events of {@link failedReport}, one of each kind the controller writes. */
export function failedEvents(): RunEvent[] {
  const worker = (ms: number, task: string, attempt: number, body: Record<string, unknown>): RunEvent =>
    e(ms, { type: 'worker.event', task, attempt, event: { ts: at(ms), run: RUN_ID, task, attempt, seq: 1, ...body } as never });
  return [
    e(10, { type: 'run.started', scenario: 'kill|retry', seed: 42, image: 'keelhaul/worker:0.1.0', network: 'none', tasks: 2, concurrency: 2, runDir: `/runs/${RUN_ID}` }),
    e(20, { type: 'reaper.started', pid: 4242, ttlMs: 600_000 }),
    e(30, {
      type: 'topology.started',
      file: '/work/compose/agents.yml',
      services: [{ service: 'api', containerId: cid(9), containerName: `kh-${RUN_ID}-api`, imageId: 'sha256:0123' }],
      networks: [`kh-${RUN_ID}-agents`],
    }),
    // A system under test's events (docs/sut.md) belong to SUT runs; here so that every type has a fixture.
    e(41, { type: 'sut.started', phase: 'run', pid: 4343, argv: ['python3', 'orchestrator.py', 'run'], stateDir: `/runs/${RUN_ID}/sut-state` }),
    e(42, { type: 'sut.container', action: 'die', time: at(42), containerId: cid(8), name: 'acme-task-1-1', task: 'task-1', exitCode: 137 }),
    e(43, { type: 'sut.exited', phase: 'run', pid: 4343, signal: 'SIGKILL', killedBy: 'sut-kill', durationMs: 2 }),
    e(44, {
      type: 'image.transferred',
      image: 'team/worker:1.4',
      imageId: 'sha256:7d7f4a6ab4216ee8c496c65fb9fdb1b25de181e86935835fa96cdbeb2a173416',
      from: '/var/run/docker.sock',
      to: '/tmp/keelhaul-dockerd-r3fa9/docker.sock',
      transferred: true,
      bytes: 106529792,
      durationMs: 4666,
    }),
    e(40, { type: 'network.guarded', network: `kh-${RUN_ID}`, bridge: 'br-0123456789ab', applied: false, reason: 'not root: iptables needs uid 0' }),
    e(200, { type: 'attempt.running', task: 't-01', attempt: 1, containerId: cid(1), containerName: `kh-${RUN_ID}-t-01-a1` }),
    e(260, { type: 'isolation.probed', task: 't-01', attempt: 1, containerId: cid(1), interfaces: ['lo'], reached: [], unreachable: ['192.0.2.2:41000'] }),
    e(250, { type: 'attempt.running', task: HOSTILE_TASK, attempt: 1, containerId: cid(3), containerName: `kh-${RUN_ID}-t-02-a1` }),
    worker(300, 't-01', 1, { type: 'task.started', interfaces: [{ name: 'lo', addresses: ['127.0.0.1'] }] }),
    worker(400, 't-01', 1, { type: 'task.progress', fraction: 0.5 }),
    worker(500, HOSTILE_TASK, 1, { type: 'heartbeat', uptimeMs: 250 }),
    e(600, { type: 'worker.invalid-line', task: 't-01', attempt: 1, line: 'npm WARN <x>', error: 'not a JSON object' }),
    e(650, { type: 'worker.invalid-lines-suppressed', task: 't-01', attempt: 1, lines: 3, total: 103 }),
    e(880, {
      type: 'fault.injected',
      fault: {
        faultId: 'kill-one',
        kind: 'kill',
        trigger: 'on the 1st task.started',
        firing: 1,
        firedAt: at(880),
        offsetMs: 870,
        params: { signal: 'SIGKILL' },
        targets: [{ containerId: cid(1), task: 't-01', attempt: 1 }],
        status: 'injected',
      },
    }),
    e(900, {
      type: 'attempt.exited',
      task: 't-01',
      attempt: 1,
      containerId: cid(1),
      exitCode: 137,
      oomKilled: false,
      outcome: 'killed',
      reason: 'fault kill-one',
      durationMs: 700,
    }),
    e(901, { type: 'attempt.retrying', task: 't-01', attempt: 2, delayMs: 200, previousOutcome: 'killed' }),
    e(1200, { type: 'attempt.running', task: 't-01', attempt: 2, containerId: cid(2), containerName: `kh-${RUN_ID}-t-01-a2` }),
    e(1500, {
      type: 'fault.failed',
      fault: {
        faultId: 'kill-<two>',
        kind: 'kill',
        trigger: 'at 1500 ms',
        firing: 1,
        firedAt: at(1500),
        offsetMs: 1490,
        params: { signal: 'SIGKILL' },
        targets: [{ containerId: cid(3) }],
        status: 'failed',
        error: `409 Conflict: container ${HOSTILE} is not running`,
      },
    }),
    worker(1900, HOSTILE_TASK, 1, { type: 'task.failed', reason: 'disk_full', message: `ENOSPC ${HOSTILE}` }),
    e(2000, {
      type: 'attempt.exited',
      task: HOSTILE_TASK,
      attempt: 1,
      containerId: cid(3),
      exitCode: 137,
      oomKilled: true,
      outcome: 'oom',
      reason: `worker said ${HOSTILE} | piped`,
      durationMs: 1750,
    }),
    e(2001, { type: 'attempt.retrying', task: HOSTILE_TASK, attempt: 2, delayMs: 200, previousOutcome: 'oom' }),
    e(2200, { type: 'run.resumed', controllerPid: 5151, previousControllers: 1 }),
    e(2210, { type: 'attempt.adopted', task: 't-01', attempt: 2, containerId: cid(2), state: 'running' }),
    e(2220, { type: 'reaper.unavailable', reason: 'spawn EACCES <reaper>' }),
    e(2300, { type: 'attempt.running', task: HOSTILE_TASK, attempt: 2, containerId: cid(4), containerName: `kh-${RUN_ID}-t-02-a2` }),
    e(3000, { type: 'attempt.exited', task: 't-01', attempt: 2, containerId: cid(2), exitCode: 0, oomKilled: false, outcome: 'completed', durationMs: 1800 }),
    e(3001, { type: 'task.finished', task: 't-01', outcome: 'completed', attempts: 2 }),
    e(3200, {
      type: 'fault.injected',
      fault: {
        faultId: 'pause-it',
        kind: 'pause',
        trigger: 'at 3200 ms',
        firing: 1,
        firedAt: at(3200),
        offsetMs: 3190,
        params: { durationMs: 1000 },
        targets: [{ containerId: cid(4), task: HOSTILE_TASK, attempt: 2 }],
        status: 'injected',
      },
    }),
    e(4200, { type: 'fault.undone', faultId: 'pause-it', kind: 'pause', targets: [{ containerId: cid(4), task: HOSTILE_TASK, attempt: 2 }] }),
    e(5900, { type: 'attempt.hung', task: HOSTILE_TASK, attempt: 2, containerId: cid(4), silentMs: 1500 }),
    e(5920, { type: 'daemon.down', endpoint: '/var/run/docker.sock', limitMs: 60000 }),
    e(5940, { type: 'daemon.up', endpoint: '/var/run/docker.sock', downMs: 20 }),
    e(5950, { type: 'fault.verified', containerId: cid(4), network: 'kh-net', phase: 'cut', fromProbe: false, fromTarget: false, targetRunning: true }),
    e(5952, {
      type: 'docker.event',
      time: at(5952),
      timeNano: '1767268805952000000',
      action: 'die',
      containerId: cid(4),
      role: 'worker',
      task: HOSTILE_TASK,
      attempt: 2,
      exitCode: 137,
    }),
    e(5954, { type: 'docker.events', state: 'disconnected', reason: 'ECONNREFUSED' }),
    e(5956, { type: 'monitor.alert', kind: 'rss-growth', name: 'controller', pid: 42, firstBytes: 1, rssBytes: 2, growthBytes: 1, limitBytes: 1, time: at(5956) }),
    e(5960, { type: 'attempt.reattached', task: HOSTILE_TASK, attempt: 2, reason: 'the output stream ended while the container still ran' }),
    e(6000, { type: 'run.aborted', reason: `timed out after 6000 ms <&>` }),
    e(6050, { type: 'attempt.lost', task: HOSTILE_TASK, attempt: 2, reason: 'the Docker daemon stopped answering' }),
    e(6060, {
      type: 'attempt.launch-failed',
      task: HOSTILE_TASK,
      attempt: 3,
      reason: 'launch failed: start container: exec: "/no-such-worker": stat /no-such-worker: no such file or directory <&>',
      spendsAttempt: true,
    }),
    e(6100, { type: 'task.finished', task: HOSTILE_TASK, outcome: 'failed', attempts: 2 }),
    e(6200, { type: 'fault.skipped', faultId: 'never', kind: 'kill', trigger: 'at 99999 ms', reason: 'the run ended first' }),
    e(6300, { type: 'cleanup.finished', containers: 4, networks: 0, volumes: 2, errors: ['volume kh-x: in use'], removedBehind: { containers: 1, volumes: 1 } }),
    e(6400, { type: 'check.result', name: 'all-completed', ok: false, expected: '2 of 2 tasks completed', observed: '1 of 2 tasks completed' }),
    e(6401, { type: 'check.result', name: 'exactly-once', ok: true, expected: 'every task completes at most once', observed: 'no task completed more than once' }),
    e(6402, { type: 'check.result', name: 'no-leaks', ok: true, expected: '0 containers | 0 networks', observed: '0 containers | 0 networks' }),
    e(6500, { type: 'run.finished', status: 'failed', durationMs: 6500, reportPath: `/runs/${RUN_ID}/report.json` }),
    // Appended by a reaper that believed the controller dead; here only so that every type has a fixture.
    e(6600, { type: 'run.reaped', containers: 0, networks: 0, volumes: 0, deadControllerPid: 5151 }),
  ];
}

/** A passing run with `n` tasks (every 7th killed once and retried) and one fault; for layout tests. */
export function bigReport(n: number): RunReport {
  const base = failedReport();
  const tasks: RunReport['tasks'][number][] = [];
  const attempts: RunReport['attempts'][number][] = [];
  for (let i = 1; i <= n; i++) {
    const task = `t-${String(i).padStart(3, '0')}`;
    const start = (i * 37) % 5000;
    const killed = i % 7 === 0;
    if (killed) {
      attempts.push({
        task,
        attempt: 1,
        containerId: cid(i % 10),
        containerName: `kh-${task}-a1`,
        exitCode: 137,
        oomKilled: false,
        outcome: 'killed',
        reason: 'fault kill-one',
        startedAt: at(start),
        endedAt: at(start + 300),
        faults: ['kill-one'],
        usage: usageOf(500, 100, 1),
      });
    }
    const a = killed ? 2 : 1;
    const s2 = killed ? start + 600 : start;
    attempts.push({
      task,
      attempt: a,
      containerId: cid(i % 10),
      containerName: `kh-${task}-a${a}`,
      exitCode: 0,
      oomKilled: false,
      outcome: 'completed',
      startedAt: at(s2),
      endedAt: at(s2 + 1500 + (i % 5) * 200),
      faults: [],
      usage: usageOf(1000, 200),
    });
    tasks.push({ task, outcome: 'completed', attempts: a });
  }
  const { error: _error, usage: _usage, unhardened: _unhardened, redactedSecrets: _redacted, ...rest } = base;
  return withUsage({
    ...rest,
    status: 'passed',
    scenario: 'big',
    durationMs: 8000,
    endedAt: at(8000),
    tasks,
    attempts,
    faults: [base.faults[0]!],
    checks: base.checks.map((c) => ({ ...c, ok: true, evidence: [] })),
  });
}

/** An element of {@link parseXml}'s tree; `text` is the decoded character data directly inside it. */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
// eslint-disable-next-line no-control-regex
const XML_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * A small, strict XML 1.0 well-formedness parser (no DTD): one root element, matching tags,
 * quoted attributes without `<` and without duplicates, every `&` a known entity or a
 * character reference, no `]]>` in text, no forbidden characters. Throws with the offset of
 * the first problem; returns the element tree with entities decoded.
 */
export function parseXml(src: string): XmlElement {
  let pos = 0;
  const fail = (why: string): never => {
    throw new Error(`not well-formed XML at offset ${pos}: ${why} (near ${JSON.stringify(src.slice(Math.max(0, pos - 30), pos + 30))})`);
  };
  const forbidden = XML_FORBIDDEN.exec(src);
  if (forbidden) {
    pos = forbidden.index;
    fail('forbidden character');
  }
  const decode = (raw: string, where: string): string =>
    raw.replace(/&([^;]*);?/g, (m, body: string) => {
      if (!m.endsWith(';')) fail(`bare & in ${where}`);
      if (body in ENTITIES) return ENTITIES[body]!;
      const num = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(body);
      if (!num) fail(`unknown entity &${body}; in ${where}`);
      return String.fromCodePoint(num![1] ? parseInt(num![1], 16) : Number(num![2]));
    });
  const skipMisc = (): void => {
    for (;;) {
      const ws = /^\s*/.exec(src.slice(pos))![0].length;
      pos += ws;
      if (src.startsWith('<!--', pos)) {
        const end = src.indexOf('-->', pos + 4);
        if (end === -1) fail('unterminated comment');
        pos = end + 3;
      } else if (src.startsWith('<?', pos) && !src.startsWith('<?xml ', pos)) {
        const end = src.indexOf('?>', pos);
        if (end === -1) fail('unterminated processing instruction');
        pos = end + 2;
      } else return;
    }
  };
  const NAME = /^[A-Za-z_:][\w.:-]*/;
  const element = (): XmlElement => {
    if (src[pos] !== '<') fail('expected <');
    pos += 1;
    const name = NAME.exec(src.slice(pos))?.[0] ?? fail('expected an element name');
    pos += name.length;
    const el: XmlElement = { name, attrs: {}, children: [], text: '' };
    for (;;) {
      const ws = /^\s*/.exec(src.slice(pos))![0].length;
      pos += ws;
      if (src.startsWith('/>', pos)) {
        pos += 2;
        return el;
      }
      if (src[pos] === '>') {
        pos += 1;
        break;
      }
      if (ws === 0) fail('expected whitespace before an attribute');
      const attr = NAME.exec(src.slice(pos))?.[0] ?? fail('expected an attribute name');
      pos += attr.length;
      const eq = /^\s*=\s*/.exec(src.slice(pos))?.[0] ?? fail('expected =');
      pos += eq.length;
      const quote = src[pos];
      if (quote !== '"' && quote !== "'") fail('expected a quoted attribute value');
      const end = src.indexOf(quote!, pos + 1);
      if (end === -1) fail('unterminated attribute value');
      const raw = src.slice(pos + 1, end);
      if (raw.includes('<')) fail(`< in attribute ${attr}`);
      if (attr in el.attrs) fail(`duplicate attribute ${attr}`);
      el.attrs[attr] = decode(raw, `attribute ${attr}`);
      pos = end + 1;
    }
    for (;;) {
      const next = src.indexOf('<', pos);
      if (next === -1) fail(`unclosed element <${name}>`);
      const raw = src.slice(pos, next);
      if (raw.includes(']]>')) fail(']]> in text');
      el.text += decode(raw, `text of <${name}>`);
      pos = next;
      if (src.startsWith('</', pos)) {
        pos += 2;
        const close = NAME.exec(src.slice(pos))?.[0];
        if (close !== name) fail(`</${close}> closes <${name}>`);
        pos += name.length;
        pos += /^\s*/.exec(src.slice(pos))![0].length;
        if (src[pos] !== '>') fail('expected > after a closing tag name');
        pos += 1;
        return el;
      }
      if (src.startsWith('<!--', pos)) {
        const end = src.indexOf('-->', pos);
        if (end === -1) fail('unterminated comment');
        pos = end + 3;
      } else if (src.startsWith('<![CDATA[', pos)) {
        const end = src.indexOf(']]>', pos);
        if (end === -1) fail('unterminated CDATA');
        el.text += src.slice(pos + 9, end);
        pos = end + 3;
      } else {
        el.children.push(element());
      }
    }
  };
  if (src.startsWith('<?xml', pos)) {
    const end = src.indexOf('?>', pos);
    if (end === -1) fail('unterminated XML declaration');
    pos = end + 2;
  }
  skipMisc();
  const root = element();
  skipMisc();
  if (pos !== src.length) fail('content after the root element');
  return root;
}

/** Every element named `name` in the tree, depth first. */
export function findAll(root: XmlElement, name: string): XmlElement[] {
  const found: XmlElement[] = [];
  const walk = (el: XmlElement): void => {
    if (el.name === name) found.push(el);
    el.children.forEach(walk);
  };
  walk(root);
  return found;
}
