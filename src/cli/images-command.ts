import { connectDocker } from '../docker/index.js';
import { buildWorkerImage } from '../images/index.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './render.js';

/** Flags of `keelhaul images build`. */
export interface ImagesBuildOptions {
  readonly force?: boolean;
  readonly quiet?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * `keelhaul images build`: builds `keelhaul/worker:<version>` offline from the host's node,
 * its libraries, busybox-static and the compiled worker. An unchanged rebuild returns at
 * once (the image's context-digest label matches).
 */
export async function imagesBuildCommand(options: ImagesBuildOptions, io: CliIo): Promise<ExitCode> {
  const docker = await connectDocker();
  const result = await buildWorkerImage(docker, {
    force: options.force ?? false,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.quiet
      ? {}
      : {
          onProgress: (line: string) => {
            if (line.trim()) io.err(`  ${line}`);
          },
        }),
  });
  io.out(
    result.cached
      ? `image ${result.tag} is up to date (${result.imageId.slice(7, 19)}, context ${result.contextDigest.slice(0, 12)}; --force rebuilds)`
      : `built image ${result.tag} (${result.imageId.slice(7, 19)}) in ${(result.durationMs / 1000).toFixed(1)} s`,
  );
  return ExitCode.ok;
}
