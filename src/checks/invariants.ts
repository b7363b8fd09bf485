/**
 * Invariants over a finished run. Each check returns a {@link CheckResult} that says what
 * was expected, what was observed and the evidence, and each can fail: a check that can
 * only pass proves nothing.
 */

/** The result of one invariant. */
export interface CheckResult {
  /** Kebab-case, stable: reports and JUnit use it as the test name. */
  readonly name: string;
  readonly ok: boolean;
  readonly expected: string;
  readonly observed: string;
  /** Details a reader needs to act on a failure (ids, task names). */
  readonly evidence: readonly string[];
}

/** One attempt as the controller recorded it. */
export interface AttemptFacts {
  readonly task: string;
  readonly attempt: number;
  readonly containerId: string;
  readonly exitCode: number | null;
  readonly oomKilled: boolean;
  readonly outcome: 'completed' | 'failed' | 'killed' | 'oom' | 'hung' | 'lost';
  /** Why it ended so (`disk_full`, `fault f1`, …). */
  readonly reason?: string | undefined;
  /** `ts` of the attempt's task.completed event, when it emitted one (ISO). */
  readonly completedAt?: string | undefined;
  /** Worker events of type task.completed this attempt emitted. */
  readonly completedEvents: number;
  /** Interfaces the worker reported in task.started (undefined when it never started). */
  readonly interfaces?: readonly string[];
  /** What the isolation probe saw from inside the running container (src/controller/isolation-probe.ts), when it ran. */
  readonly probe?: {
    readonly interfaces: readonly string[];
    readonly reached: readonly string[];
    readonly unreachable: readonly string[];
    readonly error?: string | undefined;
  };
  /** Problems found by inspecting the running container (labels, hardening, network); empty when fine. */
  readonly auditProblems: readonly string[];
  /** Whether the container was inspected while running. */
  readonly audited: boolean;
}

/** One fault as the injector recorded it. */
export interface FaultFacts {
  readonly faultId: string;
  readonly kind: string;
  /** `skipped`: the trigger's probability drew no — by design, not a failure. */
  readonly status: 'injected' | 'no-target' | 'failed' | 'not-fired' | 'skipped';
  readonly signal?: string;
  /** When the fault fired (ISO). */
  readonly firedAt?: string | undefined;
  /** `service`: a Compose topology container (not an attempt; the recovery checks leave it out). */
  readonly targets: readonly {
    readonly containerId: string;
    readonly task?: string | undefined;
    readonly attempt?: number | undefined;
    readonly service?: string | undefined;
    readonly actedAt?: string | undefined;
  }[];
  readonly error?: string;
}

/** Everything the checks look at. */
export interface RunFacts {
  readonly taskIds: readonly string[];
  readonly attempts: readonly AttemptFacts[];
  readonly faults: readonly FaultFacts[];
  readonly network: 'none' | 'internal' | 'bridge' | 'host';
  /**
   * The `dangerouslyAllow` keys the scenario used (`dockerSocket`, `hostNetwork`,
   * `privileged`): what they allow is not a problem, but the check says loudly that the run
   * was UNHARDENED.
   */
  readonly unhardened?: readonly string[];
  /** The completion ledger (completions.jsonl), one entry per recorded completion. */
  readonly ledger?: readonly { readonly task: string; readonly attempt: number }[];
  /**
   * The host canary of the isolation probe: its port and every connection it accepted
   * (`probe` is the `task#attempt` token the connection sent).
   */
  readonly canary?: {
    readonly port: number;
    readonly contacts: readonly { readonly probe: string; readonly from: string; readonly to: string; readonly at: string }[];
  };
  /** Why the isolation probe did not run although it was asked for (the canary could not listen). */
  readonly probeUnavailable?: string;
  /** What partition probes saw, at each cut and after each reconnect. */
  readonly partitionChecks?: readonly {
    readonly containerId: string;
    readonly network: string;
    readonly phase: 'cut' | 'restored';
    readonly fromProbe: boolean;
    readonly fromTarget: boolean;
    readonly targetRunning: boolean;
  }[];
  /**
   * What a label query found with the run label after cleanup. `rules`: traffic-shaping
   * rules (tc qdiscs, iptables rules with the run's mark) faults left behind; present only
   * when the run had netem faults and the query could run (src/controller/rule-leaks.ts).
   */
  readonly leaks: {
    readonly containers: readonly string[];
    readonly networks: readonly string[];
    readonly volumes: readonly string[];
    readonly rules?: readonly string[];
  };
  readonly expect: {
    readonly allCompleted: boolean;
    readonly exactlyOnce: boolean;
    readonly killedAttemptsRecover: boolean;
    readonly disruptedTasksRecover?: boolean;
    /** Task → the outcome or reason its last attempt must show; such tasks must fail. */
    readonly failedTasks?: Readonly<Record<string, string>>;
    readonly noLeaks: boolean;
  };
}

