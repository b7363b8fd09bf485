import { describe, expect, it } from 'vitest';
import {
  checkAllCompleted,
  checkContainerAudit,
  checkExactlyOnce,
  checkFaultsInjected,
  checkKilledAttemptsRecover,
  checkNetworkIsolation,
  checkNoLeaks,
  runChecks,
  type AttemptFacts,
  type FaultFacts,
  type RunFacts,
} from '../../src/checks/index.js';

function attempt(task: string, n: number, overrides: Partial<AttemptFacts> = {}): AttemptFacts {
  return {
    task,
    attempt: n,
    containerId: `${task}-${n}-0123456789abcdef`,
    exitCode: 0,
    oomKilled: false,
    outcome: 'completed',
    completedEvents: 1,
    interfaces: ['lo'],
    auditProblems: [],
    audited: true,
    ...overrides,
  };
}

const killedT1: AttemptFacts = attempt('t-01', 1, { exitCode: 137, outcome: 'killed', completedEvents: 0 });
const killFault: FaultFacts = {
  faultId: 'kill-one',
  kind: 'kill',
  status: 'injected',
  signal: 'SIGKILL',
  targets: [{ containerId: killedT1.containerId, task: 't-01', attempt: 1 }],
};

/** A run that recovered: t-01 killed on attempt 1 and completed on attempt 2, t-02 completed. */
function goodFacts(overrides: Partial<RunFacts> = {}): RunFacts {
  return {
    taskIds: ['t-01', 't-02'],
    attempts: [killedT1, attempt('t-01', 2), attempt('t-02', 1)],
    faults: [killFault],
    network: 'none',
    leaks: { containers: [], networks: [], volumes: [] },
    expect: { allCompleted: true, exactlyOnce: true, killedAttemptsRecover: true, noLeaks: true },
    ...overrides,
  };
}

describe('checks: all-completed', () => {
  it('checks: all-completed passes when every task has a completed attempt', () => {
    const r = checkAllCompleted(goodFacts());
    expect(r.ok).toBe(true);
    expect(r.name).toBe('all-completed');
    expect(r.evidence).toEqual([]);
  });

  it('checks: all-completed fails for a task without a completed attempt, naming it and its attempts', () => {
    const r = checkAllCompleted(goodFacts({ attempts: [attempt('t-01', 1), attempt('t-02', 1, { outcome: 'failed', exitCode: 1, completedEvents: 0 })] }));
    expect(r.ok).toBe(false);
    expect(r.observed).toBe('1 of 2 tasks completed');
    expect(r.evidence).toHaveLength(1);
    expect(r.evidence[0]).toContain('t-02');
    expect(r.evidence[0]).toContain('attempt 1 failed (exit 1)');
  });

  it('checks: all-completed fails for a task that was never launched', () => {
    const r = checkAllCompleted(goodFacts({ taskIds: ['t-01', 't-02', 't-03'] }));
    expect(r.ok).toBe(false);
    expect(r.evidence).toEqual(['t-03: never launched']);
  });
});

describe('checks: exactly-once', () => {
  it('checks: exactly-once passes when each task completed once', () => {
    expect(checkExactlyOnce(goodFacts()).ok).toBe(true);
  });

  it('checks: exactly-once fails for a task completed twice, naming it', () => {
    const r = checkExactlyOnce(goodFacts({ attempts: [attempt('t-01', 1), attempt('t-01', 2), attempt('t-02', 1)] }));
    expect(r.ok).toBe(false);
    expect(r.evidence).toEqual(['t-01 completed on 2 attempts']);
  });

  it('checks: exactly-once fails for a task the completion ledger holds twice', () => {
    const r = checkExactlyOnce(
      goodFacts({
        ledger: [
          { task: 't-01', attempt: 1 },
          { task: 't-01', attempt: 1 },
          { task: 't-02', attempt: 1 },
        ],
      }),
    );
    expect(r.ok).toBe(false);
    expect(r.evidence).toContain('t-01 is in the completion ledger 2 times');
  });

  it('checks: exactly-once fails for a completed task missing from the completion ledger', () => {
    const r = checkExactlyOnce(goodFacts({ ledger: [{ task: 't-01', attempt: 1 }] }));
    expect(r.ok).toBe(false);
    expect(r.evidence.join('\n')).toMatch(/t-02 completed \(attempt 1\) but is not in the completion ledger/);
  });

  it('checks: exactly-once counts a task.completed event of an attempt the controller judged killed', () => {
    const r = checkExactlyOnce(goodFacts({ attempts: [attempt('t-01', 1, { outcome: 'killed', exitCode: 137, completedEvents: 1 }), attempt('t-01', 2), attempt('t-02', 1)] }));
    expect(r.ok).toBe(false);
    expect(r.evidence[0]).toContain('t-01');
  });
});

