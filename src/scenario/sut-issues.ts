import { interpolate, InterpolationError } from './interpolate.js';
import type { Scenario } from './schema.js';

/** A problem with a scenario's `sut` or its SUT faults, as a path into the scenario and a reason. */
export interface SutIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** Values known only once a run starts; validation stands them in so that only unset user variables are refused. */
const RUN_VARIABLES = { KEELHAUL_RUN_ID: 'run', KEELHAUL_RUN_DIR: '/run', KEELHAUL_STATE_DIR: '/state', KEELHAUL_IMAGE: 'image' };

/**
 * What cannot work in a scenario's system under test (docs/sut.md), found before anything
 * runs: a `sut-kill` or a `sut.*` trigger without a `sut`, a `sut-kill` that would resume
 * with no `sut.resume`, `on.pattern` on another event than `sut.output`, keelhaul tasks
 * beside a SUT (not supported: the SUT runs the work), and `${VAR}` references to
 * variables unset in `env` (keelhaul's environment).
 */
export function sutIssues(scenario: Scenario, env: NodeJS.ProcessEnv = process.env): SutIssue[] {
  const issues: SutIssue[] = [];
  const sut = scenario.sut;
  scenario.faults.forEach((fault, i) => {
    if (fault.kind === 'sut-kill' && sut === undefined)
      issues.push({ path: ['faults', i, 'kind'], message: 'sut-kill signals a system under test, and this scenario has no sut (docs/sut.md)' });
    if (fault.kind === 'sut-kill' && sut !== undefined && fault.params.resume && sut.resume === undefined) {
      issues.push({
        path: ['faults', i, 'params', 'resume'],
        message: 'resumes the SUT with sut.resume, which the scenario does not give: add sut.resume, or set params.resume: false',
      });
    }
    if ('on' in fault.trigger && fault.trigger.on.pattern !== undefined && fault.trigger.on.event !== 'sut.output') {
      issues.push({
        path: ['faults', i, 'trigger', 'on', 'pattern'],
        message: `a pattern matches the SUT's output lines: it needs event: sut.output, not ${fault.trigger.on.event}`,
      });
    }
  });
  if (sut === undefined) return issues;
  if (scenario.tasks.length > 0) {
    issues.push({
      path: ['tasks'],
      message: 'keelhaul tasks beside a sut are not supported: the SUT runs the work (give its tasks to it, and sut.ledger.expectKeys to the checks)',
    });
  }
  const check = (path: (string | number)[], value: string): void => {
    try {
      interpolate(value, env, RUN_VARIABLES);
    } catch (error) {
      if (!(error instanceof InterpolationError)) throw error;
      issues.push({ path, message: error.message });
    }
  };
  sut.command.forEach((arg, i) => check(['sut', 'command', i], arg));
  sut.resume?.forEach((arg, i) => check(['sut', 'resume', i], arg));
  if (sut.cwd !== undefined) check(['sut', 'cwd'], sut.cwd);
  for (const [name, value] of Object.entries(sut.env)) check(['sut', 'env', name], value);
  for (const [name, value] of Object.entries(sut.selector)) check(['sut', 'selector', name], value);
  for (const [mode, m] of Object.entries(sut.modes ?? {})) {
    m.command?.forEach((arg, i) => check(['sut', 'modes', mode, 'command', i], arg));
    m.resume?.forEach((arg, i) => check(['sut', 'modes', mode, 'resume', i], arg));
    for (const [name, value] of Object.entries(m.env)) check(['sut', 'modes', mode, 'env', name], value);
  }
  if (sut.ledger?.expectKeys !== undefined && sut.ledger.expectCount !== undefined && sut.ledger.expectCount !== new Set(sut.ledger.expectKeys).size) {
    issues.push({ path: ['sut', 'ledger', 'expectCount'], message: `is ${sut.ledger.expectCount}, but expectKeys lists ${new Set(sut.ledger.expectKeys).size} distinct keys` });
  }
  return issues;
}
