import { hasReference, interpolate, InterpolationError } from './interpolate.js';
import { ScenarioError } from './load.js';

/**
 * A scenario's `env` as its workers get it. The scenario keeps each value as written
 * (`${API_TOKEN}`): the controller expands it from keelhaul's own environment when a run
 * starts, and again when it resumes, so the run directory's scenario.yaml and state.json
 * hold the reference, never a value read from the environment (docs/security.md).
 */
export interface ResolvedEnv {
  /** NAME → the value the worker gets. */
  readonly values: Readonly<Record<string, string>>;
  /**
   * NAME → the variables of keelhaul's environment its value read, each with its value:
   * redaction hides a value whose variable has a secret-looking name, whatever the env name.
   */
  readonly variables: Readonly<Record<string, readonly { readonly name: string; readonly value: string }[]>>;
  /** NAME → the value as the scenario writes it, for the names whose written form differs from the value. */
  readonly written: Readonly<Record<string, string>>;
}

/**
 * Expands `${VAR}` and `${VAR:-default}` (src/scenario/interpolate.ts) in every value of a
 * scenario's `env` from `from`; `$$` is a literal `$`.
 *
 * @param file named in the error (the scenario file, or state.json on resume)
 * @param from the environment to read @default process.env
 * @throws {ScenarioError} naming each `env.NAME` whose variable is unset without a default,
 *   or whose `${…}` is malformed; its `cause` is the first {@link InterpolationError}
 */
export function resolveScenarioEnv(env: Readonly<Record<string, string>>, file = '<inline>', from: NodeJS.ProcessEnv = process.env): ResolvedEnv {
  const values: Record<string, string> = {};
  const variables: Record<string, { name: string; value: string }[]> = {};
  const written: Record<string, string> = {};
  const issues: { field: string; message: string }[] = [];
  let cause: InterpolationError | undefined;
  for (const [name, text] of Object.entries(env)) {
    if (!text.includes('$')) {
      values[name] = text;
      continue;
    }
    try {
      const expanded = interpolate(text, from);
      values[name] = expanded.value;
      if (expanded.value !== text) written[name] = text;
      if (hasReference(text) && expanded.names.length > 0) {
        variables[name] = [...new Set(expanded.names)].map((variable) => ({ name: variable, value: from[variable] ?? '' }));
      }
    } catch (error) {
      if (!(error instanceof InterpolationError)) throw error;
      cause ??= error;
      issues.push({ field: `env.${name}`, message: error.message });
    }
  }
  if (issues.length > 0) throw new ScenarioError(file, issues, { cause });
  return { values, variables, written };
}
