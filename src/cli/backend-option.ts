import { assertLocalBackendCan } from '../controller/index.js';
import type { Scenario } from '../scenario/index.js';
import { UsageError } from './errors.js';

/**
 * Applies `--backend` to a scenario and refuses, before anything runs, what that backend
 * cannot apply (a fault kind, a network mode): `plan`, `validate` and `run` share it.
 * @throws {UsageError} for a value other than docker or local
 * @throws {FaultSupportError} naming the scenario field the backend cannot honour (exit 2)
 */
export function withBackend(scenario: Scenario, backend: string | undefined): Scenario {
  if (backend !== undefined && backend !== 'docker' && backend !== 'local') {
    throw new UsageError('--backend', `Expected \`--backend\` to be docker or local, got \`${backend}\``);
  }
  const chosen: Scenario = backend === 'docker' || backend === 'local' ? { ...scenario, backend } : scenario;
  if (chosen.backend === 'local') assertLocalBackendCan(chosen);
  return chosen;
}
