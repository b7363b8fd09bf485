/**
 * The package a team installs (issue 14, item 2): `npm pack`, the tarball installed into a
 * fresh temporary project (its dependencies from the registry, as a user's `npm i -D
 * keelhaul` would), and there: `npx keelhaul doctor`, `npx keelhaul validate`, and a run
 * through the library API from a `.mjs` file and from a `.ts` file compiled with
 * `skipLibCheck: false` — so the shipped types must stand on what the package itself
 * depends on, not on keelhaul's devDependencies (such as @types/dockerode).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve('.');
const tsc = join(root, 'node_modules/typescript/bin/tsc');
let project: string;

function sh(cmd: string, args: string[], cwd = project): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, npm_config_loglevel: 'error', npm_config_fund: 'false', npm_config_audit: 'false' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A scenario small enough to run in seconds, written by the "team" in its own project. */
const SCENARIO = [
  'name: team-smoke',
  'seed: 3',
  'tasks:',
  '  count: 2',
  '  steps:',
  '    - sleep: 1s',
  '    - write: { path: out.txt, content: ok }',
  'faults:',
  '  - kind: kill',
  '    trigger: { on: { event: task.started, nth: 1 } }',
  '',
].join('\n');

const RUN = (label: string): string => `
const harness = await Harness.create({ runsDir: 'runs', reaper: false });
try {
  const { report } = await harness.run('team.yaml');
  const left = await harness.resources(report.runId);
  console.log(JSON.stringify({ via: '${label}', status: report.status, attempts: report.attempts.length, left: left.containers.length + left.networks.length + left.volumes.length }));
} finally {
  await harness.close();
}
`;

describe('the packed package in a fresh project (docker)', () => {
  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'keelhaul-package-'));
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', project], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    ) as { filename: string }[];
    const tarball = join(project, packed[0]!.filename);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'team-suite', private: true, type: 'module' }, null, 2));
    // @types/node as any Node.js TypeScript project has it; nothing of keelhaul's devDependencies.
    const install = sh('npm', ['install', '--no-save', tarball, '@types/node@20']);
    if (install.code !== 0) throw new Error(`npm install of the packed tarball failed (exit ${install.code}):\n${install.stderr}`);
    await writeFile(join(project, 'team.yaml'), SCENARIO);
  }, 300_000);
  afterAll(async () => {
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('the tarball ships the compiled CLI and library, the worker image inputs, the LICENSE, and no tests or sources', async () => {
    const listing = sh('tar', ['-tzf', (await import('node:fs')).readdirSync(project).find((f) => f.endsWith('.tgz'))!]).stdout.split('\n');
    for (const file of [
      'package/LICENSE',
      'package/README.md',
      'package/dist/src/cli/main.js',
      'package/dist/src/index.js',
      'package/dist/src/index.d.ts',
      'package/dist/src/worker/main.js',
    ])
      expect(listing).toContain(file);
    expect(listing.filter((f) => f.startsWith('package/test/') || f.startsWith('package/src/'))).toEqual([]);
  });

  it('npx keelhaul doctor and npx keelhaul validate work from the installed package', () => {
    const doctor = sh('npx', ['--no-install', 'keelhaul', 'doctor']);
    expect(doctor.stdout + doctor.stderr).toMatch(/daemon/i);
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    const valid = sh('npx', ['--no-install', 'keelhaul', 'validate', 'team.yaml']);
    expect(valid.code, valid.stderr).toBe(0);
    expect(valid.stdout).toMatch(/valid scenario team-smoke: 2 task\(s\), 1 fault\(s\) \(kill\)/);
    const invalid = sh('npx', ['--no-install', 'keelhaul', 'validate', 'missing.yaml']);
    expect(invalid.code).toBe(2);
  });

  it('a run through the library API from a .mjs file passes and leaves nothing', async () => {
    await writeFile(join(project, 'suite.mjs'), `import { Harness } from 'keelhaul';\n${RUN('mjs')}`);
    const r = sh(process.execPath, ['suite.mjs']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toEqual({ via: 'mjs', status: 'passed', attempts: 3, left: 0 });
  });

  it('a .ts file compiles against the shipped types with skipLibCheck: false, and its run passes', async () => {
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, types: ['node'], outDir: 'out' },
        include: ['suite.ts'],
      }),
    );
    await writeFile(join(project, 'suite.ts'), `import { Harness, type RunReport } from 'keelhaul';\n${RUN('ts')}\nconst typed: RunReport['status'] = 'passed';\nvoid typed;\n`);
    const compiled = sh(process.execPath, [tsc, '-p', 'tsconfig.json']);
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(compiled.code).toBe(0);
    expect(await readFile(join(project, 'out/suite.js'), 'utf8')).toContain("from 'keelhaul'");
    const r = sh(process.execPath, ['out/suite.js']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toEqual({ via: 'ts', status: 'passed', attempts: 3, left: 0 });
    // Nothing of the two runs is left on the daemon either, asked directly.
    const containers = await new Dockerode().listContainers({ all: true, filters: JSON.stringify({ label: ['dev.keelhaul.scenario=team-smoke'] }) });
    expect(containers).toEqual([]);
  });
});
