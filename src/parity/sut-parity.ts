import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import type { RunReport } from '../report/index.js';
import type { Scenario, SutSpec } from '../scenario/index.js';
import { readSutLedger } from '../sut/index.js';
import type { ParityRow } from './digest.js';

/** A scenario's `sut` without `modes`, or with a count other than two: nothing to compare. */
export class SutParityError extends Error {
  override name = 'SutParityError';
  readonly scenario: string;
  constructor(scenario: string, message: string) {
    super(message);
    this.scenario = scenario;
  }
}

/** What one mode's run of a SUT gave, as parity compares it. */
export interface SutDigest {
  readonly mode: string;
  readonly runId: string;
  readonly runDir: string;
  readonly status: 'passed' | 'failed';
  /** The SUT's last exit code (after every resume); null when a signal ended it or it never ran. */
  readonly exitCode: number | null;
  /** Ledger key → how many times it appears; undefined without `sut.ledger` or when the file is missing. */
  readonly ledger: Readonly<Record<string, number>> | undefined;
  /** Output path (relative to the state directory) → SHA-256 of the file; `(missing)` for a declared path that is not there. */
  readonly outputs: Readonly<Record<string, string>>;
}

/** The two modes of a scenario's SUT, in the order written. @throws {SutParityError} without exactly two */
export function sutModes(scenario: Scenario): [string, string] {
  const names = Object.keys(scenario.sut?.modes ?? {});
  if (!scenario.sut || names.length !== 2) {
    throw new SutParityError(
      scenario.name,
      `parity of a system under test compares two ways of running it: give sut.modes two entries, e.g. { local: { env: { ACME_MODE: local } }, docker: {} } (docs/sut.md)`,
    );
  }
  return [names[0]!, names[1]!];
}

/** The scenario as one mode runs it: that mode's command, resume and env over the SUT's own. */
export function scenarioForMode(scenario: Scenario, mode: string): Scenario {
  const sut = scenario.sut!;
  const m = sut.modes?.[mode];
  if (!m) throw new SutParityError(scenario.name, `sut.modes has no mode ${JSON.stringify(mode)}`);
  const next: SutSpec = {
    ...sut,
    command: m.command ?? sut.command,
    ...(m.resume !== undefined || sut.resume !== undefined ? { resume: m.resume ?? sut.resume } : {}),
    env: { ...sut.env, ...m.env },
    expectContainers: m.expectContainers ?? sut.expectContainers,
  };
  return { ...scenario, sut: next };
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every regular file under `root` (a file or a directory), relative to `base`, with its SHA-256. */
async function hashTree(base: string, root: string, into: Record<string, string>): Promise<void> {
  const info = await stat(root).catch(() => undefined);
  if (!info) {
    into[relative(base, root)] = '(missing)';
    return;
  }
  if (info.isFile()) {
    into[relative(base, root)] = await sha256(root);
    return;
  }
  if (!info.isDirectory()) return;
  for (const entry of (await readdir(root)).sort()) await hashTree(base, join(root, entry), into);
}

/** A SUT run's digest: its report's status and last exit, its ledger's key counts, its outputs' SHA-256s. */
export async function digestSutRun(mode: string, runDir: string, sut: SutSpec): Promise<SutDigest> {
  const report = JSON.parse(await readFile(join(runDir, 'report.json'), 'utf8')) as RunReport;
  const stateDir = report.sut?.stateDir ?? join(runDir, 'sut-state');
  let ledger: Record<string, number> | undefined;
  if (sut.ledger) {
    const file = isAbsolute(sut.ledger.file) ? sut.ledger.file : join(stateDir, sut.ledger.file);
    const read = await readSutLedger(file, sut.ledger.key);
    if (read.found) {
      ledger = {};
      for (const e of read.entries) if (e.key !== undefined) ledger[e.key] = (ledger[e.key] ?? 0) + 1;
    }
  }
  const outputs: Record<string, string> = {};
  for (const path of sut.outputs) await hashTree(stateDir, isAbsolute(path) ? path : join(stateDir, path), outputs);
  return { mode, runId: report.runId, runDir, status: report.status, exitCode: report.sut?.exits.at(-1)?.exitCode ?? null, ledger, outputs };
}

/**
 * Compares two SUT digests: the run's status, the SUT's last exit code, the ledger (which
 * keys, each how many times), and each output file by SHA-256 (one row for the tree, one
 * per path that differs). The first mode fills the `docker` column, the second `local`.
 */
export function compareSutDigests(a: SutDigest, b: SutDigest): ParityRow[] {
  const rows: ParityRow[] = [];
  const add = (field: string, x: string, y: string): void => void rows.push({ task: null, field, docker: x, local: y, same: x === y });
  const ledgerText = (l: SutDigest['ledger']): string =>
    l === undefined
      ? '(none)'
      : Object.entries(l)
          .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
          .map(([k, n]) => (n === 1 ? k : `${k}×${n}`))
          .join(' ');
  add('status', a.status, b.status);
  add('sut exit code', String(a.exitCode), String(b.exitCode));
  add('ledger', ledgerText(a.ledger), ledgerText(b.ledger));
  const paths = [...new Set([...Object.keys(a.outputs), ...Object.keys(b.outputs)])].sort();
  const differing = paths.filter((p) => a.outputs[p] !== b.outputs[p]);
  rows.push({
    task: null,
    field: 'outputs',
    docker: `${Object.keys(a.outputs).length} file(s)`,
    local: `${Object.keys(b.outputs).length} file(s)${differing.length ? `, ${differing.length} differ` : ''}`,
    same: differing.length === 0,
  });
  for (const p of differing) add(`output ${p}`, a.outputs[p]?.slice(0, 12) ?? '(absent)', b.outputs[p]?.slice(0, 12) ?? '(absent)');
  return rows;
}
