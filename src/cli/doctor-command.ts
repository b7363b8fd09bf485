import { access } from 'node:fs/promises';
import { connectDocker, DaemonTlsError, DaemonUnavailableError, describeSource, Label, resolveEndpoint, type DockerClient, type DockerEndpoint } from '../docker/index.js';
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

/** The endpoint as `doctor --json` reports it: where, chosen how, TLS or not. */
export interface DoctorEndpoint {
  /** `unix:///…`, `tcp://host:port`, `ssh://user@host`. */
  readonly host: string;
  /** `option`, `env` (DOCKER_HOST), `context`, `default`. */
  readonly source: DockerEndpoint['source']['kind'];
  /** The source in words: `DOCKER_HOST`, `context "ci" (DOCKER_CONTEXT)`. */
  readonly via: string;
  /** The context's name when the endpoint came from one. */
  readonly context: string | null;
  /** TLS settings, or null for plain HTTP, a unix socket or ssh. */
  readonly tls: { readonly verify: boolean; readonly caFile: string | null; readonly certFile: string | null; readonly keyFile: string | null } | null;
}

/** A one-line description of the endpoint's transport: the TLS files or ssh. */
function transportOf(endpoint: DockerEndpoint): string {
  if (endpoint.scheme === 'ssh') return 'ssh (docker system dial-stdio on the remote host, ssh-agent keys)';
  if (endpoint.scheme === 'unix') return 'unix socket';
  const tls = endpoint.tls;
  if (!tls) return 'plain HTTP, no TLS';
  const client = tls.certFile ? `client certificate ${tls.certFile}` : 'no client certificate';
  return tls.verify ? `TLS, daemon verified against ${tls.caFile ?? "the system's CAs"}, ${client}` : `TLS without verifying the daemon, ${client}`;
}

function doctorEndpoint(endpoint: DockerEndpoint): DoctorEndpoint {
  const tls = endpoint.tls;
  return {
    host: endpoint.host,
    source: endpoint.source.kind,
    via: describeSource(endpoint.source),
    context: endpoint.source.kind === 'context' ? endpoint.source.context : null,
    tls: tls ? { verify: tls.verify, caFile: tls.caFile ?? null, certFile: tls.certFile ?? null, keyFile: tls.keyFile ?? null } : null,
  };
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
  let endpoint: DoctorEndpoint | undefined;
  try {
    // Resolved apart from the connection, so that the endpoint shows even when nothing answers there.
    const resolved = resolveEndpoint();
    endpoint = doctorEndpoint(resolved);
    findings.push({ name: 'docker endpoint', ok: true, detail: `${resolved.host}, from ${endpoint.via}; ${transportOf(resolved)}` });
  } catch (error) {
    findings.push({
      name: 'docker endpoint',
      ok: false,
      detail: error instanceof Error ? error.message : String(error),
      fix: 'Fix DOCKER_HOST / DOCKER_CONTEXT / DOCKER_CERT_PATH (or the current context) as the message says; `docker context ls` lists contexts.',
    });
  }
  try {
    if (!endpoint) throw new Error('no endpoint');
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
      detail:
        error instanceof DaemonUnavailableError
          ? error instanceof DaemonTlsError
            ? error.message
            : `nothing answers at ${error.daemonSocket} (${error.code ?? 'error'})`
          : endpoint
            ? String(error)
            : 'unknown: the endpoint cannot be resolved',
      fix:
        error instanceof DaemonTlsError
          ? 'Use the ca.pem, cert.pem and key.pem made for this daemon (DOCKER_CERT_PATH, or the context).'
          : 'Start one with `bash scripts/docker-up.sh` (installs docker.io on Debian as root), or set DOCKER_HOST or DOCKER_CONTEXT.',
    });
  }
  // A private daemon builds keelhaul's worker image itself, but copies any other image from this daemon (docs/private-daemon.md).
  const scenarioImage = scenario ? expandImageVersion(scenario.image) : undefined;
  const tag = scenarioImage && (scenario?.daemon.mode !== 'private' || !scenarioImage.startsWith(`${WORKER_IMAGE_REPOSITORY}:`)) ? scenarioImage : workerImageTag();
  if (docker) {
    const image = await docker.inspectImage(tag);
    // A run pulls what the daemon lacks (scenario `pull`), except keelhaul's own worker image, which is built.
    const pullable = scenario !== undefined && scenario.pull !== 'never' && tag !== workerImageTag() && scenario.daemon.mode !== 'private';
    findings.push(
      !image && pullable
        ? { name: 'worker image', ok: true, detail: `${tag} is not on the daemon yet; the run pulls it (pull: ${scenario.pull})` }
        : image
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
    io.out(JSON.stringify({ ready, ...(options.scenarioPath !== undefined ? { scenario: options.scenarioPath } : {}), endpoint: endpoint ?? null, findings }));
    return ready ? ExitCode.ok : ExitCode.environment;
  }
  for (const f of findings) {
    io.out(`${f.ok ? 'ok  ' : 'MISS'} ${f.name.padEnd(15)} ${f.detail}`);
    if (!f.ok && f.fix) io.out(`     ${''.padEnd(15)} → ${f.fix}`);
  }
  io.out(ready ? 'keelhaul is ready: `keelhaul run chaos/smoke.yaml`' : 'keelhaul cannot run yet: fix the lines marked MISS.');
  return ready ? ExitCode.ok : ExitCode.environment;
}
