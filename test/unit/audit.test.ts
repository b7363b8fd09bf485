import { describe, expect, it } from 'vitest';
import { auditContainer } from '../../src/controller/audit.js';
import { Label, type ContainerInfo } from '../../src/docker/index.js';

const labels = { [Label.run]: 'r', [Label.role]: 'worker', [Label.controllerPid]: '1', [Label.controllerStart]: '2' };
const hardened = (
  overrides: { hostConfig?: Partial<ContainerInfo['hostConfig']>; user?: string; labels?: Record<string, string>; mounts?: ContainerInfo['mounts'] } = {},
): ContainerInfo =>
  ({
    id: 'c1',
    name: 'kh-r-t-a1',
    image: 'img',
    imageId: 'sha256:x',
    labels: overrides.labels ?? labels,
    state: { status: 'running', running: true, paused: false, exitCode: 0, oomKilled: false, pid: 10, startedAt: '', finishedAt: '' },
    hostConfig: {
      networkMode: 'none',
      readonlyRootfs: true,
      capDrop: ['ALL'],
      securityOpt: ['no-new-privileges'],
      memoryBytes: 1 << 28,
      pidsLimit: 128,
      privileged: false,
      ...overrides.hostConfig,
    },
    user: overrides.user ?? '1000:1000',
    mounts: overrides.mounts ?? [],
    networks: [],
    networkAddresses: {},
  }) as ContainerInfo;

describe('audit: an attempt container against its labels and the hardening defaults', () => {
  it('audit: a hardened, labelled container has no problem', () => {
    expect(auditContainer(hardened(), labels, 'none')).toEqual([]);
  });

  it('audit: controller labels of an earlier controller pass; a missing one does not', () => {
    expect(auditContainer(hardened({ labels: { ...labels, [Label.controllerPid]: '99' } }), labels, 'none')).toEqual([]);
    const { [Label.controllerStart]: _, ...without } = labels;
    expect(auditContainer(hardened({ labels: without }), labels, 'none')).toEqual([`label ${Label.controllerStart} is missing`]);
  });

  it('audit: each weakened default is named', () => {
    const problems = auditContainer(
      hardened({ user: 'root', hostConfig: { capDrop: [], securityOpt: [], readonlyRootfs: false, memoryBytes: 0, pidsLimit: 0, networkMode: 'bridge', privileged: true } }),
      labels,
      'none',
    );
    expect(problems).toEqual([
      'runs as user "root", expected non-root',
      'CapDrop is [], expected ALL',
      'no-new-privileges is not set',
      'the root filesystem is writable',
      'no memory limit',
      'no pids limit',
      'NetworkMode is bridge, expected none',
      'runs privileged',
    ]);
  });

  it('audit: dangerouslyAllow lets the Docker socket, privileged and the host network through', () => {
    const info = hardened({
      hostConfig: { networkMode: 'host', privileged: true },
      mounts: [{ type: 'bind', source: '/var/run/docker.sock', destination: '/var/run/docker.sock', name: '' }],
    });
    expect(auditContainer(info, labels, 'host')).toEqual(['the Docker socket is mounted', 'runs privileged', "shares the host's network stack (NetworkMode host)"]);
    expect(auditContainer(info, labels, 'host', { dockerSocket: true, privileged: true, hostNetwork: true })).toEqual([]);
  });
});
