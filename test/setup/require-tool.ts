/**
 * A host tool an integration test needs beyond Docker (docker-compose, chromium). `npm test`
 * installs them first on Debian as root (scripts/test-prerequisites.sh, npm's `pretest`);
 * when one is still missing the test fails with the command that installs it — it never
 * skips, in CI or on a developer's machine.
 */
import { execFileSync } from 'node:child_process';

/** Why a test could not run: the tool, and the command that installs it. */
export class MissingToolError extends Error {
  readonly tool: string;
  constructor(tool: string, install: string, options?: ErrorOptions) {
    super(`\`${tool}\` is not on PATH and this test needs it: run \`${install}\` (or \`bash scripts/test-prerequisites.sh\` as root, which \`npm test\` runs first)`, options);
    this.name = 'MissingToolError';
    this.tool = tool;
  }
}

/**
 * The absolute path of `tool` on PATH.
 * @param install the command a user runs to install it, quoted in the error
 * @throws {MissingToolError} when `command -v tool` finds nothing
 */
export function requireTool(tool: string, install: string): string {
  try {
    return execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { encoding: 'utf8' }).trim();
  } catch (error) {
    throw new MissingToolError(tool, install, { cause: error });
  }
}