/** The attempt reported task.completed no later than the fault fired (so the fault came too late to matter). */
function completedBeforeFault(attempt: AttemptFacts, fault: FaultFacts): boolean {
  if (attempt.completedAt === undefined) return false;
  // The action landed when it returned (actedAt), which can be seconds after firedAt: the
  // firing waits for a target and saves its record first. Records from before actedAt
  // existed fall back to firedAt.
  const target = fault.targets.find((t) => t.containerId === attempt.containerId);
  const landed = target?.actedAt ?? fault.firedAt;
  return landed !== undefined && Date.parse(attempt.completedAt) <= Date.parse(landed);
}

/** Every task ended with a completed attempt. */
export function checkAllCompleted(facts: RunFacts): CheckResult {
  const done = new Set(facts.attempts.filter((a) => a.outcome === 'completed').map((a) => a.task));
  const expectedToFail = new Set(Object.keys(facts.expect.failedTasks ?? {}));
  const tasks = facts.taskIds.filter((t) => !expectedToFail.has(t));
  const missing = tasks.filter((t) => !done.has(t));
  return {
    name: 'all-completed',
    ok: missing.length === 0,
    expected: `${tasks.length} of ${tasks.length} tasks completed${expectedToFail.size ? ` (${expectedToFail.size} expected to fail left out)` : ''}`,
    observed: `${tasks.length - missing.length} of ${tasks.length} tasks completed`,
    evidence: missing.map((t) => {
      const attempts = facts.attempts.filter((a) => a.task === t);
      return `${t}: ${attempts.map((a) => `attempt ${a.attempt} ${a.outcome}${a.exitCode !== null ? ` (exit ${a.exitCode})` : ''}`).join('; ') || 'never launched'}`;
    }),
  };
}

/**
 * No task completed more than once, counted three ways: the controller's outcomes, the
 * workers' own `task.completed` events (distinct attempts), and the completion ledger
 * that survives controller crashes. A completed task must also be in the ledger exactly once.
 */
export function checkExactlyOnce(facts: RunFacts): CheckResult {
  const evidence: string[] = [];
  const byWorker = new Map<string, number>();
  for (const a of facts.attempts) {
    if (a.completedEvents > 0 || a.outcome === 'completed') byWorker.set(a.task, (byWorker.get(a.task) ?? 0) + 1);
  }
  for (const [task, n] of byWorker) if (n > 1) evidence.push(`${task} completed on ${n} attempts`);
  if (facts.ledger) {
    const inLedger = new Map<string, number>();
    for (const e of facts.ledger) inLedger.set(e.task, (inLedger.get(e.task) ?? 0) + 1);
    for (const [task, n] of inLedger) if (n > 1) evidence.push(`${task} is in the completion ledger ${n} times`);
    for (const a of facts.attempts) {
      if (a.outcome === 'completed' && !inLedger.has(a.task)) evidence.push(`${a.task} completed (attempt ${a.attempt}) but is not in the completion ledger`);
    }
  }
  return {
    name: 'exactly-once',
    ok: evidence.length === 0,
    expected: 'every task completes at most once (outcomes, worker events and the completion ledger agree)',
    observed: evidence.length === 0 ? 'no task completed more than once' : `${evidence.length} violation(s)`,
    evidence,
  };
}

