/** A `state.json` for unit tests: run `r-1` of a one-task scenario, driven by this very process. */
import { currentController } from '../../src/controller/liveness.js';
import { STATE_SCHEMA_VERSION, type RunState } from '../../src/controller/state.js';
import { validateScenario } from '../../src/scenario/index.js';

/** The run state of run `r-1`, task `t-01` pending, this process its live controller; `overrides` replace fields. */
export function runStateFixture(overrides: Partial<RunState> = {}): RunState {
  const controller = currentController();
  return {
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
    daemonHost: 'unix:///var/run/docker.sock',
    privateDaemonRoot: null,
    tasks: { 't-01': { status: 'pending', attempts: [] } },
    faults: [],
    reaper: null,
    revision: 0,
    updatedAt: new Date().toISOString(),
    ...overrides,
  };
}
