import { access } from 'node:fs/promises';
import { connectDocker, DaemonUnavailableError, Label, type DockerClient } from '../docker/index.js';
import { workerImageTag, WORKER_IMAGE_REPOSITORY } from '../images/index.js';
import { expandImageVersion, keelhaulVersion } from '../version.js';
import { loadScenarioFile } from '../scenario/index.js';
import { ExitCode } from './exit-codes.js';
import { hostRequirements } from './host-requirements.js';
import type { CliIo } from './render.js';

/** One line of the doctor's findings. */
export interface DoctorFinding {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** What to do when not ok. */
  readonly fix?: string;
}

/**
 * `keelhaul doctor [scenario] [--json]`: whether a daemon answers (its version and API
 * version), whether the worker image exists (the scenario's image, when given), what the
 * scenario needs from this host ({@link hostRequirements}), and what to do about whatever
 * is missing. Exit 0 when keelhaul can run, 3 when it cannot, 2 for an invalid scenario.
 */
export async function doctorCommand(io: CliIo, options: { scenarioPath?: string; json?: boolean } = {}): Promise<ExitCode> {
  const scenario = options.scenarioPath !== undefined ? await loadScenarioFile(options.scenarioPath) : undefined;
  const findings: DoctorFinding[] = [];
  findings.push({ name: 'keelhaul', ok: true, detail: `${keelhaulVersion} on Node ${process.version}` });
  let docker: DockerClient | undefined;
  try {
    docker = await connectDocker();
    const v = await docker.version();
    findings.push({
      name: 'docker daemon',
      ok: true,
      detail: `Docker ${v.version} at ${docker.endpoint}, API ${v.apiVersion} (using ${v.negotiatedApiVersion}), ${v.os}/${v.arch}`,
    });
  } catch (error) {
    findings.push({
      name: 'docker daemon',
      ok: false,
      detail: error instanceof DaemonUnavailableError ? `nothing answers at ${error.daemonSocket} (${error.code ?? 'error'})` : String(error),
      fix: 'Start one with `bash scripts/docker-up.sh` (installs docker.io on Debian as root), or set DOCKER_HOST.',
    });
  }
  // A private daemon builds keelhaul's worker image itself, but copies any other image from this daemon (docs/private-daemon.md).
  const scenarioImage = scenario ? expandImageVersion(scenario.image) : undefined;
  const tag = scenarioImage && (scenario?.daemon.mode !== 'private' || !scenarioImage.startsWith(`${WORKER_IMAGE_REPOSITORY}:`)) ? scenarioImage : workerImageTag();
  if (docker) {
    const image = await docker.inspectImage(tag);
    findings.push(
      image
        ? {
            name: 'worker image',
            ok: true,
            detail: `${tag} (${image.id.slice(7, 19)}, ${(image.size / 1024 ** 2).toFixed(0)} MB, context ${image.labels[Label.contextDigest]?.slice(0, 12) ?? 'unknown'})`,
          }
        : {
            name: 'worker image',
            ok: false,
            detail: `${tag} is missing`,
            fix:
              tag === workerImageTag()
                ? 'Build it with `keelhaul images build` (offline; needs busybox-static and `npm run build`).'
                : `Build or load ${tag} on this daemon (docker build / docker load)${scenario?.daemon.mode === 'private' ? '; the private daemon gets it from here' : ''}.`,
          },
    );
  } else {
    findings.push({ name: 'worker image', ok: false, detail: 'unknown: no daemon', fix: 'Start a daemon first.' });
  }
  const busybox = await access('/bin/busybox').then(
    () => true,
    () => false,
  );
  findings.push(
    busybox
      ? { name: 'busybox-static', ok: true, detail: '/bin/busybox' }
      : { name: 'busybox-static', ok: false, detail: '/bin/busybox is missing (needed to build the worker image)', fix: 'apt-get install busybox-static' },
  );

  if (scenario) {
    for (const r of await hostRequirements(scenario)) {
      findings.push({
        name: r.need,
        // A requirement whose absence only degrades the run (an unguarded internal network) is reported, not failed.
        ok: r.met || r.without === 'degraded',
        detail: `${r.met ? 'present' : 'missing'}, for ${r.for.join(', ')}${!r.met && r.without === 'degraded' ? ' (the run goes on, reported unguarded)' : ''}`,
        ...(r.fix ? { fix: r.fix } : {}),
      });
    }
  }
  const ready = findings.every((f) => f.ok);
  if (options.json) {
    io.out(JSON.stringify({ ready, ...(options.scenarioPath !== undefined ? { scenario: options.scenarioPath } : {}), findings }));
    return ready ? ExitCode.ok : ExitCode.environment;
  }
  for (const f of findings) {
    io.out(`${f.ok ? 'ok  ' : 'MISS'} ${f.name.padEnd(15)} ${f.detail}`);
    if (!f.ok && f.fix) io.out(`     ${''.padEnd(15)} → ${f.fix}`);
  }
  io.out(ready ? 'keelhaul is ready: `keelhaul run chaos/smoke.yaml`' : 'keelhaul cannot run yet: fix the lines marked MISS.');
  return ready ? ExitCode.ok : ExitCode.environment;
}