/** Every fault in the scenario fired and acted on at least one target (a firing its probability skipped is fine). */
export function checkFaultsInjected(facts: Pick<RunFacts, 'faults'>): CheckResult {
  const bad = facts.faults.filter((f) => f.status !== 'injected' && f.status !== 'skipped');
  return {
    name: 'faults-injected',
    ok: bad.length === 0,
    expected: `${facts.faults.length} of ${facts.faults.length} faults injected`,
    observed: `${facts.faults.length - bad.length} of ${facts.faults.length} faults injected`,
    evidence: bad.map((f) => `${f.faultId} (${f.kind}): ${f.status}${f.error ? `: ${f.error}` : ''}`),
  };
}

/**
 * Each attempt a SIGKILL fault hit exited 137 (128 + SIGKILL's 9) and its task completed
 * on a later attempt.
 */
export function checkKilledAttemptsRecover(facts: RunFacts): CheckResult {
  const evidence: string[] = [];
  let killed = 0;
  for (const fault of facts.faults) {
    if (fault.kind !== 'kill' || fault.status !== 'injected') continue;
    for (const target of fault.targets) {
      if (target.service !== undefined) continue;
      const attempt = facts.attempts.find((a) => a.containerId === target.containerId);
      if (!attempt) {
        evidence.push(`${fault.faultId}: container ${target.containerId.slice(0, 12)} is not an attempt of this run`);
        continue;
      }
      killed += 1;
      const label = `${attempt.task} attempt ${attempt.attempt}`;
      // A kill that lands as the worker exits after reporting task.completed finds nothing
      // left to kill (exit 0); a worker that completed only after the kill was not killed at all.
      if (fault.signal === 'SIGKILL' && attempt.exitCode !== 137 && !(attempt.exitCode === 0 && completedBeforeFault(attempt, fault))) {
        evidence.push(
          `${label}: exit ${attempt.exitCode ?? 'unknown'}, expected 137 after SIGKILL${attempt.completedAt ? ` (task.completed at ${attempt.completedAt}, fault at ${fault.firedAt ?? '?'})` : ''}`,
        );
      }
      // The attempt itself counts when it reported task.completed before the kill landed.
      const later = facts.attempts.find((a) => a.task === attempt.task && a.attempt >= attempt.attempt && a.outcome === 'completed');
      if (!later) evidence.push(`${label}: no later attempt completed the task`);
    }
  }
  return {
    name: 'killed-attempts-recover',
    ok: evidence.length === 0,
    expected: 'each killed attempt exits 137 and its task completes on a later attempt',
    observed: evidence.length === 0 ? `${killed} killed attempt(s), all recovered` : `${evidence.length} problem(s) among ${killed} killed attempt(s)`,
    evidence,
  };
}

/**
 * Every task a stop, pause, netem or fill-disk fault hit ended completed — by the hit
 * attempt itself (a short pause, a delay) or a later one — and a stopped attempt exited
 * 143 (SIGTERM, handled) or 137 (SIGKILL after the grace period).
 */
export function checkDisruptedTasksRecover(facts: RunFacts): CheckResult {
  const evidence: string[] = [];
  let hit = 0;
  for (const fault of facts.faults) {
    if (fault.kind === 'kill' || fault.status !== 'injected') continue;
    for (const target of fault.targets) {
      if (target.service !== undefined) continue;
      const attempt = facts.attempts.find((a) => a.containerId === target.containerId);
      if (!attempt) {
        evidence.push(`${fault.faultId}: container ${target.containerId.slice(0, 12)} is not an attempt of this run`);
        continue;
      }
      hit += 1;
      const label = `${attempt.task} attempt ${attempt.attempt} (${fault.faultId}, ${fault.kind})`;
      // As with a kill: a stop that lands as the worker exits after task.completed finds it done.
      if (fault.kind === 'stop' && attempt.exitCode !== 143 && attempt.exitCode !== 137 && !(attempt.exitCode === 0 && completedBeforeFault(attempt, fault))) {
        evidence.push(`${label}: exit ${attempt.exitCode ?? 'unknown'}, expected 143 or 137 after a stop`);
      }
      const recovered = facts.attempts.some((a) => a.task === attempt.task && a.attempt >= attempt.attempt && a.outcome === 'completed');
      if (!recovered) evidence.push(`${label}: the task never completed afterwards`);
    }
  }
  return {
    name: 'disrupted-tasks-recover',
    ok: evidence.length === 0,
    expected: 'every task a stop, pause, netem or fill-disk fault hit completes (on that attempt or a later one)',
    observed: evidence.length === 0 ? `${hit} disrupted attempt(s), every task recovered` : `${evidence.length} problem(s) among ${hit} disrupted attempt(s)`,
    evidence,
  };
}

