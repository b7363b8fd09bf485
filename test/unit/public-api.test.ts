/**
 * keelhaul's public API is the root export (src/index.ts, the package's `.`), documented
 * in docs/api.md. These lists make a change to it conscious: adding, renaming or removing
 * a public name fails here until the list — and docs/api.md — say so too.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** Runtime names: functions, classes, constants. */
const VALUES = [
  'attachExternalDaemon',
  'buildWorkerImage',
  'checkAllCompleted',
  'checkAttemptsWithinBound',
  'checkBudget',
  'checkContainerAudit',
  'checkDisruptedTasksRecover',
  'checkEventSchema',
  'checkEventsFile',
  'checkExactlyOnce',
  'checkExpectedFailures',
  'checkFaultsInjected',
  'checkKilledAttemptsRecover',
  'checkLockExclusion',
  'checkNetworkIsolation',
  'checkNoLeaks',
  'checkPartitionsVerified',
  'checkRecoveryTime',
  'checkResourceStability',
  'checkStateMatchesDaemon',
  'checkWorkspaceCompliance',
  'compareDigests',
  'ComposeError',
  'connectDocker',
  'ContainerNotRunningError',
  'createSeededRandom',
  'DaemonCleanupError',
  'DaemonControlError',
  'DaemonError',
  'DaemonStartError',
  'DaemonTlsError',
  'DaemonUnavailableError',
  'digestRun',
  'DockerError',
  'EndpointError',
  'exportAttemptCompose',
  'ExternalDaemon',
  'FAULT_KINDS',
  'FaultSupportError',
  'findRunResources',
  'Harness',
  'ImageBuildError',
  'ImageNotFoundError',
  'keelhaulVersion',
  'Label',
  'labelsFor',
  'loadComposeFile',
  'loadScenarioFile',
  'LOCAL_FAULT_KINDS',
  'localBackendProblems',
  'MissingSecretError',
  'parseScenario',
  'pickTargets',
  'planFaults',
  'PrivateDaemon',
  'privateDaemonPrerequisites',
  'readEventsFile',
  'readSamplesFile',
  'removePrivateDaemonRoot',
  'removeRunResources',
  'resolveEndpoint',
  'renderHtmlReport',
  'renderJunitReport',
  'renderMarkdownReport',
  'renderParityMarkdown',
  'renderParityTable',
  'renderPlan',
  'renderResourceCharts',
  'REPORT_FORMATS',
  'REPORT_SCHEMA_VERSION',
  'reproAttempt',
  'ReproError',
  'ResourceNotFoundError',
  'ResumeError',
  'resumeRun',
  'runChecks',
  'runParity',
  'runScenario',
  'ScenarioError',
  'scenarioJsonSchema',
  'startPrivateDaemon',
  'StateError',
  'summarizeUsage',
  'SutParityError',
  'SutStartError',
  'UnsafePathError',
  'UsageTally',
  'validateScenario',
  'WORKER_IMAGE_REPOSITORY',
  'WorkerImageInputError',
  'workerImageTag',
  'writeRunReports',
];

/** Type-only names (interfaces and type aliases; erased at runtime). */
const TYPES = [
  'AnyDaemon',
  'AttemptDigest',
  'AttemptFacts',
  'AttemptInterval',
  'AttemptOutcome',
  'AttemptSelection',
  'BackendProblem',
  'BudgetLimits',
  'BudgetUsage',
  'BuildWorkerImageOptions',
  'CheckResult',
  'CleanupFailure',
  'CleanupResult',
  'ComposeIssue',
  'ComposeTopology',
  'ConnectOptions',
  'ContainerEventFact',
  'ContainerInfo',
  'ContainerSummary',
  'DaemonConnectOptions',
  'DaemonControlFailure',
  'DaemonErrorContext',
  'DaemonHandle',
  'DaemonOperation',
  'DaemonStartFailure',
  'DaemonTransition',
  'DaemonVersion',
  'DockerClient',
  'DockerEndpoint',
  'EventsFile',
  'FaultFacts',
  'FaultKind',
  'FaultPlan',
  'FaultSpec',
  'HarnessOptions',
  'HarnessRunOptions',
  'ImageBuildClient',
  'ImageInfo',
  'InvalidEventLine',
  'LeakReport',
  'MonitorSample',
  'MonitorSummary',
  'NetworkSummary',
  'OutcomeDigest',
  'ParityOptions',
  'ParityResult',
  'ParityRow',
  'PlannedFiring',
  'PrivateDaemonOptions',
  'RecoveryFigure',
  'ReportAttempt',
  'ReportAttemptOutcome',
  'ReportFault',
  'ReportFormat',
  'ReproOptions',
  'ReproResult',
  'ResourceBounds',
  'ResourceFacts',
  'ResumeRunOptions',
  'Role',
  'RunEvent',
  'RunFacts',
  'RunHooks',
  'RunIdentity',
  'RunReport',
  'RunResult',
  'RunScenarioOptions',
  'RunUsage',
  'Scenario',
  'ScenarioInput',
  'ScenarioIssue',
  'SeededRandom',
  'Step',
  'StopOptions',
  'SutDigest',
  'TargetSelector',
  'TaskDigest',
  'TaskLocks',
  'TaskSpec',
  'TaskUsage',
  'Trigger',
  'UsageReport',
  'UsageTotals',
  'VolumeSummary',
  'WorkerEvent',
  'WorkerImageBuild',
  'WorkerImageInput',
  'WorkspaceListing',
  'WriteRunReportsOptions',
];

const root = fileURLToPath(new URL('../../', import.meta.url));

const byName = (a: string, b: string): number => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0);

/** The root export's names as the compiler sees them: `values` exist at runtime, `types` only in .d.ts. */
function compilerView(): { values: string[]; types: string[] } {
  const entry = join(root, 'src', 'index.ts');
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const module = source && checker.getSymbolAtLocation(source);
  if (!module) throw new Error(`the compiler found no module at ${entry}`);
  const values: string[] = [];
  const types: string[] = [];
  for (const symbol of checker.getExportsOfModule(module)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    (target.flags & ts.SymbolFlags.Value ? values : types).push(symbol.name);
  }
  return { values: values.sort(byName), types: types.sort(byName) };
}

describe('public API (src/index.ts, docs/api.md)', () => {
  it('public API: the root export has exactly the listed runtime names', async () => {
    const root = (await import('../../src/index.js')) as Record<string, unknown>;
    expect(Object.keys(root).sort(byName)).toEqual([...VALUES].sort(byName));
  }, 60_000);

  it('public API: the root export has exactly the listed type names, and the listed runtime names as the compiler sees them', () => {
    const { values, types } = compilerView();
    expect(types).toEqual([...TYPES].sort(byName));
    expect(values).toEqual([...VALUES].sort(byName));
  }, 60_000);

  it('public API: every public name is named in docs/api.md', async () => {
    const doc = await readFile(join(root, 'docs', 'api.md'), 'utf8');
    const missing = [...VALUES, ...TYPES].filter((name) => !new RegExp(`\\b${name}\\b`).test(doc));
    expect(missing).toEqual([]);
  });
});
