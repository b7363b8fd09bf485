/**
 * `local.command` (issue 16 item 4): the local backend runs the user's own worker, so a task
 * needs no `steps` there, and parity compares the user's worker as a container and as a process.
 */
import { describe, expect, it } from 'vitest';
import { localBackendProblems } from '../../src/backends/index.js';
import { runsReferenceWorker, ScenarioError, validateScenario } from '../../src/scenario/index.js';

describe('local.command', () => {
  it('local.command: the local backend then runs no reference worker, so tasks need no steps; without it they still do', () => {
    const own = validateScenario({ name: 'own', image: 'acme/worker:1', backend: 'local', local: { command: ['sh', 'worker.sh'] }, tasks: [{ id: 't-1', prompt: 'hi' }] });
    expect(runsReferenceWorker(own)).toBe(false);
    expect(localBackendProblems(own, true)).toEqual([]);
    expect(() => validateScenario({ name: 'ref', image: 'acme/worker:1', backend: 'local', tasks: [{ id: 't-1', prompt: 'hi' }] })).toThrow(ScenarioError);
    const docker = validateScenario({ name: 'd', image: 'acme/worker:1', local: { command: ['sh', 'worker.sh'] }, tasks: [{ id: 't-1' }] });
    const asLocal = { ...docker, backend: 'local' as const };
    expect(localBackendProblems(asLocal, true)).toEqual([]);
    const withoutCommand = { ...asLocal, local: undefined };
    expect(localBackendProblems(withoutCommand, true)).toEqual([expect.objectContaining({ field: 'tasks[0].steps' })]);
  });

  it('local.command: an empty command is refused naming the field', () => {
    expect(() => validateScenario({ name: 'x', backend: 'local', local: { command: [] }, tasks: [{ id: 't', steps: [{ sleep: 1 }] }] })).toThrow(/local\.command/);
  });
});