/**
 * Every partition was real and was healed, seen from both sides by a probe on the same
 * network: at the cut neither the probe nor the target reached the other; after the
 * reconnect both did (a target that had exited by then is not asked).
 */
export function checkPartitionsVerified(facts: RunFacts): CheckResult {
  const evidence: string[] = [];
  const checks = facts.partitionChecks ?? [];
  const partitioned = facts.faults.filter((f) => f.kind === 'partition' && f.status === 'injected').flatMap((f) => f.targets.map((t) => t.containerId));
  for (const id of partitioned) {
    if (!checks.some((c) => c.containerId === id && c.phase === 'cut')) evidence.push(`${id.slice(0, 12)}: no probe check at the cut`);
  }
  for (const c of checks) {
    const who = `${c.containerId.slice(0, 12)} on ${c.network}`;
    // A target that exited meanwhile proves nothing either way: Docker may already have
    // given its address to another container.
    if (c.phase === 'cut' && c.targetRunning && (c.fromProbe || c.fromTarget)) {
      evidence.push(`${who}: still reachable after the disconnect (probe→target ${c.fromProbe}, target→probe ${c.fromTarget})`);
    }
    if (c.phase === 'restored' && c.targetRunning && !(c.fromProbe && c.fromTarget)) {
      evidence.push(`${who}: not reachable after the reconnect (probe→target ${c.fromProbe}, target→probe ${c.fromTarget})`);
    }
  }
  return {
    name: 'partitions-verified',
    ok: evidence.length === 0 && partitioned.length > 0,
    expected: 'each partitioned target is unreachable both ways while cut and reachable both ways once reconnected',
    observed: evidence.length === 0 ? `${partitioned.length} partition(s), ${checks.length} probe check(s), all as expected` : `${evidence.length} problem(s)`,
    evidence,
  };
}

/** What each `dangerouslyAllow` key let a worker do, for the check's evidence and the reports. */
export const UNHARDENED_MEANING: Readonly<Record<string, string>> = {
  dockerSocket: "reach the Docker socket (root on the daemon's host)",
  hostNetwork: "share the host's network stack (network: host)",
  privileged: 'run privileged (every capability and device)',
};

/**
 * Every attempt container carried the run's labels and the hardening defaults, seen by
 * inspecting it while it ran; what `dangerouslyAllow` let through is not a problem but is
 * named in `observed` as UNHARDENED.
 */
export function checkContainerAudit(facts: RunFacts): CheckResult {
  const unhardened = facts.unhardened ?? [];
  const unaudited = facts.attempts.filter((a) => !a.audited).map((a) => `${a.task} attempt ${a.attempt}: not inspected while running`);
  const problems = facts.attempts.flatMap((a) => a.auditProblems.map((p) => `${a.task} attempt ${a.attempt}: ${p}`));
  const evidence = [...problems, ...unaudited];
  return {
    name: 'containers-labelled-and-hardened',
    ok: problems.length === 0 && facts.attempts.length > 0,
    expected:
      'every attempt container carries run/role/task/attempt/scenario/version labels, runs non-root with CapDrop ALL, no-new-privileges, a read-only root filesystem and the scenario network mode',
    observed: `${problems.length === 0 ? `${facts.attempts.length - unaudited.length} of ${facts.attempts.length} containers inspected, no problem found` : `${problems.length} problem(s)`}${
      unhardened.length ? `; UNHARDENED by dangerouslyAllow: ${unhardened.join(', ')}` : ''
    }`,
    evidence: [...unhardened.map((k) => `UNHARDENED: dangerouslyAllow.${k} let the workers ${UNHARDENED_MEANING[k] ?? k}`), ...evidence],
  };
}

