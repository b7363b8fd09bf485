import type { CheckResult, FaultFacts } from './invariants.js';

/**
 * Checks of a system under test (scenario `sut`, docs/sut.md): pure functions over what the
 * controller recorded of it — its exits, its containers (daemon events and inspections),
 * the label query after it exited, its ledger and its JSONL logs. Each names the container,
 * task, file or line behind a failure.
 */

/** One run of the SUT's command or resume command. */
export interface SutExitFact {
  readonly phase: 'run' | 'resume';
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly killedBy?: 'sut-kill' | 'timeout' | 'abort' | undefined;
  /** Its last stderr lines: shown for the run that failed the check. */
  readonly stderrTail?: readonly string[] | undefined;
}

/** One container of the SUT: its labels, what its inspection at creation showed, its daemon events. */
export interface SutContainerFact {
  readonly containerId: string;
  readonly name: string;
  readonly task: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** Undefined when it was gone before keelhaul could inspect it (hardening is then unknown). */
  readonly inspected:
    | {
        readonly user: string;
        readonly capDrop: readonly string[];
        readonly securityOpt: readonly string[];
        readonly readonlyRootfs: boolean;
        readonly networkMode: string;
        readonly memoryBytes: number;
        readonly pidsLimit: number;
        readonly mounts: readonly { readonly type: string; readonly source: string; readonly destination: string }[];
      }
    | undefined;
  readonly createdAt: string | undefined;
  readonly startedAt: readonly string[];
  readonly diedAt: readonly { readonly time: string; readonly exitCode: number | undefined }[];
}

/** The hardening a scenario declares for every SUT container (`sut.hardening`). */
export interface SutHardening {
  readonly nonRoot: boolean;
  readonly capDropAll: boolean;
  readonly readOnlyRootfs: boolean;
  readonly noNewPrivileges: boolean;
  readonly networkMode?: string | undefined;
  readonly noDockerSocket: boolean;
  readonly memoryLimit: boolean;
  readonly pidsLimit: boolean;
}

/** What a label query for the SUT's selector found once it exited and the grace passed. */
export interface SutLeftovers {
  readonly containers: readonly { readonly id: string; readonly name: string; readonly state: string }[];
  readonly networks: readonly string[];
  readonly volumes: readonly string[];
  readonly graceMs: number;
}

/** The SUT's ledger as read: one entry per JSONL line. */
export interface SutLedgerFact {
  readonly file: string;
  readonly key: string;
  /** false: the file does not exist. */
  readonly found: boolean;
  readonly entries: readonly { readonly line: number; readonly key?: string; readonly error?: string }[];
  readonly expectKeys?: readonly string[] | undefined;
  readonly expectCount?: number | undefined;
}

/** One JSONL log of the SUT validated against its JSON Schema. */
export interface SutLogFact {
  readonly file: string;
  readonly schema: string;
  readonly found: boolean;
  readonly lines: number;
  readonly invalid: readonly { readonly line: number; readonly message: string }[];
}

const short = (id: string): string => id.slice(0, 12);
const describe = (c: SutContainerFact): string => `${c.name || short(c.containerId)}${c.task !== undefined ? ` (task ${c.task})` : ''}`;

/** The SUT's last run (after every resume) exited with `expectExit`, and none was ended by its time bound. */
export function checkSutExit(exits: readonly SutExitFact[], expectExit: number): CheckResult {
  const last = exits.at(-1);
  const timedOut = exits.filter((e) => e.killedBy === 'timeout');
  const ok = last !== undefined && last.exitCode === expectExit && timedOut.length === 0;
  const word = (e: SutExitFact): string => `${e.phase}: ${e.exitCode !== null ? `exit ${e.exitCode}` : `signal ${e.signal ?? '?'}`}${e.killedBy ? ` (${e.killedBy})` : ''}`;
  return {
    name: 'sut-exit',
    ok,
    expected: `the SUT's last run exits ${expectExit}`,
    observed: last === undefined ? 'the SUT never ran' : `${exits.length} run(s), the last ${word(last)}`,
    evidence: [
      ...exits.map(word),
      ...timedOut.map(() => 'a run was killed at sut.timeoutMs'),
      ...(!ok && last?.stderrTail?.length ? ['its last stderr lines:', ...last.stderrTail.map((l) => `  ${l}`)] : []),
    ],
  };
}

/** The selector found the SUT's containers at all: a selector that matches nothing would make every other SUT check vacuous. */
export function checkSutContainersSeen(containers: readonly SutContainerFact[], selector: Readonly<Record<string, string>>): CheckResult {
  const text = Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return {
    name: 'sut-containers-seen',
    ok: containers.length > 0,
    expected: `at least one container labelled ${text}`,
    observed: `${containers.length} container(s)`,
    evidence: containers.length > 0 ? [] : [`no container carried ${text}: check sut.selector against the labels the SUT sets`],
  };
}

