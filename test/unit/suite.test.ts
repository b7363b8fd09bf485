import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { expandScenarioArgs, worstExitCode } from '../../src/cli/suite-command.js';

const dir = mkdtempSync(join(tmpdir(), 'keelhaul-suite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'chaos'));
for (const f of ['b.yaml', 'a.yml', 'notes.md', 'c.yaml']) writeFileSync(join(dir, 'chaos', f), 'name: x\n');

describe('suites: which scenarios, and the exit code', () => {
  it('a directory gives its .yaml and .yml files sorted; a quoted pattern its matches; each file once, in argument order', async () => {
    expect(await expandScenarioArgs([join(dir, 'chaos')])).toEqual(['a.yml', 'b.yaml', 'c.yaml'].map((f) => join(dir, 'chaos', f)));
    expect(await expandScenarioArgs([join(dir, 'chaos', 'c.yaml'), join(dir, 'chaos', '*.yaml')])).toEqual(['c.yaml', 'b.yaml'].map((f) => join(dir, 'chaos', f)));
  });

  it('a pattern matching nothing and an empty directory are refused by name; a missing file is left to the loader', async () => {
    await expect(expandScenarioArgs([join(dir, 'chaos', '*.json')])).rejects.toBeInstanceOf(UsageError);
    mkdirSync(join(dir, 'empty'));
    await expect(expandScenarioArgs([join(dir, 'empty')])).rejects.toThrow(/no \.yaml or \.yml file/);
    expect(await expandScenarioArgs(['nope.yaml'])).toEqual(['nope.yaml']);
  });

  it("the worst exit code wins: interrupted, keelhaul's error, environment, bad input, a failed check, passed", () => {
    expect(worstExitCode([0, 0])).toBe(0);
    expect(worstExitCode([0, 1, 0])).toBe(1);
    expect(worstExitCode([1, 2])).toBe(2);
    expect(worstExitCode([3, 2, 1])).toBe(3);
    expect(worstExitCode([4, 3])).toBe(4);
    expect(worstExitCode([4, 130, 0])).toBe(130);
    expect(worstExitCode([])).toBe(0);
  });
});