/**
 * With `network: none` or `internal`, no worker could reach beyond what its mode allows:
 *
 * - `none`: only the loopback interface in the container's namespace;
 * - `internal`: loopback and the one interface of the run's network;
 * - both: no TCP connection from inside to the host canary on any host address (the
 *   host's services, and every network the host is on).
 *
 * Evidence comes from inside each running container (the isolation probe: `/sys/class/net`
 * and `nc`, run in a helper container that joins the attempt's network namespace), from the host's side (the canary's accepted connections,
 * each naming its attempt by the token it sent), and from the worker's own task.started
 * report. An attempt that exited before its probe could run is judged on its report alone,
 * and `observed` says how many were probed. Fails, too, when nothing was probed or reported.
 */
export function checkNetworkIsolation(facts: RunFacts): CheckResult | undefined {
  if (facts.network !== 'none' && facts.network !== 'internal') return undefined;
  const allowed = facts.network === 'none' ? 0 : 1;
  const expectedInterfaces = facts.network === 'none' ? 'lo' : 'lo and one network interface';
  const evidence: string[] = [];
  const extra = (names: readonly string[]): string[] => names.filter((i) => i !== 'lo');
  let probed = 0;
  let reported = 0;
  for (const a of facts.attempts) {
    const who = `${a.task} attempt ${a.attempt}`;
    const probe = a.probe && !a.probe.error ? a.probe : undefined;
    if (probe) {
      probed += 1;
      if (extra(probe.interfaces).length > allowed) evidence.push(`${who}: interfaces ${probe.interfaces.join(', ')} seen from inside (expected ${expectedInterfaces})`);
      for (const target of probe.reached) evidence.push(`${who}: opened a TCP connection to the host at ${target} from inside`);
    }
    if (a.interfaces !== undefined) {
      reported += 1;
      if (extra(a.interfaces).length > allowed) evidence.push(`${who}: reported interfaces ${a.interfaces.join(', ')} (expected ${expectedInterfaces})`);
    }
  }
  // Only connections carrying one of this run's probe tokens count: the canary listens on
  // every address, and a scanner on the host's network is not a worker's hole.
  const tokens = new Set(facts.attempts.map((a) => `${a.task}#${a.attempt}`));
  const strangers = (facts.canary?.contacts ?? []).filter((c) => !tokens.has(c.probe));
  for (const c of facts.canary?.contacts ?? []) {
    if (tokens.has(c.probe)) evidence.push(`host canary: accepted a connection from ${c.from} to ${c.to}:${facts.canary!.port} (probe ${c.probe}) at ${c.at}`);
  }
  const unprobed = facts.attempts.filter((a) => a.probe?.error).length;
  const what = facts.canary
    ? `${probed} attempt(s) probed from inside${unprobed ? ` (${unprobed} not probed: exited, paused or the probe failed; see isolation.probed)` : ''}, ${reported} worker report(s)${
        strangers.length
          ? `; ${strangers.length} connection(s) to the canary without a probe token, not counted (from ${[...new Set(strangers.map((c) => c.from))].slice(0, 5).join(', ')})`
          : ''
      }`
    : `${reported} worker report(s) (no probe from inside: ${facts.probeUnavailable ?? 'expect.isolationProbe is off'})`;
  return {
    name: 'network-isolation',
    ok: evidence.length === 0 && probed + reported > 0,
    expected: `workers with network ${facts.network} see only ${expectedInterfaces} and cannot open a connection to any address of the host`,
    observed:
      probed + reported === 0 ? 'no worker was probed or reported its interfaces' : evidence.length === 0 ? `${what}: no hole found` : `${evidence.length} hole(s) found; ${what}`,
    evidence: evidence.slice(0, 50),
  };
}

