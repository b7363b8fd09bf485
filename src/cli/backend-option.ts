import { assertLocalBackendCan, BackendSupportError } from '../controller/index.js';
import { locateScenarioIssues, ScenarioError, type Scenario } from '../scenario/index.js';
import { UsageError } from './errors.js';

/**
 * Applies `--backend` to a scenario and refuses, before anything runs, what that backend
 * cannot apply (a fault kind, a network mode): `plan`, `validate`, `run` and `parity` share it.
 *
 * @param scenarioPath the scenario's file: every problem is reported with its line there
 * @throws {UsageError} for a value other than docker or local
 * @throws {ScenarioError} listing every field the backend cannot honour, each with
 *   `file:line:column` (exit 2)
 */
export async function withBackend(scenario: Scenario, backend: string | undefined, scenarioPath: string): Promise<Scenario> {
  if (backend !== undefined && backend !== 'docker' && backend !== 'local') {
    throw new UsageError('--backend', `Expected \`--backend\` to be docker or local, got \`${backend}\``);
  }
  const chosen: Scenario = backend === 'docker' || backend === 'local' ? { ...scenario, backend } : scenario;
  if (chosen.backend !== 'local') return chosen;
  try {
    assertLocalBackendCan(chosen);
  } catch (error) {
    if (!(error instanceof BackendSupportError)) throw error;
    const problems = error.problems.map((p) => ({ field: p.field, message: `${p.message} (backend ${error.backend})` }));
    const issues = await locateScenarioIssues(scenarioPath, problems);
    throw new ScenarioError(scenarioPath, issues, { cause: error });
  }
  return chosen;
}
