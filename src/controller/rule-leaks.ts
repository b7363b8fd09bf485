/**
 * Finding traffic-shaping rules a run's faults left behind: the netem fault adds tc qdiscs
 * (netem, or tbf without it) and iptables rules (DROP with the statistic match, commented
 * with the run's mark, `ruleMark`) inside a target's network namespace, and removes them
 * when its duration ends or the run stops (src/chaos/actions.ts). The no-leaks check counts
 * what this finds besides containers, networks and volumes.
 *
 * Where a rule can remain: in the namespace of a target still running after the injector
 * stopped (an undo that failed), or in the host's own tables (a rule that missed the
 * namespace). A namespace goes with its container, so after cleanup only the host is left
 * to query.
 */
import { ruleMark, runOnHost, type HostExec } from '../chaos/index.js';
import { splitRule } from '../backends/internal-network-guard.js';

/** Runs a command on the host (tests fake it). */
export type RuleExec = HostExec;
const defaultExec: RuleExec = runOnHost;

/** What a query found: one line per rule, saying where (`container 1a2b…: tc qdisc netem …`). */
export interface InjectedRules {
  /** False when the query could not run (not root, no iptables); then `rules` is empty and `reason` says why. */
  readonly checked: boolean;
  readonly rules: string[];
  readonly reason?: string;
}

/**
 * Shaping rules in the network namespaces of the given running containers (host pids of
 * their init): root qdiscs of kind netem or tbf (`tc qdisc show`; a container's default is
 * noqueue), and OUTPUT rules carrying the run's mark. A container whose namespace cannot
 * be entered (exited meanwhile) is skipped: its rules went with it.
 */
export async function findRulesInContainers(
  runId: string,
  containers: readonly { readonly containerId: string; readonly pid: number }[],
  exec: RuleExec = defaultExec,
  isRoot: boolean = process.getuid?.() === 0,
): Promise<InjectedRules> {
  if (!isRoot) return { checked: false, rules: [], reason: 'not root: nsenter needs uid 0' };
  const mark = ruleMark(runId);
  const rules: string[] = [];
  for (const { containerId, pid } of containers) {
    const ns = ['-t', String(pid), '-n'];
    const who = `container ${containerId.slice(0, 12)}`;
    const qdiscs = await exec('nsenter', [...ns, 'tc', 'qdisc', 'show']).catch(() => undefined);
    for (const line of qdiscs?.stdout.split('\n') ?? []) {
      if (/^qdisc (netem|tbf) .* root\b/.test(line.trim())) rules.push(`${who}: tc ${line.trim()}`);
    }
    const iptables = await exec('nsenter', [...ns, 'iptables', '-w', '-S', 'OUTPUT']).catch(() => undefined);
    for (const line of iptables?.stdout.split('\n') ?? []) if (line.includes(mark)) rules.push(`${who}: iptables ${line.trim()}`);
  }
  return { checked: true, rules };
}

/**
 * iptables rules of the host's own filter table that carry the run's mark: a netem fault's
 * that missed its namespace, and the internal network's guard (src/backends/internal-network-guard.ts).
 */
export async function findRulesOnHost(runId: string, exec: RuleExec = defaultExec, isRoot: boolean = process.getuid?.() === 0): Promise<InjectedRules> {
  if (!isRoot) return { checked: false, rules: [], reason: 'not root: iptables needs uid 0' };
  const mark = ruleMark(runId);
  try {
    const { stdout } = await exec('iptables', ['-w', '-S']);
    // Exactly this run's mark: `keelhaul:r1` is a prefix of run r10's.
    const marked = (l: string): boolean => {
      const args = splitRule(l);
      return args[args.indexOf('--comment') + 1] === mark;
    };
    return {
      checked: true,
      rules: stdout
        .split('\n')
        .filter((l) => l.includes(mark) && marked(l))
        .map((l) => `host: iptables ${l.trim()}`),
    };
  } catch (error) {
    return { checked: false, rules: [], reason: `iptables -S failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}
