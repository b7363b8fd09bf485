/** The scenario part: schema, YAML loading, validation errors that name file, line and field. */
export { scenarioJsonSchema } from './json-schema.js';
export { resolveScenarioEnv, type ResolvedEnv } from './env.js';
export { hasReference, interpolate, InterpolationError } from './interpolate.js';
export { loadScenarioFile, locateScenarioIssues, parseScenario, ScenarioError, validateScenario, type ScenarioIssue, type ScenarioSource } from './load.js';
export {
  byteSize,
  duration,
  FAULT_KINDS,
  nearTaskField,
  RESERVED_TASK_FIELDS,
  runsReferenceWorker,
  TASK_FIELDS,
  type FaultKind,
  type FaultSpec,
  type Scenario,
  type ScenarioInput,
  type Step,
  type SutSpec,
  SUT_EVENT_TYPES,
  type TargetSelector,
  type TaskSpec,
  type Trigger,
} from './schema.js';
export { isDockerSocketPath, unhardenedBy } from './security.js';
export { formatPath, locate, locateKey, zodIssueMessage } from './yaml-location.js';
