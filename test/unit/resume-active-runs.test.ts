/**
 * Which runs of this process `resumeRun` refuses: those its caller says it drives now
 * (`activeRuns`, per caller — a Harness passes its own), not those of another caller and
 * not through module state. No daemon: the fake client's first call ends the resume.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runStateFixture } from '../setup/run-state.js';
import { resumeRun } from '../../src/controller/index.js';
import type { DockerClient } from '../../src/docker/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A run directory whose state.json says this very process drives run `r-1`. */
function runOfThisProcess(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keelhaul-resume-'));
  dirs.push(dir);
  const state = runStateFixture({ daemonHost: 'unix:///fake.sock' });
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
