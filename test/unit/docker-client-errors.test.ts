/**
 * The Docker client keeps the daemon's HTTP status: a fake Engine API on a unix socket
 * (node:http, no daemon) answers with a status and a message that names nothing, and the
 * client's typed error says what happened from the status alone.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker, type ContainerSpec, type DockerClient } from '../../src/docker/client.js';
import { DockerError, ImageNotFoundError, ResourceConflictError, ResourceNotFoundError, TargetUnavailableError } from '../../src/docker/errors.js';

/** `METHOD path-without-version` → [status, body]. Anything else: 500. */
const answers = new Map<string, [number, unknown]>([
  ['HEAD /_ping', [200, '']],
  ['GET /_ping', [200, 'OK']],
  ['GET /version', [200, { Version: '24.0.0', ApiVersion: '1.43', Os: 'linux', Arch: 'amd64', KernelVersion: '6' }]],
  ['POST /containers/gone/kill', [404, { message: 'zzz' }]],
  ['POST /containers/busy/kill', [409, { message: 'zzz' }]],
  ['POST /containers/done/stop', [304, '']],
  ['POST /containers/odd/kill', [500, { message: 'No such container: odd is not running' }]],
  ['GET /containers/gone/json', [404, { message: 'zzz' }]],
  ['POST /networks/n1/disconnect', [409, { message: 'zzz' }]],
  ['GET /images/present:1/json', [200, { Id: 'sha256:1', RepoTags: ['present:1'], Size: 1, Created: '' }]],
  ['GET /images/absent:1/json', [404, { message: 'zzz' }]],
  ['POST /containers/create', [404, { message: 'zzz' }]],
]);

let dir: string;
let server: Server;
let docker: DockerClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kh-fake-engine-'));
  const socketPath = join(dir, 'docker.sock');
  server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!.replace(/^\/v\d+\.\d+/, '');
    const [status, body] = answers.get(`${req.method} ${path}`) ?? [500, { message: `unexpected ${req.method} ${path}` }];
    req.resume();
    if (status === 304 || body === '') {
      res.writeHead(status).end();
      return;
    }
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' }).end(text);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  docker = await connectDocker({ host: `unix://${socketPath}`, pingTimeoutMs: 2000 });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const spec = (image: string): ContainerSpec => ({
  name: 'c',
  image,
  labels: {},
  env: {},
  networkMode: 'kh-net',
  mounts: [],
  readonlyRootfs: true,
  capDrop: ['ALL'],
  securityOpt: [],
});

describe("docker client: the daemon's status survives the wrapper", () => {
  it('docker client: 404 on kill is ResourceNotFoundError naming the container', async () => {
    const error = await docker.killContainer('gone', 'SIGKILL').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceNotFoundError);
    expect(error).toMatchObject({ status: 404, reason: 'not-found', resource: 'container gone', containerId: 'gone', operation: 'kill container' });
    expect((error as Error).cause).toMatchObject({ statusCode: 404 });
  });

  it('docker client: 409 on kill is ResourceConflictError', async () => {
    const error = await docker.killContainer('busy', 'SIGKILL').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceConflictError);
    expect(error).toMatchObject({ status: 409, reason: 'conflict', containerId: 'busy' });
  });

  it('docker client: 304 on stop (already stopped) resolves', async () => {
    await expect(docker.stopContainer('done', { timeoutSeconds: 1 })).resolves.toBeUndefined();
  });

  it('docker client: 500 stays a DockerError with status 500 whatever its words', async () => {
    const error = await docker.killContainer('odd', 'SIGKILL').catch((e: unknown) => e);
    expect((error as object).constructor).toBe(DockerError);
    expect(error).toMatchObject({ status: 500, reason: 'server-error', containerId: 'odd' });
    expect(error).not.toBeInstanceOf(TargetUnavailableError);
  });

  it('docker client: 404 on inspect is ResourceNotFoundError', async () => {
    await expect(docker.inspectContainer('gone')).rejects.toBeInstanceOf(ResourceNotFoundError);
  });

  it('docker client: a network disconnect names the container it concerned', async () => {
    const error = await docker.disconnectNetwork('n1', 'c9').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ResourceConflictError', status: 409, resource: 'network n1', containerId: 'c9' });
  });

  it('docker client: 404 on create is ImageNotFoundError when the image is absent, by asking the daemon', async () => {
    await expect(docker.createContainer(spec('absent:1'))).rejects.toBeInstanceOf(ImageNotFoundError);
    await expect(docker.inspectImage('absent:1')).resolves.toBeUndefined();
  });

  it('docker client: 404 on create with the image present names the network', async () => {
    const error = await docker.createContainer(spec('present:1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceNotFoundError);
    expect(error).not.toBeInstanceOf(ImageNotFoundError);
    expect(error).toMatchObject({ status: 404, resource: 'network kh-net (of container c)' });
  });
});