/** Every SUT container carried each of the declared labels. */
export function checkSutLabels(containers: readonly SutContainerFact[], required: readonly string[]): CheckResult {
  const evidence: string[] = [];
  for (const c of containers) {
    const missing = required.filter((k) => c.labels[k] === undefined);
    if (missing.length > 0) evidence.push(`${describe(c)} has no label ${missing.join(', ')}`);
  }
  return {
    name: 'sut-labels',
    ok: evidence.length === 0,
    expected: `every SUT container labelled ${required.join(', ')}`,
    observed: `${containers.length - evidence.length} of ${containers.length} container(s) carry them`,
    evidence,
  };
}

/** Why a container falls short of the declared hardening; empty when it does not. */
export function hardeningProblems(c: NonNullable<SutContainerFact['inspected']>, want: SutHardening): string[] {
  const problems: string[] = [];
  if (want.nonRoot && (!c.user || c.user === 'root' || c.user === '0' || c.user.startsWith('0:') || c.user.startsWith('root:')))
    problems.push(`runs as user ${JSON.stringify(c.user)}, expected non-root`);
  if (want.capDropAll && !c.capDrop.map((x) => x.toUpperCase()).includes('ALL')) problems.push(`CapDrop is [${c.capDrop.join(', ')}], expected ALL`);
  if (want.readOnlyRootfs && !c.readonlyRootfs) problems.push('the root filesystem is writable');
  if (want.noNewPrivileges && !c.securityOpt.some((o) => o.startsWith('no-new-privileges'))) problems.push('no-new-privileges is not set');
  if (want.networkMode !== undefined && c.networkMode !== want.networkMode) problems.push(`NetworkMode is ${c.networkMode}, expected ${want.networkMode}`);
  if (want.noDockerSocket && c.mounts.some((m) => /(^|\/)docker\.sock$/.test(m.source) || /(^|\/)docker\.sock$/.test(m.destination))) problems.push('the Docker socket is mounted');
  if (want.memoryLimit && c.memoryBytes <= 0) problems.push('no memory limit');
  if (want.pidsLimit && c.pidsLimit <= 0) problems.push('no pids limit');
  return problems;
}

/** Every SUT container showed the declared hardening in its inspection at creation. */
export function checkSutHardening(containers: readonly SutContainerFact[], want: SutHardening): CheckResult {
  const evidence: string[] = [];
  let judged = 0;
  for (const c of containers) {
    if (!c.inspected) continue;
    judged += 1;
    for (const problem of hardeningProblems(c.inspected, want)) evidence.push(`${describe(c)}: ${problem}`);
  }
  const unseen = containers.filter((c) => !c.inspected).length;
  return {
    name: 'sut-hardening',
    ok: evidence.length === 0,
    expected: 'every SUT container hardened as sut.hardening declares',
    observed: `${judged} container(s) inspected, ${new Set(evidence.map((e) => e.split(':')[0])).size} short of it${unseen > 0 ? `; ${unseen} gone before inspection` : ''}`,
    evidence,
  };
}

/** Once the SUT exited (and the grace passed), no container, network or volume of its selector is left, none running. */
export function checkSutCleanup(left: SutLeftovers): CheckResult {
  const evidence = [
    ...left.containers.map((c) => `container ${c.name || short(c.id)} (${short(c.id)}) is ${c.state}`),
    ...left.networks.map((n) => `network ${n}`),
    ...left.volumes.map((v) => `volume ${v}`),
  ];
  return {
    name: 'sut-cleanup',
    ok: evidence.length === 0,
    expected: `nothing of the SUT's selector left ${left.graceMs} ms after it exited`,
    observed: `${left.containers.length} container(s) (${left.containers.filter((c) => c.state === 'running').length} running), ${left.networks.length} network(s), ${left.volumes.length} volume(s)`,
    evidence,
  };
}

/** The SUT's ledger has no key twice and every expected key. */
export function checkSutExactlyOnce(ledger: SutLedgerFact): CheckResult {
  const evidence: string[] = [];
  if (!ledger.found) evidence.push(`${ledger.file} does not exist`);
  const lines = new Map<string, number[]>();
  for (const e of ledger.entries) {
    if (e.error !== undefined) {
      evidence.push(`${ledger.file}:${e.line}: ${e.error}`);
      continue;
    }
    if (e.key === undefined) continue;
    lines.set(e.key, [...(lines.get(e.key) ?? []), e.line]);
  }
  for (const [key, at] of lines) if (at.length > 1) evidence.push(`${ledger.key} ${key} completed ${at.length} times (${ledger.file} lines ${at.join(', ')})`);
  for (const key of ledger.expectKeys ?? []) if (!lines.has(key)) evidence.push(`${ledger.key} ${key} never completed`);
  if (ledger.expectCount !== undefined && lines.size !== ledger.expectCount) evidence.push(`${lines.size} distinct ${ledger.key} value(s), expected ${ledger.expectCount}`);
  const expected = ledger.expectKeys !== undefined ? `${ledger.expectKeys.length} key(s)` : ledger.expectCount !== undefined ? `${ledger.expectCount} key(s)` : 'every key';
  return {
    name: 'sut-exactly-once',
    ok: evidence.length === 0,
    expected: `${expected} in ${ledger.file} exactly once (field ${ledger.key})`,
    observed: `${ledger.entries.length} line(s), ${lines.size} distinct key(s)`,
    evidence,
  };
}

