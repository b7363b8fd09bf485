/**
 * Which runs of this process `resumeRun` refuses: those its caller says it drives now
 * (`activeRuns`, per caller — a Harness passes its own), not those of another caller and
 * not through module state. No daemon: the fake client's first call ends the resume.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resumeRun, type RunState } from '../../src/controller/index.js';
import { currentController } from '../../src/controller/liveness.js';
import { STATE_SCHEMA_VERSION } from '../../src/controller/state.js';
import type { DockerClient } from '../../src/docker/index.js';
import { validateScenario } from '../../src/scenario/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A run directory whose state.json says this very process drives run `r-1`. */
function runOfThisProcess(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keelhaul-resume-'));
  dirs.push(dir);
  const controller = currentController();
  const state: RunState = {
    schemaVersion: STATE_SCHEMA_VERSION,
    runId: 'r-1',
    seed: 1,
    scenario: validateScenario({ name: 's', tasks: { count: 1, steps: [{ sleep: 1 }] } }),
    scenarioFile: null,
    image: 'img',
    keelhaulVersion: '0.0.0',
    status: 'running',
    startedAtMs: Date.now(),
    controller,
    controllers: [controller],
    networkName: null,
    daemonHost: 'unix:///fake.sock',
    privateDaemonRoot: null,
    tasks: { 't-01': { status: 'pending', attempts: [] } },
    faults: [],
    reaper: null,
    revision: 0,
    updatedAt: new Date().toISOString(),
  };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
  return dir;
}

/** A client at the run's endpoint whose every call fails with a recognisable error. */
const reached = new Error('reached the daemon');
const docker = new Proxy({ endpoint: '/fake.sock' } as DockerClient, {
  get: (target, key) => (key in target ? target[key as keyof DockerClient] : () => Promise.reject(reached)),
});

describe('resumeRun and the runs its caller drives', () => {
  it('resume: a run of this process that its caller drives now is refused as live-controller', async () => {
    const run = runOfThisProcess();
    await expect(resumeRun({ run, docker, activeRuns: new Set(['r-1']) })).rejects.toMatchObject({ name: 'ResumeError', reason: 'live-controller', runId: 'r-1' });
  });

  it('resume: a run of this process that another caller drives, or none, is taken over (it gave up on its daemon)', async () => {
    const run = runOfThisProcess();
    await expect(resumeRun({ run, docker, activeRuns: new Set(['r-2']) })).rejects.toBe(reached);
    await expect(resumeRun({ run, docker })).rejects.toBe(reached);
  });
});
