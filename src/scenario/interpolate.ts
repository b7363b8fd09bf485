/**
 * `${VAR}` and `${VAR:-default}` in scenario values, taken from keelhaul's own environment,
 * so a secret is named in YAML and never written there. The syntax is the subset of POSIX
 * parameter expansion that Docker Compose also accepts (`$$` is a literal `$`); anything
 * else after `${` is an error rather than left as text, so a typo never reaches a worker.
 */

/** A `${…}` that is malformed or names a variable that is unset and has no default. */
export class InterpolationError extends Error {
  override name = 'InterpolationError';
  /** The variable's name, or the malformed text. */
  readonly variable: string;
  /** The value being expanded, for the message's context. */
  readonly value: string;
  constructor(variable: string, value: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.variable = variable;
    this.value = value;
  }
}

const REFERENCE = /\$\$|\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Expands `${NAME}`, `${NAME:-default}` (default when unset or empty) and `${NAME-default}`
 * (default only when unset) in `value` from `env`; `$$` becomes `$`. `extra` names values
 * that win over `env` (e.g. `KEELHAUL_RUN_ID`, known only once a run starts).
 *
 * @returns the expanded string and the names it read from `env` (for redaction: a value that
 *   came from a secret-named variable is redacted like one written in `env:`)
 * @throws {InterpolationError} for `${}` with a name that is not `[A-Za-z_][A-Za-z0-9_]*`, or
 *   a variable that is unset with no default
 */
export function interpolate(value: string, env: NodeJS.ProcessEnv, extra: Readonly<Record<string, string>> = {}): { value: string; names: string[] } {
  const names: string[] = [];
  const out = value.replace(REFERENCE, (match, body: string | undefined) => {
    if (match === '$$') return '$';
    const text = body ?? '';
    const split = /^([^:-]*)(:?-)(.*)$/s.exec(text);
    const name = split ? (split[1] ?? '') : text;
    if (!NAME.test(name)) {
      throw new InterpolationError(
        text,
        value,
        `\${${text}} is not a variable reference: expected \${NAME} or \${NAME:-default} with NAME of letters, digits and _ (write $$ for a literal $)`,
      );
    }
    const given = Object.hasOwn(extra, name) ? extra[name] : env[name];
    if (split) {
      const operator = split[2];
      const fallback = split[3] ?? '';
      if (given === undefined || (operator === ':-' && given === '')) return fallback;
    }
    if (given === undefined) {
      throw new InterpolationError(name, value, `\${${name}} is not set in keelhaul's environment; export it, or give a default with \${${name}:-value}`);
    }
    if (!Object.hasOwn(extra, name)) names.push(name);
    return given;
  });
  return { value: out, names };
}

/** Whether `value` holds a `${…}` reference (a `$$` escape alone does not count). */
export function hasReference(value: string): boolean {
  return /\$\{/.test(value.replaceAll('$$', ''));
}
