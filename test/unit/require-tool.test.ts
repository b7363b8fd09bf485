import { describe, expect, it } from 'vitest';
import { MissingToolError, requireTool } from '../setup/require-tool.js';

describe("requireTool (the integration tests' host tools)", () => {
  it('finds a tool on PATH', () => {
    expect(requireTool('sh', 'apt-get install -y dash')).toMatch(/\/sh$/);
  });
  it('fails (never skips) for a missing tool, naming the command that installs it', () => {
    const attempt = (): string => requireTool('keelhaul-no-such-tool', 'apt-get install -y keelhaul-no-such-tool');
    expect(attempt).toThrow(MissingToolError);
    expect(attempt).toThrow(/`keelhaul-no-such-tool` is not on PATH.*run `apt-get install -y keelhaul-no-such-tool`/);
  });
  it('does not let a tool name run as shell', () => {
    expect(() => requireTool('sh; echo pwned', 'x')).toThrow(MissingToolError);
  });
});
