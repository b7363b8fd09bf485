import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS: under ESM its default export can arrive wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv | Ajv2019 | Ajv2020) => void;

/** A SUT's JSON Schema file that cannot be read or compiled. */
export class SutSchemaError extends Error {
  override name = 'SutSchemaError';
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }
}

/** One line of a JSONL file: its 1-based number and its parsed value, or why it is not JSON. */
type JsonLine = { line: number; value: unknown } | { line: number; error: string };

/** Reads a JSONL file line by line (blank lines skipped). @returns undefined when the file does not exist */
async function readJsonLines(file: string): Promise<JsonLine[] | undefined> {
  const out: JsonLine[] = [];
  try {
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let n = 0;
    for await (const text of lines) {
      n += 1;
      if (text.trim() === '') continue;
      try {
        out.push({ line: n, value: JSON.parse(text) as unknown });
      } catch (error) {
        out.push({ line: n, error: `not JSON (${error instanceof Error ? error.message : String(error)})` });
      }
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return out;
}

/**
 * The SUT's ledger: one entry per non-blank JSONL line, with the value of its `key` field
 * (a string or number, as text) or why it has none.
 * @returns `found: false` when the file does not exist
 */
export async function readSutLedger(file: string, key: string): Promise<{ found: boolean; entries: { line: number; key?: string; error?: string }[] }> {
  const lines = await readJsonLines(file);
  if (!lines) return { found: false, entries: [] };
  return {
    found: true,
    entries: lines.map((l) => {
      if ('error' in l) return { line: l.line, error: l.error };
      const value = l.value !== null && typeof l.value === 'object' ? (l.value as Record<string, unknown>)[key] : undefined;
      if (typeof value === 'string' || typeof value === 'number') return { line: l.line, key: String(value) };
      return { line: l.line, error: `no ${key} field (a string or number)` };
    }),
  };
}

/**
 * Compiles a JSON Schema file with the draft its `$schema` names (2020-12, 2019-09, else
 * draft-07, ajv's default), formats included.
 * @throws {SutSchemaError} when it cannot be read, is not JSON, or does not compile
 */
export async function compileSchemaFile(file: string): Promise<ValidateFunction> {
  let schema: { $schema?: unknown };
  try {
    schema = JSON.parse(await readFile(file, 'utf8')) as { $schema?: unknown };
  } catch (error) {
    throw new SutSchemaError(file, `cannot read a JSON Schema: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const draft = typeof schema.$schema === 'string' ? schema.$schema : '';
  const options = { allErrors: true, strict: false };
  const ajv = draft.includes('2020-12') ? new Ajv2020(options) : draft.includes('2019-09') ? new Ajv2019(options) : new Ajv(options);
  addFormats(ajv);
  try {
    return ajv.compile(schema as object);
  } catch (error) {
    throw new SutSchemaError(file, `is not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * Validates every line of a JSONL log against a JSON Schema file.
 * @returns the lines read and each invalid one (1-based line number and ajv's message)
 * @throws {SutSchemaError} when the schema cannot be compiled
 */
export async function validateSutLog(file: string, schemaFile: string): Promise<{ found: boolean; lines: number; invalid: { line: number; message: string }[] }> {
  const validate = await compileSchemaFile(schemaFile);
  const lines = await readJsonLines(file);
  if (!lines) return { found: false, lines: 0, invalid: [] };
  const invalid: { line: number; message: string }[] = [];
  for (const l of lines) {
    if ('error' in l) invalid.push({ line: l.line, message: l.error });
    else if (!validate(l.value)) invalid.push({ line: l.line, message: (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`).join('; ') });
  }
  return { found: true, lines: lines.length, invalid };
}
