import { isNode, type Document, type LineCounter } from 'yaml';
import type { z } from 'zod';

/**
 * Where a field of a YAML document is, and how a zod issue about it reads: shared by the
 * scenario loader (load.ts) and the Compose loader (src/compose/load.ts), so both name
 * `file:line:col: field: message` the same way.
 */

/** A 1-based line and column in the file; absent when the document has no such node. */
export interface YamlPosition {
  readonly line?: number;
  readonly column?: number;
}

/** `['faults', 1, 'kind']` → `faults[1].kind`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** The line of the deepest existing node on `path` (a missing field points at its parent). */
export function locate(doc: Document | undefined, lineCounter: LineCounter, path: readonly PropertyKey[]): YamlPosition {
  if (!doc) return {};
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return {};
}

/** Like {@link locate}, but for an unknown key under `path`: the key's own line. */
export function locateKey(doc: Document | undefined, lineCounter: LineCounter, path: readonly PropertyKey[], key: string): YamlPosition {
  const parent = doc?.getIn(path as unknown[], true) as { items?: { key?: { value?: unknown; range?: [number, number, number] } }[] } | undefined;
  const pair = parent?.items?.find((p) => p.key?.value === key);
  if (pair?.key?.range) {
    const pos = lineCounter.linePos(pair.key.range[0]);
    return { line: pos.line, column: pos.col };
  }
  return locate(doc, lineCounter, path);
}

/** The value at `path` in a parsed document, or undefined when any step is missing. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

/**
 * A zod issue as a reader wants it: `is required` for a missing field, the reason of the
 * union branch that got furthest (a union's own "Invalid input" says nothing), the unknown
 * keys by name.
 */
export function zodIssueMessage(issue: z.core.$ZodIssue, input: unknown): string {
  if ((issue.code === 'invalid_union' || issue.code === 'invalid_type') && valueAt(input, issue.path) === undefined) {
    return 'is required';
  }
  if (issue.code === 'invalid_union' && issue.path.at(-1) !== 'kind') {
    // Show the reason of the branch that got past the type test (a string that failed its
    // pattern), else the first one.
    const branches = issue.errors.filter((b) => b.length > 0);
    const best = branches.find((b) => !b.every((i) => i.code === 'invalid_type' && i.path.length === 0)) ?? branches[0];
    const first = best?.[0];
    if (first) return `${first.message}${first.path.length ? ` (at ${formatPath(first.path)})` : ''}`;
  }
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return issue.message;
}