describe('checks: faults-injected', () => {
  it('checks: faults-injected passes when every fault was injected', () => {
    expect(checkFaultsInjected(goodFacts()).ok).toBe(true);
  });

  it('checks: faults-injected fails for a fault that never fired, naming it', () => {
    const r = checkFaultsInjected(goodFacts({ faults: [killFault, { faultId: 'late-kill', kind: 'kill', status: 'not-fired', targets: [] }] }));
    expect(r.ok).toBe(false);
    expect(r.observed).toBe('1 of 2 faults injected');
    expect(r.evidence).toEqual(['late-kill (kill): not-fired']);
  });

  it('checks: faults-injected fails for a fault with no target, with its error', () => {
    const r = checkFaultsInjected(goodFacts({ faults: [{ faultId: 'f1', kind: 'kill', status: 'no-target', targets: [], error: 'nothing matched' }] }));
    expect(r.ok).toBe(false);
    expect(r.evidence[0]).toContain('f1');
    expect(r.evidence[0]).toContain('nothing matched');
  });
});

describe('checks: killed-attempts-recover', () => {
  it('checks: killed-attempts-recover passes for exit 137 and a later completed attempt', () => {
    const r = checkKilledAttemptsRecover(goodFacts());
    expect(r.ok).toBe(true);
    expect(r.observed).toContain('1 killed attempt');
  });

  it('checks: killed-attempts-recover accepts exit 0 when the worker reported task.completed before the kill fired', () => {
    const late = attempt('t-01', 1, { completedAt: '2026-01-01T00:00:01.000Z' });
    const fault = { ...killFault, firedAt: '2026-01-01T00:00:01.500Z', targets: [{ containerId: late.containerId, task: 't-01', attempt: 1 }] };
    expect(checkKilledAttemptsRecover(goodFacts({ attempts: [late, attempt('t-02', 1)], faults: [fault] })).ok).toBe(true);
  });

  it('checks: killed-attempts-recover fails for exit 0 when the worker completed only after the kill fired (the kill did nothing)', () => {
    const survivor = attempt('t-01', 1, { completedAt: '2026-01-01T00:00:02.000Z' });
    const fault = { ...killFault, firedAt: '2026-01-01T00:00:01.500Z', targets: [{ containerId: survivor.containerId, task: 't-01', attempt: 1 }] };
    const r = checkKilledAttemptsRecover(goodFacts({ attempts: [survivor, attempt('t-02', 1)], faults: [fault] }));
    expect(r.ok).toBe(false);
    expect(r.evidence[0]).toMatch(/exit 0, expected 137/);
  });

  it('checks: killed-attempts-recover judges "too late" by when the kill landed (actedAt), not when the fault fired', () => {
    // Fired at 1.5 s, waited for its target and saved its record, delivered at 2.5 s: a worker
    // that completed at 2.0 s had finished before the kill could matter.
    const finished = attempt('t-01', 1, { completedAt: '2026-01-01T00:00:02.000Z' });
    const fault = {
      ...killFault,
      firedAt: '2026-01-01T00:00:01.500Z',
      targets: [{ containerId: finished.containerId, task: 't-01', attempt: 1, actedAt: '2026-01-01T00:00:02.500Z' }],
    };
    expect(checkKilledAttemptsRecover(goodFacts({ attempts: [finished, attempt('t-02', 1)], faults: [fault] })).ok).toBe(true);
    // Delivered at 1.8 s, before the completion at 2.0 s: the kill did nothing.
    const early = { ...fault, targets: [{ ...fault.targets[0]!, actedAt: '2026-01-01T00:00:01.800Z' }] };
    expect(checkKilledAttemptsRecover(goodFacts({ attempts: [finished, attempt('t-02', 1)], faults: [early] })).ok).toBe(false);
  });

  it('checks: killed-attempts-recover fails for a SIGKILLed attempt that exited 143, naming it', () => {
    const killed143 = { ...killedT1, exitCode: 143 };
    const r = checkKilledAttemptsRecover(goodFacts({ attempts: [killed143, attempt('t-01', 2), attempt('t-02', 1)] }));
    expect(r.ok).toBe(false);
    expect(r.evidence).toHaveLength(1);
    expect(r.evidence[0]).toContain('t-01 attempt 1');
    expect(r.evidence[0]).toContain('exit 143');
  });

  it('checks: killed-attempts-recover fails when no later attempt completed the task', () => {
    const r = checkKilledAttemptsRecover(goodFacts({ attempts: [killedT1, attempt('t-01', 2, { outcome: 'failed', exitCode: 1, completedEvents: 0 }), attempt('t-02', 1)] }));
    expect(r.ok).toBe(false);
    expect(r.evidence).toEqual(['t-01 attempt 1: no later attempt completed the task']);
  });

  it('checks: killed-attempts-recover fails when the target is not an attempt of the run', () => {
    const r = checkKilledAttemptsRecover(goodFacts({ faults: [{ ...killFault, targets: [{ containerId: 'ffffffffffffffffffff' }] }] }));
    expect(r.ok).toBe(false);
    expect(r.evidence[0]).toContain('ffffffffffff');
  });

  it('checks: killed-attempts-recover ignores faults that were not injected', () => {
    const r = checkKilledAttemptsRecover(goodFacts({ attempts: [attempt('t-01', 1), attempt('t-02', 1)], faults: [{ ...killFault, status: 'no-target', targets: [] }] }));
    expect(r.ok).toBe(true);
  });
});

