#!/usr/bin/env node
/**
 * The `keelhaul` binary. The only place that calls process.exit. SIGINT/SIGTERM abort the
 * command (a run kills its attempts, removes its resources and writes its report); a second
 * signal exits at once.
 */
import { processIo } from './render.js';
import { runCli } from './program.js';
import { ExitCode } from './exit-codes.js';

const controller = new AbortController();
let signals = 0;
for (const name of ['SIGINT', 'SIGTERM'] as const) {
  process.on(name, () => {
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`keelhaul: second ${name}, exiting without cleanup; run \`keelhaul clean --stale\` later\n`);
      process.exit(ExitCode.interrupted);
    }
    process.stderr.write(`keelhaul: ${name} received, stopping: killing attempts and cleaning up (again to exit at once)\n`);
    controller.abort(new Error(`${name} received`));
  });
}

const code = await runCli(process.argv.slice(2), processIo, controller.signal);
process.exit(code);
