/**
 * Closing the hole Docker leaves in an `--internal` network.
 *
 * Measured on this machine (Docker 20.10, iptables on; docs/security.md): a container on an
 * internal network gets a default route via the bridge's gateway address, which is the
 * host's own address on that bridge. Packets to any host address therefore arrive on the
 * host's INPUT chain, which Docker leaves alone (its DOCKER-ISOLATION rules only filter
 * FORWARD), and a service on the host listening on 0.0.0.0 answers: a worker reached a
 * listener through 172.18.0.1 in 2 ms. With the daemon's iptables off, forwarded traffic to
 * other bridges is not filtered either (DOCKER-NOTES).
 *
 * The guard inserts four rules at the top of the host's filter table, each commented with
 * the run's mark (`ruleMark`, the comment the no-leaks check counts):
 *
 *   INPUT   -i <bridge>               -p tcp --ctstate NEW -j REJECT --reject-with tcp-reset
 *   INPUT   -i <bridge>                      --ctstate NEW -j REJECT --reject-with icmp-port-unreachable
 *   FORWARD -i <bridge> ! -o <bridge> -p tcp --ctstate NEW -j REJECT --reject-with tcp-reset
 *   FORWARD -i <bridge> ! -o <bridge>        --ctstate NEW -j REJECT --reject-with icmp-port-unreachable
 *
 * Traffic between the network's own containers is bridged (`-o <bridge>`) and Docker's
 * embedded DNS answers inside each container's namespace, so both keep working. REJECT,
 * not DROP: a worker that tries is refused at once, it does not hang on a timeout.
 * IPv4 only: keelhaul's internal networks have no IPv6.
 */
import { ruleMark, runOnHost, type HostExec } from '../chaos/index.js';

/** Runs a command on the host (tests fake it). */
export type GuardExec = HostExec;
const defaultExec: GuardExec = runOnHost;

/** What {@link guardInternalNetwork} did. */
export interface NetworkGuard {
  /** True when all four rules are in place (inserted now, or found from an earlier controller of the run). */
  readonly applied: boolean;
  /** The host interface of the network's bridge, `br-<first 12 hex of the network id>`. */
  readonly bridge: string;
  /** Why the guard could not be applied, when it was not. */
  readonly reason?: string;
}

/** The Linux bridge Docker creates for a user-defined bridge network without `com.docker.network.bridge.name`. */
export function bridgeInterfaceOf(networkId: string): string {
  return `br-${networkId.slice(0, 12)}`;
}

/**
 * The guard's rules, in the order they end up at the top of their chains. TCP gets a reset:
 * an ICMP unreachable (admin-prohibited or port-unreachable) made `connect` fail only after
 * 1.02 s here (measured with busybox nc), a reset at once.
 */
function guardRules(bridge: string, mark: string): string[][] {
  // Only connections the bridge side opens: replies to connections the host opened pass.
  const comment = ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', mark];
  const tcp = ['-p', 'tcp', ...comment, '-j', 'REJECT', '--reject-with', 'tcp-reset'];
  const other = [...comment, '-j', 'REJECT', '--reject-with', 'icmp-port-unreachable'];
  const offNetwork = ['-i', bridge, '!', '-o', bridge];
  return [
    ['INPUT', '-i', bridge, ...tcp],
    ['INPUT', '-i', bridge, ...other],
    ['FORWARD', ...offNetwork, ...tcp],
    ['FORWARD', ...offNetwork, ...other],
  ];
}

/**
 * Puts the guard on the internal network `networkId` of run `runId`. Idempotent: a rule
 * already present (`iptables -C`, after a resume) is not inserted twice.
 *
 * Needs root on the daemon's host and the controller on that host (a unix-socket daemon):
 * otherwise nothing is changed and `reason` says why. Never throws; the isolation probe
 * then shows what the network lets through.
 */
export async function guardInternalNetwork(runId: string, networkId: string, options: { daemonIsLocal: boolean; exec?: GuardExec; isRoot?: boolean }): Promise<NetworkGuard> {
  const bridge = bridgeInterfaceOf(networkId);
  const exec = options.exec ?? defaultExec;
  if (!options.daemonIsLocal) return { applied: false, bridge, reason: 'the Docker daemon is not on this host: its iptables are out of reach' };
  if (!(options.isRoot ?? process.getuid?.() === 0)) return { applied: false, bridge, reason: 'not root: iptables needs uid 0' };
  try {
    await exec('ip', ['link', 'show', bridge]);
  } catch {
    return { applied: false, bridge, reason: `no host interface ${bridge} for the network (a custom bridge name, or a daemon in another network namespace)` };
  }
  try {
    // Inserted last rule first, each at position 1, so that they end up in guardRules' order.
    for (const [chain, ...spec] of guardRules(bridge, ruleMark(runId)).reverse()) {
      const present = await exec('iptables', ['-w', '-C', chain!, ...spec]).then(
        () => true,
        () => false,
      );
      if (!present) await exec('iptables', ['-w', '-I', chain!, '1', ...spec]);
    }
    return { applied: true, bridge };
  } catch (error) {
    return { applied: false, bridge, reason: `iptables refused the rule: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * Deletes every rule of the host's filter table that carries the run's mark (the guard's,
 * and any a fault left there), by turning each `-A …` line of `iptables -S` into `-D …`.
 * Resolves with the number deleted; without root, or without iptables, 0. Never throws.
 */
export async function removeRunHostRules(runId: string, options: { exec?: GuardExec; isRoot?: boolean } = {}): Promise<number> {
  const exec = options.exec ?? defaultExec;
  if (!(options.isRoot ?? process.getuid?.() === 0)) return 0;
  const mark = ruleMark(runId);
  const listed = await exec('iptables', ['-w', '-S']).catch(() => undefined);
  let removed = 0;
  for (const line of listed?.stdout.split('\n') ?? []) {
    if (!line.startsWith('-A ') || !line.includes(mark)) continue;
    const args = splitRule(line.slice(3));
    // Exactly this run's mark: run `r1`'s cleanup must not touch run `r10`'s rules.
    if (args[args.indexOf('--comment') + 1] !== mark) continue;
    const ok = await exec('iptables', ['-w', '-D', ...args]).then(
      () => true,
      () => false,
    );
    if (ok) removed += 1;
  }
  return removed;
}

/** Splits one `iptables -S` rule into arguments, honouring the double quotes iptables puts around comments with spaces. */
export function splitRule(rule: string): string[] {
  const args: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = pattern.exec(rule); m; m = pattern.exec(rule)) args.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return args;
}
