import { findOnPath } from '../daemon/index.js';
import type { Scenario } from '../scenario/index.js';

/** One thing a scenario needs from the machine it runs on, and whether this machine has it. */
export interface HostRequirement {
  /** `root`, or a command that must be on PATH (`tc`, `iptables`, `dockerd`, …). */
  readonly need: string;
  /** The scenario fields that ask for it, e.g. `faults[2] (netem)`, `daemon.mode private`. */
  readonly for: readonly string[];
  readonly met: boolean;
  /** What happens without it: `refused` (the run exits 3 before anything starts) or `degraded` (it runs, less proven). */
  readonly without: 'refused' | 'degraded';
  /** What to do when not met. */
  readonly fix?: string;
}

/** Debian's package of each command a scenario may need, for the fix line. */
const PACKAGE_OF: Readonly<Record<string, string>> = {
  tc: 'iproute2',
  ip: 'iproute2',
  nsenter: 'util-linux',
  unshare: 'util-linux',
  umount: 'mount',
  iptables: 'iptables',
  dockerd: 'docker.io',
  containerd: 'containerd',
};

/**
 * What a scenario needs from the host beyond a Docker daemon, found without running
 * anything, and whether this host has it (`validate` and `doctor <scenario>` print it):
 *
 * - `kill` with `mode: host` and `netem` act from the host: root (kill(2) of another
 *   user's process; nsenter), and `nsenter` and `tc` for netem;
 * - `daemon.mode: private`: root and `dockerd`, `containerd`, `ip`, `iptables`, `umount`
 *   (docs/private-daemon.md);
 * - `network: internal`: root and `iptables` for the guard that closes the network's way to
 *   the host — without them the run goes on, reported unguarded;
 * - the local backend: `unshare` and root for `network: none`, root for `workspace.size`;
 * - a system under test: the program its `command`, `resume` and modes name, on PATH.
 */
export async function hostRequirements(scenario: Scenario, isRoot = process.getuid?.() === 0): Promise<HostRequirement[]> {
  const asked = new Map<string, { for: string[]; without: 'refused' | 'degraded' }>();
  const need = (what: string, field: string, without: 'refused' | 'degraded' = 'refused'): void => {
    const entry = asked.get(what) ?? { for: [], without };
    if (!entry.for.includes(field)) entry.for.push(field);
    if (without === 'refused') entry.without = 'refused';
    asked.set(what, entry);
  };
  scenario.faults.forEach((fault, i) => {
    const field = `faults[${i}] (${fault.kind}${fault.kind === 'kill' ? ` mode ${fault.params.mode}` : ''})`;
    if (fault.kind === 'kill' && fault.params.mode === 'host') need('root', field);
    if (fault.kind === 'netem') {
      need('root', field);
      need('nsenter', field);
      need('tc', field);
    }
  });
  if (scenario.daemon.mode === 'private') {
    for (const what of ['root', 'dockerd', 'containerd', 'ip', 'iptables', 'umount']) need(what, 'daemon.mode private');
  }
  if (scenario.backend === 'docker' && scenario.network === 'internal') {
    need('root', 'network internal (the guard)', 'degraded');
    need('iptables', 'network internal (the guard)', 'degraded');
  }
  if (scenario.backend === 'local') {
    if (scenario.network === 'none') {
      need('root', 'backend local, network none');
      need('unshare', 'backend local, network none');
    }
    if (scenario.workspace.size !== undefined) need('root', 'backend local, workspace.size');
  }
  // A system under test's program (docs/sut.md): a name looked up on PATH (a path or a
  // `${VAR}` is the run's preflight to check, against `sut.cwd`).
  const sut = scenario.sut;
  if (sut && !sut.shell) {
    const programs: [string, string | undefined][] = [
      ['sut.command', sut.command[0]],
      ['sut.resume', sut.resume?.[0]],
      ...Object.entries(sut.modes ?? {}).map(([mode, m]): [string, string | undefined] => [`sut.modes.${mode}.command`, m.command?.[0]]),
    ];
    for (const [field, program] of programs) if (program && !program.includes('/') && !program.includes('$')) need(program, field);
  }
  const requirements: HostRequirement[] = [];
  for (const [what, entry] of asked) {
    const met = what === 'root' ? isRoot : (await findOnPath(what)) !== undefined;
    const fix = what === 'root' ? 'run keelhaul as root (sudo)' : `apt-get install ${PACKAGE_OF[what] ?? what}`;
    requirements.push({ need: what, for: entry.for, met, without: entry.without, ...(met ? {} : { fix }) });
  }
  return requirements;
}

/** The requirements as lines for a terminal: `ok   root  for faults[1] (netem)` / `MISS …  → fix`. */
export function renderHostRequirements(requirements: readonly HostRequirement[]): string[] {
  if (requirements.length === 0) return ['host: needs nothing beyond a Docker daemon'];
  return requirements.map(
    (r) =>
      `${r.met ? 'ok  ' : r.without === 'refused' ? 'MISS' : 'WARN'} ${r.need.padEnd(10)} for ${r.for.join(', ')}${r.met ? '' : ` → ${r.fix}${r.without === 'degraded' ? ' (runs without it, reported unguarded)' : ' (the run would be refused)'}`}`,
  );
}
