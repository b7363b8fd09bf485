/**
 * The internal-network guard's iptables commands and their undo, against a recording exec
 * (the docker integration test in checks-able-to-fail proves the rules on a real host).
 */
import { describe, expect, it } from 'vitest';
import { bridgeInterfaceOf, guardInternalNetwork, removeRunHostRules, splitRule } from '../../src/backends/internal-network-guard.js';

function recorder(present: (args: readonly string[]) => boolean = () => false, listing = '') {
  const calls: string[] = [];
  const exec = async (file: string, args: readonly string[]) => {
    calls.push([file, ...args].join(' '));
    if (file === 'iptables' && args.includes('-C') && !present(args)) throw new Error('iptables: Bad rule (does a matching rule exist in that chain?).');
    return { stdout: file === 'iptables' && args.includes('-S') ? listing : '' };
  };
  return { calls, exec };
}

describe('internal network guard', () => {
  it('guard: inserts four REJECT rules carrying the run mark, TCP first in each chain', async () => {
    const { calls, exec } = recorder();
    const guard = await guardInternalNetwork('r1', '0123456789abcdef0123', { daemonIsLocal: true, exec, isRoot: true });
    expect(guard).toEqual({ applied: true, bridge: 'br-0123456789ab' });
    const inserts = calls.filter((c) => c.includes(' -I '));
    // Inserted in reverse at position 1, so the chains read tcp-reset, then port-unreachable.
    expect(inserts).toEqual([
      'iptables -w -I FORWARD 1 -i br-0123456789ab ! -o br-0123456789ab -m conntrack --ctstate NEW -m comment --comment keelhaul:r1 -j REJECT --reject-with icmp-port-unreachable',
      'iptables -w -I FORWARD 1 -i br-0123456789ab ! -o br-0123456789ab -p tcp -m conntrack --ctstate NEW -m comment --comment keelhaul:r1 -j REJECT --reject-with tcp-reset',
      'iptables -w -I INPUT 1 -i br-0123456789ab -m conntrack --ctstate NEW -m comment --comment keelhaul:r1 -j REJECT --reject-with icmp-port-unreachable',
      'iptables -w -I INPUT 1 -i br-0123456789ab -p tcp -m conntrack --ctstate NEW -m comment --comment keelhaul:r1 -j REJECT --reject-with tcp-reset',
    ]);
    expect(calls[0]).toBe('ip link show br-0123456789ab');
  });

  it('guard: a rule already present (a resumed run) is not inserted twice', async () => {
    const { calls, exec } = recorder(() => true);
    expect((await guardInternalNetwork('r1', 'abcdefabcdef99', { daemonIsLocal: true, exec, isRoot: true })).applied).toBe(true);
    expect(calls.filter((c) => c.includes(' -I '))).toEqual([]);
  });

  it('guard: changes nothing and says why for a remote daemon, without root, or without the bridge', async () => {
    const { calls, exec } = recorder();
    expect(await guardInternalNetwork('r1', 'abcdefabcdef99', { daemonIsLocal: false, exec, isRoot: true })).toMatchObject({
      applied: false,
      reason: expect.stringContaining('not on this host'),
    });
    expect(await guardInternalNetwork('r1', 'abcdefabcdef99', { daemonIsLocal: true, exec, isRoot: false })).toMatchObject({
      applied: false,
      reason: expect.stringContaining('not root'),
    });
    expect(calls).toEqual([]);
    const noBridge = async (file: string, args: readonly string[]) => {
      if (file === 'ip') throw new Error('Device "br-abcdefabcdef" does not exist.');
      return { stdout: args.join(' ') };
    };
    expect(await guardInternalNetwork('r1', 'abcdefabcdef99', { daemonIsLocal: true, exec: noBridge, isRoot: true })).toMatchObject({
      applied: false,
      reason: expect.stringContaining('no host interface br-abcdefabcdef'),
    });
  });

  it("guard: removeRunHostRules deletes exactly the run's marked rules, quoted comments included, not run r10's", async () => {
    const listing = [
      '-P INPUT ACCEPT',
      '-A INPUT -i br-0123456789ab -p tcp -m conntrack --ctstate NEW -m comment --comment keelhaul:r1 -j REJECT --reject-with tcp-reset',
      '-A INPUT -i br-other -m comment --comment keelhaul:r2 -j REJECT --reject-with icmp-port-unreachable',
      '-A INPUT -i br-other -m comment --comment keelhaul:r10 -j REJECT --reject-with icmp-port-unreachable',
      '-A FORWARD -i br-0123456789ab ! -o br-0123456789ab -m conntrack --ctstate NEW -m comment --comment "keelhaul:r1" -j REJECT --reject-with icmp-port-unreachable',
    ].join('\n');
    const { calls, exec } = recorder(() => true, listing);
    expect(await removeRunHostRules('r1', { exec, isRoot: true })).toBe(2);
    expect(calls.filter((c) => c.includes(' -D '))).toEqual([
      'iptables -w -D INPUT -i br-0123456789ab -p tcp -m conntrack --ctstate NEW -m comment --comment keelhaul:r1 -j REJECT --reject-with tcp-reset',
      'iptables -w -D FORWARD -i br-0123456789ab ! -o br-0123456789ab -m conntrack --ctstate NEW -m comment --comment keelhaul:r1 -j REJECT --reject-with icmp-port-unreachable',
    ]);
    expect(await removeRunHostRules('r1', { exec, isRoot: false })).toBe(0);
  });

  it('guard: names the bridge as Docker does and splits quoted rule text', () => {
    expect(bridgeInterfaceOf('5d1fab7dcbe3ffff')).toBe('br-5d1fab7dcbe3');
    expect(splitRule('INPUT -m comment --comment "a b \\"c\\"" -j DROP')).toEqual(['INPUT', '-m', 'comment', '--comment', 'a b "c"', '-j', 'DROP']);
  });
});
