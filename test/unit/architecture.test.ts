/**
 * docs/architecture.md's part table against the code's real imports: each folder of src/
 * is a part, and its row's `imports` column names the parts its files import (import and
 * export-from statements, dynamic imports, type-only imports alike, as the TypeScript
 * pre-processor finds them — comments do not count). A part that imports one its row does
 * not list, a row that lists one the part no longer imports, a folder without a row and a
 * cycle between parts each fail here. A new part (a folder and its row) needs no change to
 * this test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const src = join(root, 'src');

/** The root export, a node of the graph of its own (it is not a folder). */
const ROOT_ENTRY = 'index.ts';

/**
 * Cycles between parts that are known and owned by a planned change; each entry must
 * still be a cycle (the test says when one is gone, so the entry goes too). None today:
 * the last one (report/ → controller/ for `RunEvent`) went when `src/events/` took the run events.
 */
const KNOWN_CYCLES: readonly (readonly string[])[] = [];

/** Files still allowed an `export *` (each must still have one). None: every index names what it exports. */
const KNOWN_EXPORT_STAR: readonly string[] = [];

/** Every .ts file under src/, as a path relative to src/ with `/` separators. */
function sourceFiles(dir = src): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(src, path).split(sep).join('/')] : [];
  });
}

/** The part a file of src/ belongs to: its top folder, `index.ts` for the root export, undefined for the files beside the parts (version.ts, atomic-file.ts). */
function partOf(file: string): string | undefined {
  if (file.includes('/')) return file.slice(0, file.indexOf('/'));
  return file === ROOT_ENTRY ? ROOT_ENTRY : undefined;
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly file: string;
}

/** Part → part edges from the relative imports of every source file. */
function realImports(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles()) {
    const from = partOf(file);
    const info = ts.preProcessFile(readFileSync(join(src, file), 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue; // node: builtins and packages
      const target = relative(src, resolve(dirname(join(src, file)), fileName))
        .split(sep)
        .join('/');
      if (target.startsWith('..')) throw new Error(`${file} imports ${fileName}, outside src/`);
      const to = partOf(target);
      if (to !== undefined && to !== from) edges.push({ from: from ?? file, to, file });
    }
  }
  return edges;
}

/** The table's rows: part (`docker`, …, `index.ts`) → the parts its `imports` column names. */
function documentedImports(): Map<string, Set<string>> {
  const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
  const rows = new Map<string, string>();
  for (const line of doc.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    // | `part/` | owns | imports |  → ['', '`part/`', owns, imports, '']
    const name = /^`([a-z][a-z0-9-]*)\/`$|^`(index\.ts)`$/.exec(cells[1] ?? '');
    if (!name || cells.length < 5) continue;
    rows.set(name[1] ?? name[2] ?? '', cells[cells.length - 2] ?? '');
  }
  const parts = new Set(rows.keys());
  const table = new Map<string, Set<string>>();
  for (const [part, column] of rows) {
    // Notes in parentheses ("types only: …", "the rule mark") name no imports.
    const words = column.replace(/\([^)]*\)/g, ' ').match(/[a-z][a-z0-9-]*(?:\.ts)?/g) ?? [];
    table.set(part, new Set(words.filter((word) => parts.has(word))));
  }
  return table;
}

/** Strongly connected components with more than one part (Tarjan), each sorted. */
function cycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) next.set(from, (next.get(from) ?? new Set()).add(to));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) ?? 0);
    stack.push(node);
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(to) ?? 0));
      } else if (stack.includes(to)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(to) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member !== undefined) component.push(member);
      } while (member !== undefined && member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of next.keys()) if (!index.has(node)) visit(node);
  return found.sort((a, b) => a.join().localeCompare(b.join()));
}

describe('architecture (docs/architecture.md against the imports of src/)', () => {
  const edges = realImports();
  const table = documentedImports();

  it('architecture: every folder of src/ has a row in the table, and every row a folder', () => {
    const folders = readdirSync(src, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    expect([...table.keys()].sort()).toEqual([...folders, ROOT_ENTRY].sort());
  });

  it('architecture: a part imports only the parts its row lists', () => {
    const undocumented = edges
      .filter(({ from, to }) => table.has(from) && !table.get(from)?.has(to))
      .map(({ from, to, file }) => `${from} → ${to} (src/${file}) is not in its row of docs/architecture.md`);
    expect([...new Set(undocumented)]).toEqual([]);
  });

  it('architecture: a row lists only parts the part still imports', () => {
    const stale = [...table].flatMap(([from, listed]) =>
      [...listed].filter((to) => !edges.some((edge) => edge.from === from && edge.to === to)).map((to) => `${from} → ${to} is in the table, but no file of ${from} imports ${to}`),
    );
    expect(stale).toEqual([]);
  });

  it('architecture: the files beside the parts (version.ts, atomic-file.ts) import no part, so any part may use them', () => {
    expect(edges.filter(({ from }) => !table.has(from)).map(({ from, to }) => `src/${from} → ${to}`)).toEqual([]);
  });

  it('architecture: index files name what leaves a part (no `export *`, beyond the known ones, each still one)', () => {
    const star = sourceFiles().filter((file) => /^\s*export\s+(type\s+)?\*/m.test(readFileSync(join(src, file), 'utf8')));
    expect(star).toEqual([...KNOWN_EXPORT_STAR]);
  });

  it('architecture: no cycle between parts (beyond the known ones, each still a cycle)', () => {
    const known = KNOWN_CYCLES.map((cycle) => [...cycle].sort().join(' ↔ '));
    expect(cycles(edges).map((cycle) => cycle.join(' ↔ '))).toEqual(known);
  });
});
