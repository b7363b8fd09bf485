import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import type { ResolvedEnv, Scenario } from '../scenario/index.js';

/**
 * Redaction of secret env values (docs/security.md "Secrets"). A scenario's `env` values
 * whose names match `redact.names` are replaced by `[REDACTED:<NAME>]` in everything
 * keelhaul writes or prints: events.jsonl and the terminal (every event), state.json,
 * scenario.yaml, the attempts' stdout.log/stderr.log (as a stream), and the reports.
 */

/** One secret: the env name (shown in the marker) and its value (never shown). */
export interface Secret {
  readonly name: string;
  readonly value: string;
}

/** The marker that replaces a secret value. */
export function redactionMarker(name: string): string {
  return `[REDACTED:${name}]`;
}

/** `*` matches any run of characters; everything else literally, case-insensitive. */
function namePattern(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'i');
}

/**
 * The secrets of an env: values of names matching one of `patterns` (e.g. `*_TOKEN`),
 * at least `minLength` characters long (a shorter value would blank out ordinary text).
 */
export function secretsOf(env: Readonly<Record<string, string>>, patterns: readonly string[], minLength = 4): Secret[] {
  const regexes = patterns.map(namePattern);
  return Object.entries(env)
    .filter(([name, value]) => value.length >= minLength && regexes.some((r) => r.test(name)))
    .map(([name, value]) => ({ name, value }));
}

/**
 * Replaces secret values in strings, objects and byte streams. With no secrets every
 * method is the identity (a flood of output pays nothing).
 */
export class Redactor {
  /** Each form a value can take in text, longest first: raw, and as inside a JSON string. */
  readonly #forms: { readonly text: string; readonly marker: string }[];
  /** The same forms as latin1 strings of their UTF-8 bytes, for byte streams. */
  readonly #byteForms: { readonly bytes: string; readonly marker: string }[];
  readonly #longestBytes: number;
  /** How many secrets this redactor hides. */
  readonly count: number;

  constructor(secrets: readonly Secret[]) {
    const forms = new Map<string, string>();
    for (const { name, value } of secrets) {
      const marker = redactionMarker(name);
      forms.set(value, marker);
      forms.set(JSON.stringify(value).slice(1, -1), marker);
    }
    this.#forms = [...forms].map(([text, marker]) => ({ text, marker })).sort((a, b) => b.text.length - a.text.length);
    this.#byteForms = this.#forms.map((f) => ({ bytes: Buffer.from(f.text, 'utf8').toString('latin1'), marker: f.marker }));
    this.#longestBytes = Math.max(0, ...this.#byteForms.map((f) => f.bytes.length));
    this.count = secrets.length;
  }

  /** A redactor that hides nothing. */
  static none(): Redactor {
    return new Redactor([]);
  }

  /** `text` with every secret value (raw or JSON-escaped) replaced by its marker. */
  text(text: string): string {
    let out = text;
    for (const { text: secret, marker } of this.#forms) if (out.includes(secret)) out = out.split(secret).join(marker);
    return out;
  }

  /**
   * A deep copy of `value` with secrets replaced in every string (values and keys); other
   * leaves are kept, so the result serialises to valid JSON/YAML whatever the secret is.
   */
  value<T>(value: T): T {
    if (this.#forms.length === 0) return value;
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return this.text(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [this.text(k), walk(x)]));
      }
      return v;
    };
    return walk(value) as T;
  }

  /**
   * A byte stream filter that replaces secrets, also across chunk boundaries: it holds back
   * the last (longest secret − 1) bytes of each chunk until the next one (or the end).
   * Back-pressure passes through as in any Transform.
   */
  stream(): Transform {
    if (this.#byteForms.length === 0) return new PassThrough();
    const hold = this.#longestBytes - 1;
    const forms = this.#byteForms;
    let carry = '';
    const replace = (s: string): string => {
      let out = s;
      for (const { bytes, marker } of forms) if (out.includes(bytes)) out = out.split(bytes).join(marker);
      return out;
    };
    return new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        const text = replace(carry + chunk.toString('latin1'));
        const cut = Math.max(0, text.length - hold);
        carry = text.slice(cut);
        callback(null, Buffer.from(text.slice(0, cut), 'latin1'));
      },
      flush(callback: TransformCallback) {
        callback(null, Buffer.from(replace(carry), 'latin1'));
      },
    });
  }
}