describe('checks: containers-labelled-and-hardened', () => {
  it('checks: the container audit passes with no problems', () => {
    expect(checkContainerAudit(goodFacts()).ok).toBe(true);
  });

  it('checks: the container audit fails on an audit problem, naming the attempt and problem', () => {
    const r = checkContainerAudit(goodFacts({ attempts: [killedT1, attempt('t-01', 2), attempt('t-02', 1, { auditProblems: ['runs as root'] })] }));
    expect(r.ok).toBe(false);
    expect(r.evidence).toContain('t-02 attempt 1: runs as root');
  });

  it('checks: the container audit fails when there are no attempts at all', () => {
    expect(checkContainerAudit(goodFacts({ attempts: [] })).ok).toBe(false);
  });
});

describe('checks: network-isolation', () => {
  it('checks: network isolation passes when workers with network none report only lo', () => {
    const r = checkNetworkIsolation(goodFacts());
    expect(r?.ok).toBe(true);
  });

  it('checks: network isolation fails for a none worker reporting eth0, naming it', () => {
    const r = checkNetworkIsolation(goodFacts({ attempts: [killedT1, attempt('t-01', 2), attempt('t-02', 1, { interfaces: ['lo', 'eth0'] })] }));
    expect(r?.ok).toBe(false);
    expect(r?.evidence).toEqual(['t-02 attempt 1: reported interfaces lo, eth0 (expected lo)']);
  });

  it("checks: network isolation fails on what the probe saw from inside and on the host canary's record, naming the attempt", () => {
    const probe = (overrides: Partial<NonNullable<AttemptFacts['probe']>> = {}): AttemptFacts['probe'] => ({
      interfaces: ['lo'],
      reached: [],
      unreachable: ['192.0.2.2:4000'],
      ...overrides,
    });
    const clean = goodFacts({ attempts: goodFacts().attempts.map((a) => ({ ...a, probe: probe() })), canary: { port: 4000, contacts: [] } });
    expect(checkNetworkIsolation(clean)).toMatchObject({ ok: true, observed: '3 attempt(s) probed from inside, 3 worker report(s): no hole found' });
    const holed = goodFacts({
      attempts: [
        killedT1,
        attempt('t-01', 2, { probe: probe({ interfaces: ['khv0', 'lo'], reached: ['10.251.0.1:4000'] }) }),
        attempt('t-02', 1, { probe: probe({ error: 'container is not running' }) }),
      ],
      canary: { port: 4000, contacts: [{ probe: 't-01#2', from: '10.251.0.2', to: '10.251.0.1', at: '2026-11-22T00:00:00.000Z' }] },
    });
    const r = checkNetworkIsolation(holed)!;
    expect(r.ok).toBe(false);
    expect(r.observed).toBe('3 hole(s) found; 1 attempt(s) probed from inside (1 not probed: exited, paused or the probe failed; see isolation.probed), 3 worker report(s)');
    expect(r.evidence).toEqual([
      't-01 attempt 2: interfaces khv0, lo seen from inside (expected lo)',
      't-01 attempt 2: opened a TCP connection to the host at 10.251.0.1:4000 from inside',
      'host canary: accepted a connection from 10.251.0.2 to 10.251.0.1:4000 (probe t-01#2) at 2026-11-22T00:00:00.000Z',
    ]);
  });

  it("checks: network isolation does not count a canary connection without one of the run's probe tokens (a scanner), but says so", () => {
    const facts = goodFacts({ canary: { port: 4000, contacts: [{ probe: '?', from: '203.0.113.9', to: '192.0.2.2', at: '2026-11-22T00:00:00.000Z' }] } });
    const r = checkNetworkIsolation(facts)!;
    expect(r.ok).toBe(true);
    expect(r.observed).toContain('1 connection(s) to the canary without a probe token, not counted (from 203.0.113.9)');
  });

  it('checks: network isolation for an internal network allows one interface besides lo, not two', () => {
    const facts = (interfaces: string[]) => goodFacts({ network: 'internal', attempts: [attempt('t-01', 1, { interfaces }), attempt('t-02', 1, { interfaces: ['eth0', 'lo'] })] });
    expect(checkNetworkIsolation(facts(['eth0', 'lo']))?.ok).toBe(true);
    const r = checkNetworkIsolation(facts(['eth0', 'eth1', 'lo']))!;
    expect(r.ok).toBe(false);
    expect(r.evidence).toEqual(['t-01 attempt 1: reported interfaces eth0, eth1, lo (expected lo and one network interface)']);
  });

  it('checks: network isolation fails when no worker reported its interfaces', () => {
    const none = (a: AttemptFacts): AttemptFacts => ({ ...a, interfaces: undefined });
    const r = checkNetworkIsolation(goodFacts({ attempts: goodFacts().attempts.map(none) }));
    expect(r?.ok).toBe(false);
  });

  it('checks: network isolation is not checked for a bridge network', () => {
    expect(checkNetworkIsolation(goodFacts({ network: 'bridge' }))).toBeUndefined();
  });
});

