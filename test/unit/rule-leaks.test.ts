import { describe, expect, it } from 'vitest';
import { checkNoLeaks, type RunFacts } from '../../src/checks/index.js';
import { findRulesInContainers, findRulesOnHost, type RuleExec } from '../../src/controller/rule-leaks.js';

describe('rule-leaks', () => {
  const exec: RuleExec = async (file, args) => {
    if (file === 'iptables') return { stdout: '-P OUTPUT ACCEPT\n-A OUTPUT -m comment --comment keelhaul:run-1 -j DROP\n-A OUTPUT -m comment --comment keelhaul:run-2 -j DROP' };
    if (args.includes('tc')) return { stdout: 'qdisc noqueue 0: dev lo root refcnt 2\nqdisc netem 8001: dev eth0 root refcnt 2 limit 1000 loss 50%' };
    if (args.includes('iptables'))
      return { stdout: '-P OUTPUT ACCEPT\n-A OUTPUT -o eth0 -m statistic --mode random --probability 0.5 -m comment --comment keelhaul:run-1 -j DROP' };
    throw new Error('unexpected');
  };
  it('finds netem/tbf root qdiscs and the run-marked iptables rules in a container namespace', async () => {
    const found = await findRulesInContainers('run-1', [{ containerId: '0123456789abcdef', pid: 42 }], exec, true);
    expect(found.checked).toBe(true);
    expect(found.rules).toEqual([
      'container 0123456789ab: tc qdisc netem 8001: dev eth0 root refcnt 2 limit 1000 loss 50%',
      'container 0123456789ab: iptables -A OUTPUT -o eth0 -m statistic --mode random --probability 0.5 -m comment --comment keelhaul:run-1 -j DROP',
    ]);
  });
  it('on the host, only rules with this run mark count', async () => {
    expect((await findRulesOnHost('run-2', exec, true)).rules).toEqual(['host: iptables -A OUTPUT -m comment --comment keelhaul:run-2 -j DROP']);
  });
  it('says it could not look when not root', async () => {
    expect(await findRulesOnHost('run-1', exec, false)).toEqual({ checked: false, rules: [], reason: 'not root: iptables needs uid 0' });
  });
  it('no-leaks counts injected rules when the query ran, and fails on one', () => {
    const facts = { leaks: { containers: [], networks: [], volumes: [], rules: ['host: iptables -A OUTPUT … keelhaul:run-1 -j DROP'] } } as unknown as RunFacts;
    const r = checkNoLeaks(facts);
    expect(r.ok).toBe(false);
    expect(r.observed).toBe('0 containers, 0 networks, 0 volumes with the run label, 1 injected rules');
    expect(r.evidence[0]).toMatch(/^rule host: iptables/);
    expect(checkNoLeaks({ leaks: { containers: [], networks: [], volumes: [], rules: [] } } as unknown as RunFacts).expected).toContain('0 injected rules');
  });
});
