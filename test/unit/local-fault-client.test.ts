/**
 * The local backend as a fault target, without launching anything: the injector's view is
 * the label query alone, and a target that is not there is the same TargetUnavailableError
 * the Docker actions throw.
 */
import { describe, expect, it } from 'vitest';
import { LocalBackend, LocalFaultError, localFaultClient } from '../../src/backends/local-backend.js';
import { TargetUnavailableError } from '../../src/docker/errors.js';
import { faultSchema } from '../../src/scenario/schema.js';

const backend = new LocalBackend({ runId: 'r1', runDir: '/nonexistent/kh-local-unit', network: 'none' });
const kill = faultSchema.parse({ kind: 'kill', trigger: { at: 0 } });
const restart = faultSchema.parse({ kind: 'restart', trigger: { at: 0 } });

describe('local backend: fault target', () => {
  it('local backend: its fault client is the label query and nothing else', async () => {
    const client = localFaultClient(backend);
    expect(Object.keys(client)).toEqual(['listContainers']);
    await expect(client.listContainers({ labels: {}, status: 'running' })).resolves.toEqual([]);
  });

  it('local backend: a fault on an attempt that is not there is a TargetUnavailableError (not-found)', async () => {
    const error = await backend.applyFault(kill, 'pid:999999').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetUnavailableError);
    expect(error).toMatchObject({ kind: 'kill', containerId: 'pid:999999', targetState: 'not-found', reason: 'target-unavailable', status: undefined });
    expect((error as Error).message).toBe('kill on process pid:999999: does not exist');
    // Checked before the kind: a kind with no local equivalent on a live attempt is LocalFaultError.
    await expect(backend.applyFault(restart, 'pid:999999')).rejects.not.toBeInstanceOf(LocalFaultError);
  });
});