describe('checks: no-leaks', () => {
  it('checks: no-leaks passes when nothing remains', () => {
    expect(checkNoLeaks(goodFacts()).ok).toBe(true);
  });

  it('checks: no-leaks fails for a leaked volume, naming it', () => {
    const r = checkNoLeaks(goodFacts({ leaks: { containers: [], networks: [], volumes: ['keelhaul-run-1-t-01'] } }));
    expect(r.ok).toBe(false);
    expect(r.observed).toContain('1 volumes');
    expect(r.evidence).toEqual(['volume keelhaul-run-1-t-01']);
  });

  it('checks: no-leaks fails for a leaked container and network, naming each', () => {
    const r = checkNoLeaks(goodFacts({ leaks: { containers: ['abc123'], networks: ['kh-net'], volumes: [] } }));
    expect(r.ok).toBe(false);
    expect(r.evidence).toEqual(['container abc123', 'network kh-net']);
  });
});

describe('checks: runChecks', () => {
  it('checks: runChecks runs every check for a scenario expecting everything, with a fault and network none', () => {
    expect(runChecks(goodFacts()).map((r) => r.name)).toEqual([
      'all-completed',
      'exactly-once',
      'faults-injected',
      'killed-attempts-recover',
      'containers-labelled-and-hardened',
      'network-isolation',
      'no-leaks',
    ]);
  });

  it('checks: runChecks leaves out the checks expect turns off', () => {
    const names = runChecks(goodFacts({ expect: { allCompleted: false, exactlyOnce: false, killedAttemptsRecover: false, noLeaks: false } })).map((r) => r.name);
    expect(names).toEqual(['faults-injected', 'containers-labelled-and-hardened', 'network-isolation']);
  });

  it('checks: runChecks leaves out fault checks when the scenario has no faults', () => {
    const names = runChecks(goodFacts({ faults: [], attempts: [attempt('t-01', 1), attempt('t-02', 1)] })).map((r) => r.name);
    expect(names).not.toContain('faults-injected');
    expect(names).not.toContain('killed-attempts-recover');
    expect(names).toContain('all-completed');
  });

  it('checks: runChecks judges network isolation for none and internal networks, not for bridge', () => {
    expect(runChecks(goodFacts({ network: 'internal' })).map((r) => r.name)).toContain('network-isolation');
    expect(runChecks(goodFacts({ network: 'bridge' })).map((r) => r.name)).not.toContain('network-isolation');
  });

  it('checks: runChecks all pass on a good run and one fails on a leak', () => {
    expect(runChecks(goodFacts()).every((r) => r.ok)).toBe(true);
    const results = runChecks(goodFacts({ leaks: { containers: [], networks: [], volumes: ['v1'] } }));
    expect(results.filter((r) => !r.ok).map((r) => r.name)).toEqual(['no-leaks']);
  });
});

