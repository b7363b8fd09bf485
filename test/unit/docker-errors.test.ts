/**
 * The Docker layer's errors are decided on the errno and the HTTP status of dockerode's
 * error, never on its words: every fake below carries a message that names nothing.
 */
import { describe, expect, it } from 'vitest';
import {
  DaemonUnavailableError,
  DockerError,
  fromDockerodeError,
  ResourceConflictError,
  ResourceNotFoundError,
  ResourceNotModifiedError,
  TargetUnavailableError,
} from '../../src/docker/errors.js';

/** An error shaped as docker-modem rejects with, its words deliberately meaningless. */
function modemError(statusCode: number, words = 'zzz'): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${words}`), { statusCode, json: { message: words } });
}

const context = { endpoint: '/run/test.sock', operation: 'kill container', resource: 'container c1', containerId: 'c1' };

describe('docker errors: status → typed error', () => {
  it('docker errors: a 404 becomes ResourceNotFoundError with status, reason, resource and container', () => {
    const cause = modemError(404);
    const error = fromDockerodeError(cause, context);
    expect(error).toBeInstanceOf(ResourceNotFoundError);
    expect(error).toMatchObject({ status: 404, reason: 'not-found', resource: 'container c1', containerId: 'c1', operation: 'kill container' });
    expect(error.cause).toBe(cause);
  });

  it("docker errors: a 409 becomes ResourceConflictError, the daemon's words kept only as detail", () => {
    const error = fromDockerodeError(modemError(409, 'qwerty'), context);
    expect(error).toBeInstanceOf(ResourceConflictError);
    expect(error).toMatchObject({ status: 409, reason: 'conflict', resource: 'container c1', containerId: 'c1', detail: 'qwerty' });
  });

  it('docker errors: a 304 becomes ResourceNotModifiedError', () => {
    const error = fromDockerodeError(modemError(304), { ...context, operation: 'stop container' });
    expect(error).toBeInstanceOf(ResourceNotModifiedError);
    expect(error).toMatchObject({ status: 304, reason: 'not-modified', resource: 'container c1' });
  });

  it('docker errors: a 500 stays a plain DockerError with status 500 and reason server-error', () => {
    const error = fromDockerodeError(modemError(500, 'No such container: c1 is not running'), context);
    expect(error.constructor).toBe(DockerError);
    expect(error).toMatchObject({ status: 500, reason: 'server-error', resource: 'container c1', containerId: 'c1' });
    // Whatever the words say, a 500 is not taken for a missing or busy target.
    expect(error).not.toBeInstanceOf(ResourceNotFoundError);
    expect(error).not.toBeInstanceOf(TargetUnavailableError);
  });

  it.each([
    [400, 'bad-request'],
    [403, 'forbidden'],
    [503, 'server-error'],
  ] as const)('docker errors: status %i has reason %s', (status, reason) => {
    expect(fromDockerodeError(modemError(status), context)).toMatchObject({ status, reason });
  });

  it('docker errors: a 404 without a named resource (a list query) is a DockerError with status 404', () => {
    const error = fromDockerodeError(modemError(404), { endpoint: '/s', operation: 'list containers' });
    expect(error.constructor).toBe(DockerError);
    expect(error).toMatchObject({ status: 404, reason: 'not-found', resource: undefined });
  });

  it.each(['ECONNREFUSED', 'ENOENT', 'ECONNRESET'])('docker errors: errno %s means the daemon is unavailable, with no status', (code) => {
    const error = fromDockerodeError(Object.assign(new Error('zzz'), { code }), context);
    expect(error).toBeInstanceOf(DaemonUnavailableError);
    expect(error).toMatchObject({ reason: 'daemon-unavailable', status: undefined, code, daemonSocket: '/run/test.sock' });
  });

  it('docker errors: an aborted request (ping timeout) is DaemonUnavailableError ETIMEDOUT', () => {
    const abort = Object.assign(new Error('zzz'), { name: 'AbortError' });
    expect(fromDockerodeError(abort, context)).toMatchObject({ name: 'DaemonUnavailableError', code: 'ETIMEDOUT' });
  });

  it('docker errors: an error already typed passes through unchanged', () => {
    const typed = new ResourceNotFoundError('network n', { operation: 'remove network' });
    expect(fromDockerodeError(typed, context)).toBe(typed);
  });

  it('docker errors: a DockerError built over a modem error takes its status from the cause', () => {
    const error = new DockerError('x', { operation: 'events', cause: modemError(400) });
    expect(error).toMatchObject({ status: 400, reason: 'bad-request' });
  });

  it('docker errors: TargetUnavailableError names the fault kind, the target, its state and keeps the status and cause', () => {
    const cause = fromDockerodeError(modemError(409), context);
    const error = new TargetUnavailableError('kill', 'c1', { targetState: 'conflict', detail: cause.message, status: 409, cause });
    expect(error).toBeInstanceOf(DockerError);
    expect(error).toMatchObject({
      name: 'TargetUnavailableError',
      kind: 'kill',
      containerId: 'c1',
      targetState: 'conflict',
      status: 409,
      reason: 'target-unavailable',
      resource: 'container c1',
    });
    expect(error.cause).toBe(cause);
    const local = new TargetUnavailableError('pause', 'pid:42', { targetState: 'paused', detail: 'is paused already' });
    expect(local.message).toBe('pause on process pid:42: is paused already');
    expect(local.status).toBeUndefined();
  });
});