/** Each task the scenario expects to fail did, and its last attempt shows the expected outcome or reason. */
export function checkExpectedFailures(facts: RunFacts): CheckResult {
  const evidence: string[] = [];
  const expected = Object.entries(facts.expect.failedTasks ?? {});
  for (const [task, want] of expected) {
    const attempts = facts.attempts.filter((a) => a.task === task).sort((a, b) => a.attempt - b.attempt);
    const last = attempts.at(-1);
    if (!last) evidence.push(`${task}: never ran`);
    else if (attempts.some((a) => a.outcome === 'completed')) evidence.push(`${task}: completed, expected to fail with ${want}`);
    else if (last.outcome !== want && last.reason !== want)
      evidence.push(`${task}: last attempt ${last.attempt} ended ${last.outcome}${last.reason ? ` (${last.reason})` : ''}, expected ${want}`);
  }
  return {
    name: 'expected-failures',
    ok: evidence.length === 0,
    expected: expected.map(([t, w]) => `${t} fails with ${w}`).join('; '),
    observed: evidence.length === 0 ? `${expected.length} task(s) failed as expected` : `${evidence.length} did not`,
    evidence,
  };
}

/**
 * Before cleanup, state.json and the daemon agree: every attempt container the state
 * records is on the daemon, and every worker container with the run's label is in the state.
 */
export function checkStateMatchesDaemon(recorded: readonly string[], onDaemon: readonly string[] | undefined): CheckResult | undefined {
  if (onDaemon === undefined) return undefined;
  const daemon = new Set(onDaemon);
  const state = new Set(recorded);
  const missing = recorded.filter((id) => !daemon.has(id)).map((id) => `${id.slice(0, 12)}: in state.json, not on the daemon`);
  const unknown = onDaemon.filter((id) => !state.has(id)).map((id) => `${id.slice(0, 12)}: on the daemon, not in state.json`);
  const evidence = [...missing, ...unknown];
  return {
    name: 'state-matches-daemon',
    ok: evidence.length === 0,
    expected: 'the attempt containers in state.json are exactly the worker containers a label query finds before cleanup',
    observed: evidence.length === 0 ? `${recorded.length} container(s), the same on both sides` : `${evidence.length} difference(s)`,
    evidence,
  };
}

/**
 * A label query after cleanup finds no container, network or volume with the run label;
 * when the run injected traffic-shaping rules, none of them is left either.
 */
export function checkNoLeaks(facts: RunFacts): CheckResult {
  const { containers, networks, volumes, rules } = facts.leaks;
  const total = containers.length + networks.length + volumes.length + (rules?.length ?? 0);
  return {
    name: 'no-leaks',
    ok: total === 0,
    expected: `0 containers, 0 networks, 0 volumes with the run label${rules ? ', 0 injected rules with its mark' : ''}`,
    observed: `${containers.length} containers, ${networks.length} networks, ${volumes.length} volumes with the run label${rules ? `, ${rules.length} injected rules` : ''}`,
    evidence: [
      ...containers.map((c) => `container ${c}`),
      ...networks.map((n) => `network ${n}`),
      ...volumes.map((v) => `volume ${v}`),
      ...(rules ?? []).map((r) => `rule ${r}`),
    ].slice(0, 50),
  };
}

/** Runs the checks the scenario's `expect:` selects, in a stable order. */
export function runChecks(facts: RunFacts): CheckResult[] {
  const results: (CheckResult | undefined)[] = [
    facts.expect.allCompleted ? checkAllCompleted(facts) : undefined,
    facts.expect.exactlyOnce ? checkExactlyOnce(facts) : undefined,
    facts.faults.length > 0 ? checkFaultsInjected(facts) : undefined,
    facts.expect.killedAttemptsRecover && facts.faults.some((f) => f.kind === 'kill') ? checkKilledAttemptsRecover(facts) : undefined,
    (facts.expect.disruptedTasksRecover ?? true) && facts.faults.some((f) => f.kind !== 'kill') ? checkDisruptedTasksRecover(facts) : undefined,
    Object.keys(facts.expect.failedTasks ?? {}).length > 0 ? checkExpectedFailures(facts) : undefined,
    facts.faults.some((f) => f.kind === 'partition' && f.status === 'injected') ? checkPartitionsVerified(facts) : undefined,
    checkContainerAudit(facts),
    checkNetworkIsolation(facts),
    facts.expect.noLeaks ? checkNoLeaks(facts) : undefined,
  ];
  return results.filter((r): r is CheckResult => r !== undefined);
}