/**
 * The secrets of an env whose values were expanded from keelhaul's environment
 * (`${VAR}`, src/scenario/env.ts): a value is secret when its env name or the name of a
 * variable it read matches one of `patterns`; the value of each such variable is a secret of
 * its own too (`AUTH: "Bearer ${API_TOKEN}"` hides the whole header as AUTH and the token
 * alone as API_TOKEN, wherever a worker prints it); and a secret's written form, when it
 * differs without reading a variable (`$$`), so the scenario as written hides it as well.
 * Values shorter than `minLength` are never secrets.
 */
export function secretsOfResolved(env: ResolvedEnv, patterns: readonly string[], minLength = 4): Secret[] {
  const regexes = patterns.map(namePattern);
  const secretName = (name: string): boolean => regexes.some((r) => r.test(name));
  const secrets: Secret[] = [];
  for (const [name, value] of Object.entries(env.values)) {
    const variables = env.variables[name] ?? [];
    for (const variable of variables) if (secretName(variable.name)) secrets.push({ name: variable.name, value: variable.value });
    if (!secretName(name) && !variables.some((v) => secretName(v.name))) continue;
    secrets.push({ name, value });
    const written = env.written[name];
    if (written !== undefined && variables.length === 0) secrets.push({ name, value: written });
  }
  return secrets.filter((s) => s.value.length >= minLength);
}

/**
 * The redactor of a validated scenario: its `env` values whose names match `redact.names`,
 * or, given the env as expanded for the run, {@link secretsOfResolved} of it.
 */
export function redactorFor(scenario: Pick<Scenario, 'env' | 'redact'>, resolved?: ResolvedEnv): Redactor {
  if (resolved) return new Redactor(secretsOfResolved(resolved, scenario.redact.names, scenario.redact.minLength));
  return new Redactor(secretsOf(scenario.env, scenario.redact.names, scenario.redact.minLength));
}

/**
 * A resumed run's env with its secrets back, as the scenario writes them: state.json holds
 * `[REDACTED:NAME]` in their place (or inside them: a `${VAR:-default}` whose default is the
 * secret), so each comes from the scenario file the run started from, else — a value that is
 * the marker alone — from the resuming process's own environment variable of the same name
 * (its `$` doubled, since the result is expanded again like any written value).
 *
 * @param lookup reads the original scenario's env (undefined when the file is gone or invalid)
 * @throws {Error} `MissingSecretError` naming the variable when neither has it
 */
export async function restoreSecretEnv(
  env: Readonly<Record<string, string>>,
  lookup: () => Promise<Readonly<Record<string, string>> | undefined>,
): Promise<Record<string, string>> {
  const out = { ...env };
  const redacted = Object.entries(env).filter(([name, value]) => value.includes(redactionMarker(name)));
  if (redacted.length === 0) return out;
  const original = await lookup().catch(() => undefined);
  for (const [name, stored] of redacted) {
    const fromEnv = stored === redactionMarker(name) ? process.env[name]?.replaceAll('$', '$$$$') : undefined;
    const value = original?.[name] ?? fromEnv;
    if (value === undefined || value.includes(redactionMarker(name))) throw new MissingSecretError(name);
    out[name] = value;
  }
  return out;
}

/** A resumed run needs a secret env value that neither its scenario file nor the environment has. */
export class MissingSecretError extends Error {
  override name = 'MissingSecretError';
  /** The env variable, e.g. `API_TOKEN`. */
  readonly variable: string;
  constructor(variable: string) {
    super(
      `env.${variable} is a secret, so state.json holds ${redactionMarker(variable)} instead of its value; the run's scenario file is gone or no longer sets it: export ${variable}=… in the environment of \`keelhaul resume\``,
    );
    this.variable = variable;
  }
}
