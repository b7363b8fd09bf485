import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { findOnPath } from '../daemon/index.js';
import { interpolate, type Scenario, type SutSpec } from '../scenario/index.js';
import { SutStartError } from '../sut/index.js';
import { processStartTimeMs } from './liveness.js';
import type { RunState } from './state.js';

/** The SUT's command, resume, cwd, env and selector with `${VAR}` expanded (keelhaul's environment plus the run's own variables). */
export interface ResolvedSut {
  readonly command: readonly string[];
  readonly resume: readonly string[] | undefined;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly selector: Readonly<Record<string, string>>;
  readonly stateDir: string;
  /** Names of keelhaul's environment variables the values came from (redacted like secrets when their names say so). */
  readonly fromEnvironment: readonly string[];
}

/**
 * Expands the SUT's strings (docs/sut.md): `${VAR}` from `env`, and `KEELHAUL_RUN_ID`,
 * `KEELHAUL_RUN_DIR`, `KEELHAUL_STATE_DIR`, `KEELHAUL_IMAGE` (the scenario's image, expanded) of this run. `cwd` is relative to the scenario
 * file's directory (the current directory for scenarios built in code).
 * @throws {InterpolationError} for a variable that is unset with no default
 */
export function resolveSut(sut: SutSpec, run: { runId: string; runDir: string; scenarioFile: string | null; image: string }, env: NodeJS.ProcessEnv = process.env): ResolvedSut {
  const stateDir = join(run.runDir, 'sut-state');
  const extra: Record<string, string> = { KEELHAUL_RUN_ID: run.runId, KEELHAUL_RUN_DIR: run.runDir, KEELHAUL_STATE_DIR: stateDir, KEELHAUL_IMAGE: run.image };
  const names = new Set<string>();
  const expand = (value: string): string => {
    const out = interpolate(value, env, extra);
    for (const n of out.names) names.add(n);
    return out.value;
  };
  const base = run.scenarioFile ? dirname(resolve(run.scenarioFile)) : process.cwd();
  const cwd = sut.cwd !== undefined ? resolve(base, expand(sut.cwd)) : base;
  return {
    command: sut.command.map(expand),
    resume: sut.resume?.map(expand),
    cwd,
    env: Object.fromEntries(Object.entries(sut.env).map(([k, v]) => [k, expand(v)])),
    selector: Object.fromEntries(Object.entries(sut.selector).map(([k, v]) => [k, expand(v)])),
    stateDir,
    fromEnvironment: [...names],
  };
}

/**
 * For the reaper of a SUT run whose controller died: SIGKILL to the SUT's process group
 * (recorded in state.json), unless its leader's pid now belongs to another process (same
 * pid, another start time). A leader already gone still gets the signal to its group, for
 * whatever it started that outlived it.
 * @returns whether a signal was sent
 */
export function killOrphanedSut(state: RunState): boolean {
  const sut = state.sut;
  if (!sut || sut.pid <= 1 || sut.hostname !== hostname()) return false;
  if (existsSync(`/proc/${sut.pid}`)) {
    const start = processStartTimeMs(sut.pid);
    if (sut.start !== undefined && start !== undefined && Math.abs(start - sut.start) > 2000) return false;
  }
  try {
    process.kill(-sut.pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/**
 * The SUT's selector of a run, as its run expanded it (for the reaper, which removes what
 * the SUT left once the run is reaped); undefined for a run without a SUT, or when a
 * variable it names is no longer set.
 */
export function sutSelectorOf(state: RunState, runDir: string): Record<string, string> | undefined {
  const sut = state.scenario.sut;
  if (!sut) return undefined;
  try {
    return { ...resolveSut(sut, { runId: state.runId, runDir, scenarioFile: state.scenarioFile, image: state.image }).selector };
  } catch {
    return undefined;
  }
}

/**
 * Refuses a SUT that cannot start, before anything is created: its `cwd` must be a
 * directory and the program of `command` (and of `resume`, and of each mode's) must be an
 * executable on PATH, or, with a `/`, relative to `cwd`. A `shell: true` SUT runs `/bin/sh`.
 * Strings are expanded as a run would (run variables stand in).
 * @throws {SutStartError} naming the program or directory and the field
 * @throws {InterpolationError} for a variable unset with no default
 */
export async function preflightSut(scenario: Scenario, scenarioFile: string | null): Promise<void> {
  const sut = scenario.sut;
  if (!sut) return;
  const resolved = resolveSut(sut, { runId: 'preflight', runDir: '/nonexistent', scenarioFile, image: scenario.image });
  const info = await stat(resolved.cwd).catch(() => undefined);
  if (!info?.isDirectory()) throw new SutStartError(resolved.command, resolved.cwd, { cause: new Error(`sut.cwd: ${resolved.cwd} is not a directory`) });
  if (sut.shell) return;
  const commands: [string, readonly string[]][] = [['sut.command', resolved.command]];
  if (resolved.resume) commands.push(['sut.resume', resolved.resume]);
  for (const [mode, m] of Object.entries(sut.modes ?? {})) {
    if (m.command)
      commands.push([
        `sut.modes.${mode}.command`,
        resolveSut({ ...sut, command: m.command }, { runId: 'preflight', runDir: '/nonexistent', scenarioFile, image: scenario.image }).command,
      ]);
  }
  for (const [field, argv] of commands) {
    const program = argv[0] ?? '';
    const found = await findOnPath(program.includes('/') ? resolve(resolved.cwd, program) : program);
    if (!found) {
      throw new SutStartError(argv, resolved.cwd, {
        cause: new Error(`${field}: ${program} is not an executable ${program.includes('/') ? `file (relative to ${resolved.cwd})` : 'on PATH'}`),
      });
    }
  }
}
