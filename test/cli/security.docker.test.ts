/**
 * The `keelhaul` binary, black-box, on the real daemon:
 * - a scenario asking for the Docker socket, host networking or privileged mode without
 *   `dangerouslyAllow` exits 2 naming file, line and field, and creates nothing;
 * - a planted secret (`env: { API_TOKEN }`, echoed by the worker in its failure reason) is
 *   found in no file of the run directory and in none of the CLI's output (run -v, status,
 *   report), while its `[REDACTED:API_TOKEN]` marker is;
 * - run ids given to resume/status/report/clean cannot lead out of the runs directory.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Label } from '../../src/docker/index.js';

const bin = resolve('dist/src/cli/main.js');
const observer = new Dockerode();

function keelhaul(args: string[], cwd?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000, ...(cwd ? { cwd } : {}) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function resourcesOfScenario(name: string): Promise<number> {
  const filters = JSON.stringify({ label: [`${Label.scenario}=${name}`] });
  const [c, n, v] = await Promise.all([observer.listContainers({ all: true, filters }), observer.listNetworks({ filters }), observer.listVolumes({ filters })]);
  return c.length + n.length + (v.Volumes ?? []).length;
}

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('keelhaul: security from the outside (docker)', () => {
  let dir: string;
  let runsDir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keelhaul-sec-cli-'));
    runsDir = join(dir, 'runs');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const refusals: { title: string; extra: string; line: number; field: string }[] = [
    { title: 'host networking', extra: 'network: host\n', line: 6, field: 'network' },
    { title: 'privileged mode', extra: 'privileged: true\n', line: 6, field: 'privileged' },
    { title: 'the Docker socket', extra: 'mounts:\n  - { source: /var/run/docker.sock, target: /var/run/docker.sock }\n', line: 7, field: 'mounts\\[0\\]\\.source' },
    { title: 'the directory holding the socket', extra: 'mounts:\n  - { source: /run, target: /hostrun }\n', line: 7, field: 'mounts\\[0\\]\\.source' },
  ];
  for (const r of refusals) {
    it(`refused without dangerouslyAllow: ${r.title} exits 2 naming file, line and field, and creates nothing`, async () => {
      const name = `sec-${randomUUID().slice(0, 8)}`;
      const file = join(dir, `${name}.yaml`);
      await writeFile(file, `name: ${name}\ntasks:\n  count: 1\n  steps:\n    - sleep: 10\n${r.extra}`);
      const out = keelhaul(['run', file, '--runs-dir', runsDir]);
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${r.line}:\\d+: ${r.field}: .*dangerouslyAllow`));
      expect(await resourcesOfScenario(name)).toBe(0);
    });
  }

  it('secrets: a planted API_TOKEN is in no file of the run directory and in none of the CLI output; its marker is', async () => {
    const secret = `tok-${randomUUID()}`;
    const name = `sec-secret-${randomUUID().slice(0, 8)}`;
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      [
        `name: ${name}`,
        'seed: 7',
        `env: { API_TOKEN: "${secret}", PLAIN_SETTING: plain-visible }`,
        'retry: { maxAttempts: 1 }',
        'tasks:',
        '  - id: echoes',
        '    steps:',
        '      - progress: 0.5',
        `      - fail: "upstream said ${secret} is invalid"`,
        '  - id: writes',
        '    steps:',
        `      - write: { path: token.txt, content: "${secret}" }`,
        'expect:',
        `  failedTasks: { echoes: "upstream said ${secret} is invalid" }`,
        '',
      ].join('\n'),
    );
    const run = keelhaul(['run', file, '--runs-dir', runsDir, '-v']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const runId = /^run (\S+):/m.exec(run.stdout)?.[1];
    expect(runId).toBeDefined();
    const runDir = join(runsDir, runId!);
    const status = keelhaul(['status', runId!, '--runs-dir', runsDir]);
    const md = keelhaul(['report', runId!, '--format', 'md', '--runs-dir', runsDir]);
    const rewrite = keelhaul(['report', runId!, '--runs-dir', runsDir]);
    for (const r of [status, md, rewrite]) expect(r.code).toBe(0);

    const files = await filesUnder(runDir);
    // The run directory as the brief lists it, so a file that is not written cannot pass unread.
    const names = files.map((f) => f.slice(runDir.length + 1)).sort();
    expect(names).toEqual(
      expect.arrayContaining([
        'events.jsonl',
        'state.json',
        'scenario.yaml',
        'report.json',
        'report.md',
        'report.html',
        'junit.xml',
        'completions.jsonl',
        'attempts/echoes/1/stdout.log',
        'attempts/echoes/1/stderr.log',
      ]),
    );
    const escaped = JSON.stringify(secret).slice(1, -1);
    for (const path of files) {
      const text = await readFile(path, 'latin1');
      expect(text.includes(secret) || text.includes(escaped), `secret found in ${path}`).toBe(false);
    }
    for (const [label, text] of Object.entries({
      runStdout: run.stdout,
      runStderr: run.stderr,
      status: status.stdout + status.stderr,
      md: md.stdout + md.stderr,
      rewrite: rewrite.stdout + rewrite.stderr,
    })) {
      expect(text.includes(secret), `secret found in ${label}`).toBe(false);
    }
    // The routes were taken: the worker's echo reached events, the log, the report and the terminal, redacted.
    const marker = '[REDACTED:API_TOKEN]';
    expect(await readFile(join(runDir, 'events.jsonl'), 'utf8')).toContain(`upstream said ${marker} is invalid`);
    expect(await readFile(join(runDir, 'attempts', 'echoes', '1', 'stdout.log'), 'utf8')).toContain(marker);
    expect(await readFile(join(runDir, 'state.json'), 'utf8')).toContain(`"API_TOKEN": "${marker}"`);
    expect(await readFile(join(runDir, 'scenario.yaml'), 'utf8')).toContain(marker);
    expect(run.stdout).toContain(marker);
    // Not over-eager: an ordinary env value stays readable.
    expect(await readFile(join(runDir, 'scenario.yaml'), 'utf8')).toContain('plain-visible');
    const report = JSON.parse(await readFile(join(runDir, 'report.json'), 'utf8')) as { status: string; redactedSecrets?: number };
    expect(report.status).toBe('passed');
    expect(report.redactedSecrets).toBe(1);
  });

  const pathCases: { title: string; args: (runsDir: string) => string[]; value: string }[] = [
    { title: 'resume ..', args: (d) => ['resume', '..', '--runs-dir', d], value: '..' },
    { title: 'status ..', args: (d) => ['status', '..', '--runs-dir', d], value: '..' },
    { title: 'report ..', args: (d) => ['report', '..', '--runs-dir', d], value: '..' },
    { title: 'report .', args: (d) => ['report', '.', '--runs-dir', d], value: '.' },
    { title: 'resume with a backslash', args: (d) => ['resume', 'a\\..\\b', '--runs-dir', d], value: 'a\\\\..\\\\b' },
    { title: 'clean --run ../x', args: () => ['clean', '--run', '../x'], value: '../x' },
    { title: 'clean --run /etc', args: () => ['clean', '--run', '/etc'], value: '/etc' },
    { title: 'clean --run ..', args: () => ['clean', '--run', '..'], value: '..' },
  ];
  for (const c of pathCases) {
    it(`paths: ${c.title} exits 2 naming the value`, () => {
      const out = keelhaul(c.args(runsDir), dir);
      expect(out.code).toBe(2);
      expect(out.stderr).toContain(`"${c.value}" is refused`);
      expect(out.stderr).not.toContain('unexpected error');
    });
  }
});