/** Every line of the SUT's declared JSONL logs is valid against its schema. */
export function checkSutLogs(logs: readonly SutLogFact[]): CheckResult {
  const evidence: string[] = [];
  for (const log of logs) {
    if (!log.found) evidence.push(`${log.file} does not exist`);
    for (const bad of log.invalid.slice(0, 20)) evidence.push(`${log.file}:${bad.line}: ${bad.message}`);
    if (log.invalid.length > 20) evidence.push(`${log.file}: ${log.invalid.length - 20} more invalid line(s)`);
  }
  const invalid = logs.reduce((n, l) => n + l.invalid.length, 0);
  return {
    name: 'sut-log-schema',
    ok: evidence.length === 0,
    expected: `every line of ${logs.map((l) => l.file).join(', ')} valid against its schema`,
    observed: `${logs.reduce((n, l) => n + l.lines, 0)} line(s), ${invalid} invalid`,
    evidence,
  };
}

/** How long one disrupted task took to have a container running again. */
export interface SutRecoveryFigure {
  readonly faultId: string;
  readonly task: string;
  readonly containerId: string;
  /** fault acted → the next container of the task started (daemon clock for the start), ms; null when none started. */
  readonly recoveryMs: number | null;
  /** A container of the task created after the fault exited 0. */
  readonly recovered: boolean;
}

/** Per fault target with a task: the next container of the task, and whether the task recovered. Pure. */
export function sutRecoveryFigures(containers: readonly SutContainerFact[], faults: readonly FaultFacts[]): SutRecoveryFigure[] {
  const figures: SutRecoveryFigure[] = [];
  for (const fault of faults) {
    if (fault.status !== 'injected') continue;
    for (const target of fault.targets) {
      const hit = containers.find((c) => c.containerId === target.containerId);
      const task = target.task ?? hit?.task;
      if (task === undefined) continue;
      const acted = Date.parse(target.actedAt ?? fault.firedAt ?? '');
      // A stop waits out its grace: the action returns after the container exited, so whether
      // the task recovered is judged from the firing, how fast from the action.
      const fired = Date.parse(fault.firedAt ?? target.actedAt ?? '');
      const later = containers.filter((c) => c.task === task && c.containerId !== target.containerId && Date.parse(c.createdAt ?? c.startedAt[0] ?? '') >= fired);
      const starts = later.flatMap((c) => c.startedAt.map((t) => Date.parse(t))).filter((t) => t >= acted);
      // A fault that stops or pauses the very container lets the SUT go on in it (restart, unpause): its exit 0 counts too.
      const candidates = [...later, ...(hit ? [hit] : [])];
      const recovered = candidates.some((c) => c.diedAt.some((d) => d.exitCode === 0 && Date.parse(d.time) >= fired));
      figures.push({ faultId: fault.faultId, task, containerId: target.containerId, recoveryMs: starts.length > 0 ? Math.max(0, Math.min(...starts) - acted) : null, recovered });
    }
  }
  return figures;
}

/** Each task a fault hit had a later container of it exit 0 (and, with `boundMs`, start within it). */
export function checkSutRecovery(figures: readonly SutRecoveryFigure[], boundMs?: number): CheckResult {
  const evidence: string[] = [];
  for (const f of figures) {
    if (!f.recovered) evidence.push(`${f.faultId}: task ${f.task} (container ${short(f.containerId)}) never had a container exit 0 after the fault`);
    if (boundMs !== undefined && (f.recoveryMs === null || f.recoveryMs > boundMs))
      evidence.push(`${f.faultId}: task ${f.task} had no container running again within ${boundMs} ms (${f.recoveryMs === null ? 'none started' : `${f.recoveryMs} ms`})`);
  }
  const times = figures.map((f) => f.recoveryMs).filter((m): m is number => m !== null);
  return {
    name: 'sut-recovery',
    ok: evidence.length === 0,
    expected: `every task a fault hit recovers (a later container exits 0)${boundMs !== undefined ? `, running again within ${boundMs} ms` : ''}`,
    observed: `${figures.filter((f) => f.recovered).length} of ${figures.length} recovered${times.length > 0 ? `; recovery ${Math.min(...times)}–${Math.max(...times)} ms` : ''}`,
    evidence,
  };
}