describe('checks: state-matches-daemon and event-schema', () => {
  it('checks: state-matches-daemon fails both ways, naming the containers', async () => {
    const { checkStateMatchesDaemon } = await import('../../src/checks/index.js');
    expect(checkStateMatchesDaemon(['aaa', 'bbb'], ['aaa', 'bbb'])?.ok).toBe(true);
    const r = checkStateMatchesDaemon(['aaa', 'bbb'], ['bbb', 'ccc'])!;
    expect(r.ok).toBe(false);
    expect(r.evidence).toEqual(['aaa: in state.json, not on the daemon', 'ccc: on the daemon, not in state.json']);
    expect(checkStateMatchesDaemon(['aaa'], undefined)).toBeUndefined();
  });

  it('checks: event-schema passes valid events and fails an event of an unknown type or with a missing field', async () => {
    const { checkEventSchema } = await import('../../src/checks/index.js');
    const ok = { ts: '2026-01-01T00:00:00.000Z', run: 'r', type: 'run.aborted', reason: 'x' };
    expect(checkEventSchema([ok]).ok).toBe(true);
    const r = checkEventSchema([ok, { ...ok, type: 'run.exploded' }, { ts: ok.ts, run: 'r', type: 'run.aborted' }]);
    expect(r.ok).toBe(false);
    expect(r.evidence).toHaveLength(2);
    expect(r.observed).toBe('1 of 3 events valid');
  });
});
