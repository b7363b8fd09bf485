import { exportAttemptCompose, reproAttempt, type AttemptEnding, type RunEvent } from '../controller/index.js';
import { connectDocker } from '../docker/index.js';
import { UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { renderEvent, type CliIo } from './render.js';

/** Flags of `keelhaul repro`, parsed. */
export interface ReproCommandOptions {
  /** Run id or run directory. */
  readonly run: string;
  readonly task?: string;
  /** Raw `--attempt` text. */
  readonly attempt?: string;
  /** `--export <format> <file>`: the two words after the flag. */
  readonly export?: readonly string[];
  readonly runsDir?: string;
  readonly verbose?: boolean;
  readonly signal?: AbortSignal;
}

function ending(e: AttemptEnding): string {
  return `${e.outcome}, exit ${e.exitCode ?? '?'}${e.reason ? `, ${e.reason}` : ''}`;
}

/**
 * `keelhaul repro <run> [--task T] [--attempt N] [--export compose FILE]`: re-runs one
 * attempt of a run as a new run and says whether its failure reproduced (exit 0 yes, 1 no,
 * 2 bad input); with `--export compose FILE` writes that attempt as a Compose file instead.
 */
export async function reproCommand(options: ReproCommandOptions, io: CliIo): Promise<ExitCode> {
  let attempt: number | undefined;
  if (options.attempt !== undefined) {
    if (!/^[1-9]\d*$/.test(options.attempt)) throw new UsageError('--attempt', `Expected \`--attempt\` to be an integer ≥ 1, got \`${options.attempt}\``);
    attempt = Number(options.attempt);
  }
  const selection = {
    run: options.run,
    ...(options.task !== undefined ? { task: options.task } : {}),
    ...(attempt !== undefined ? { attempt } : {}),
    ...(options.runsDir ? { runsDir: options.runsDir } : {}),
  };
  if (options.export !== undefined) {
    const [format, file, ...rest] = options.export;
    if (format !== 'compose' || file === undefined || rest.length > 0) {
      throw new UsageError('--export', `Expected \`--export compose <file>\`, got \`--export ${options.export.join(' ')}\``);
    }
    // Exporting touches no daemon.
    const written = await exportAttemptCompose({ ...selection, file });
    io.out(`wrote ${written}`);
    return ExitCode.ok;
  }
  const docker = await connectDocker();
  const verbose = options.verbose ?? false;
  const result = await reproAttempt({
    ...selection,
    docker,
    ...(options.signal ? { signal: options.signal } : {}),
    onEvent: (event: RunEvent) => {
      const line = renderEvent(event, { verbose });
      if (line !== undefined && event.type !== 'check.result') io.out(line);
    },
  });
  const { original, repro } = result;
  io.out(`original: ${original.task}#${original.attempt} ${ending(original)}`);
  io.out(`repro:    ${repro.task}#${repro.attempt} ${ending(repro)} (run ${result.run.report.runId}, image ${result.image.slice(0, 19)})`);
  if (options.signal?.aborted) return ExitCode.interrupted;
  if (result.reproduced) {
    io.out('REPRODUCED: same outcome, exit code and reason');
    return ExitCode.ok;
  }
  io.out(`NOT REPRODUCED: ${result.differences.join(', ')} differ`);
  return ExitCode.failed;
}
