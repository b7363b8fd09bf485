/**
 * Endpoint resolution (src/docker/endpoint.ts) as the docker CLI resolves it: precedence of
 * an explicit host or context, DOCKER_HOST, DOCKER_CONTEXT, config.json's currentContext and
 * the default socket; TLS from the environment or a context's store; every refusal naming the
 * endpoint and the file or context at fault. Pure: the environment and the files are maps.
 */
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  contextId,
  DaemonTlsError,
  DaemonUnavailableError,
  EndpointError,
  fromDockerodeError,
  knownHostKeys,
  reconnectRequest,
  resolveDockerEndpoint,
  type EndpointEnv,
  type EndpointFiles,
} from '../../src/docker/index.js';

const HOME = '/home/u';
const CONFIG = join(HOME, '.docker');
const KNOWN_HOSTS = join(HOME, '.ssh', 'known_hosts');
/** known_hosts entries for the ssh hosts these tests name. */
const known = { [KNOWN_HOSTS]: 'box ssh-ed25519 AAAAbox\nh ssh-ed25519 AAAAh\n[build-1]:2222 ssh-ed25519 AAAAbuild\n' };

function files(map: Record<string, string>): EndpointFiles {
  return { readText: (path) => map[path], exists: (path) => path in map };
}

/** A context in the store under `configDir`, with the given TLS files. */
function context(configDir: string, name: string, host: string, options: { skipTlsVerify?: boolean; tls?: string[] } = {}): Record<string, string> {
  const id = contextId(name);
  const entries: Record<string, string> = {
    [join(configDir, 'contexts', 'meta', id, 'meta.json')]: JSON.stringify({
      Name: name,
      Metadata: {},
      Endpoints: { docker: { Host: host, SkipTLSVerify: options.skipTlsVerify ?? false } },
    }),
  };
  for (const file of options.tls ?? []) entries[join(configDir, 'contexts', 'tls', id, 'docker', file)] = 'PEM';
  return entries;
}

function resolve(env: EndpointEnv, fs: Record<string, string> = {}, request: { host?: string; context?: string } = {}) {
  return resolveDockerEndpoint(request, env, files(fs), HOME);
}

function thrown(fn: () => unknown): EndpointError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EndpointError);
    return error as EndpointError;
  }
  throw new Error('expected an EndpointError');
}

describe('endpoint precedence', () => {
  const store = {
    ...context(CONFIG, 'ctx-env', 'tcp://10.0.0.2:2375'),
    ...context(CONFIG, 'ctx-current', 'tcp://10.0.0.3:2375'),
    [join(CONFIG, 'config.json')]: JSON.stringify({ currentContext: 'ctx-current' }),
  };

  it('nothing set: the default socket', () => {
    const e = resolve({});
    expect(e).toMatchObject({
      host: 'unix:///var/run/docker.sock',
      scheme: 'unix',
      socketPath: '/var/run/docker.sock',
      display: '/var/run/docker.sock',
      source: { kind: 'default' },
      tls: undefined,
    });
  });

  it('currentContext in config.json when nothing else is set', () => {
    const e = resolve({}, store);
    expect(e.host).toBe('tcp://10.0.0.3:2375');
    expect(e.source).toMatchObject({ kind: 'context', context: 'ctx-current', via: 'currentContext' });
  });

  it('DOCKER_CONTEXT wins over currentContext', () => {
    const e = resolve({ DOCKER_CONTEXT: 'ctx-env' }, store);
    expect(e.host).toBe('tcp://10.0.0.2:2375');
    expect(e.source).toMatchObject({ kind: 'context', context: 'ctx-env', via: 'DOCKER_CONTEXT' });
  });

  it('DOCKER_HOST wins over DOCKER_CONTEXT and currentContext', () => {
    const e = resolve({ DOCKER_HOST: 'unix:///run/other.sock', DOCKER_CONTEXT: 'ctx-env' }, store);
    expect(e).toMatchObject({ host: 'unix:///run/other.sock', source: { kind: 'env' } });
  });

  it('an explicit host or context wins over the environment; both at once is refused, as the CLI refuses -H with --context', () => {
    expect(resolve({ DOCKER_HOST: 'tcp://1.2.3.4:2375' }, store, { host: '/tmp/p.sock' })).toMatchObject({ host: 'unix:///tmp/p.sock', source: { kind: 'option' } });
    expect(resolve({ DOCKER_HOST: 'tcp://1.2.3.4:2375' }, store, { context: 'ctx-env' })).toMatchObject({
      host: 'tcp://10.0.0.2:2375',
      source: { kind: 'context', via: 'option' },
    });
    expect(thrown(() => resolve({}, store, { host: '/a.sock', context: 'ctx-env' })).problem).toBe('conflicting-options');
  });

  it('the `default` context is the default socket (or DOCKER_HOST when the context is named explicitly)', () => {
    expect(resolve({ DOCKER_CONTEXT: 'default' }, store)).toMatchObject({ host: 'unix:///var/run/docker.sock', source: { kind: 'context', context: 'default', metaFile: null } });
    expect(resolve({ DOCKER_HOST: 'tcp://h:1' }, {}, { context: 'default' }).host).toBe('tcp://h:1');
  });

  it('DOCKER_CONFIG moves config.json and the context store', () => {
    const other = '/etc/kh-docker';
    const e = resolve({ DOCKER_CONFIG: other }, { ...context(other, 'c', 'ssh://me@box'), [join(other, 'config.json')]: '{"currentContext":"c"}', ...store, ...known });
    expect(e).toMatchObject({ host: 'ssh://me@box', scheme: 'ssh', username: 'me', hostname: 'box', port: undefined, source: { context: 'c' } });
  });

  it('empty variables count as unset (the CLI tests for "")', () => {
    expect(resolve({ DOCKER_HOST: '', DOCKER_CONTEXT: '' }, store).source).toMatchObject({ kind: 'context', context: 'ctx-current' });
  });

  it('reconnectRequest: a context by name (its TLS lives in the store), anything else by host', () => {
    expect(reconnectRequest(resolve({ DOCKER_CONTEXT: 'ctx-env' }, store))).toEqual({ context: 'ctx-env' });
    expect(reconnectRequest(resolve({ DOCKER_HOST: 'tcp://h:2375' }))).toEqual({ host: 'tcp://h:2375' });
    expect(reconnectRequest(resolve({ DOCKER_CONTEXT: 'default' }))).toEqual({ host: 'unix:///var/run/docker.sock' });
  });
});

describe('endpoint refusals name what is wrong', () => {
  it('an unknown context: named, with where it came from and the meta.json looked for', () => {
    const e = thrown(() => resolve({ DOCKER_CONTEXT: 'nope' }));
    expect(e).toMatchObject({ problem: 'unknown-context', context: 'nope', path: join(CONFIG, 'contexts', 'meta', contextId('nope'), 'meta.json') });
    expect(e.message).toContain('"nope"');
    expect(e.message).toContain('DOCKER_CONTEXT');
    expect(e.message).toContain('docker context ls');
    const current = thrown(() => resolve({}, { [join(CONFIG, 'config.json')]: '{"currentContext":"gone"}' }));
    expect(current.message).toContain('docker context use default');
  });

  it('an unparsable config.json or meta.json, and a context without a docker endpoint', () => {
    expect(thrown(() => resolve({}, { [join(CONFIG, 'config.json')]: '{' })).problem).toBe('bad-config');
    const meta = join(CONFIG, 'contexts', 'meta', contextId('x'), 'meta.json');
    expect(thrown(() => resolve({ DOCKER_CONTEXT: 'x' }, { [meta]: 'nope' })).problem).toBe('bad-context');
    expect(thrown(() => resolve({ DOCKER_CONTEXT: 'x' }, { [meta]: '{"Endpoints":{}}' })).problem).toBe('bad-context');
  });

  it('schemes keelhaul cannot use, and malformed hosts', () => {
    expect(thrown(() => resolve({ DOCKER_HOST: 'npipe:////./pipe/docker_engine' })).problem).toBe('unsupported-scheme');
    expect(thrown(() => resolve({ DOCKER_HOST: 'fd://' })).problem).toBe('unsupported-scheme');
    expect(thrown(() => resolve({ DOCKER_HOST: 'ftp://h' })).problem).toBe('unsupported-scheme');
    const path = thrown(() => resolve({ DOCKER_HOST: 'tcp://h:2375/prefix' }));
    expect(path).toMatchObject({ problem: 'invalid-host', via: 'DOCKER_HOST', endpoint: 'tcp://h:2375/prefix' });
    expect(thrown(() => resolve({ DOCKER_HOST: 'ssh://u:secret@h' })).message).toContain('ssh-agent');
  });
});

describe('host forms', () => {
  it('unix://, a bare path, tcp://, a bare host:port, http://, ssh:// with user and port', () => {
    expect(resolve({ DOCKER_HOST: 'unix://' }).socketPath).toBe('/var/run/docker.sock');
    expect(resolve({ DOCKER_HOST: '/run/d.sock' })).toMatchObject({ host: 'unix:///run/d.sock', display: '/run/d.sock' });
    expect(resolve({ DOCKER_HOST: 'tcp://10.1.1.1:2375' })).toMatchObject({ host: 'tcp://10.1.1.1:2375', hostname: '10.1.1.1', port: 2375, display: 'tcp://10.1.1.1:2375' });
    expect(resolve({ DOCKER_HOST: 'docker:2375' })).toMatchObject({ host: 'tcp://docker:2375', scheme: 'tcp' });
    expect(resolve({ DOCKER_HOST: 'http://h:1234' }).host).toBe('tcp://h:1234');
    expect(resolve({ DOCKER_HOST: 'ssh://deploy@build-1:2222' }, known)).toMatchObject({
      scheme: 'ssh',
      username: 'deploy',
      hostname: 'build-1',
      port: 2222,
      host: 'ssh://deploy@build-1:2222',
      sshHostKeys: ['AAAAbuild'],
    });
  });

  it('tcp:// without a port: 2375 in the clear, 2376 with TLS', () => {
    expect(resolve({ DOCKER_HOST: 'tcp://h' }).port).toBe(2375);
    const tls = resolve({ DOCKER_HOST: 'tcp://h', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/c' }, { '/c/ca.pem': 'x' });
    expect(tls).toMatchObject({ port: 2376, host: 'tcp://h:2376' });
  });
});

describe('TLS from the environment', () => {
  const certs = { '/certs/ca.pem': 'x', '/certs/cert.pem': 'x', '/certs/key.pem': 'x' };

  it('DOCKER_TLS_VERIFY + DOCKER_CERT_PATH: verify against ca.pem, with the client pair', () => {
    const e = resolve({ DOCKER_HOST: 'tcp://127.0.0.1:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' }, certs);
    expect(e.tls).toEqual({ verify: true, caFile: '/certs/ca.pem', certFile: '/certs/cert.pem', keyFile: '/certs/key.pem', dir: '/certs' });
  });

  it('any non-empty DOCKER_TLS_VERIFY turns verification on, as the CLI reads it (even "0")', () => {
    expect(resolve({ DOCKER_HOST: 'tcp://h:1', DOCKER_TLS_VERIFY: '0', DOCKER_CERT_PATH: '/certs' }, certs).tls?.verify).toBe(true);
  });

  it('DOCKER_CERT_PATH unset: the config directory (~/.docker, or DOCKER_CONFIG)', () => {
    const e = resolve({ DOCKER_HOST: 'tcp://h:1', DOCKER_TLS_VERIFY: '1' }, { [join(CONFIG, 'ca.pem')]: 'x' });
    expect(e.tls).toMatchObject({ dir: CONFIG, caFile: join(CONFIG, 'ca.pem'), certFile: undefined });
    expect(resolve({ DOCKER_HOST: 'tcp://h:1', DOCKER_TLS_VERIFY: '1', DOCKER_CONFIG: '/cfg' }, { '/cfg/ca.pem': 'x' }).tls?.dir).toBe('/cfg');
  });

  it('DOCKER_TLS alone: TLS without verifying the daemon', () => {
    expect(resolve({ DOCKER_HOST: 'tcp://h:1', DOCKER_TLS: '1', DOCKER_CERT_PATH: '/none' }).tls).toMatchObject({ verify: false, caFile: undefined });
  });

  it('no TLS variable: plain HTTP even with DOCKER_CERT_PATH set (the CLI needs DOCKER_TLS_VERIFY)', () => {
    expect(resolve({ DOCKER_HOST: 'tcp://h:1', DOCKER_CERT_PATH: '/certs' }, certs).tls).toBeUndefined();
  });

  it('TLS variables do not apply to unix or ssh endpoints', () => {
    expect(resolve({ DOCKER_HOST: 'unix:///x.sock', DOCKER_TLS_VERIFY: '1' }).tls).toBeUndefined();
    expect(resolve({ DOCKER_HOST: 'ssh://h', DOCKER_TLS_VERIFY: '1' }, known).tls).toBeUndefined();
  });

  it('a missing ca.pem is refused, naming its path and the endpoint', () => {
    const e = thrown(() => resolve({ DOCKER_HOST: 'tcp://127.0.0.1:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/nowhere' }));
    expect(e).toMatchObject({ problem: 'missing-file', path: '/nowhere/ca.pem', endpoint: 'tcp://127.0.0.1:2376', via: 'DOCKER_HOST' });
    expect(e.message).toContain('/nowhere/ca.pem');
  });

  it('no client pair is allowed (the daemon decides); half a pair is refused, naming the missing file', () => {
    expect(resolve({ DOCKER_HOST: 'tcp://h:1', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/c' }, { '/c/ca.pem': 'x' }).tls).toMatchObject({
      certFile: undefined,
      keyFile: undefined,
    });
    const e = thrown(() => resolve({ DOCKER_HOST: 'tcp://h:1', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/c' }, { '/c/ca.pem': 'x', '/c/cert.pem': 'x' }));
    expect(e).toMatchObject({ problem: 'missing-file', path: '/c/key.pem' });
  });
});

describe("TLS from a context's store", () => {
  it('files in contexts/tls/<sha256>/docker turn TLS on, verified unless SkipTLSVerify', () => {
    const dir = join(CONFIG, 'contexts', 'tls', contextId('dind'), 'docker');
    const e = resolve({ DOCKER_CONTEXT: 'dind' }, context(CONFIG, 'dind', 'tcp://docker:2376', { tls: ['ca.pem', 'cert.pem', 'key.pem'] }));
    expect(e.tls).toEqual({ verify: true, caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), dir });
    const skip = resolve({ DOCKER_CONTEXT: 'dind' }, context(CONFIG, 'dind', 'tcp://docker:2376', { skipTlsVerify: true }));
    expect(skip.tls).toMatchObject({ verify: false, caFile: undefined });
  });

  it("no TLS files and no SkipTLSVerify: plain HTTP; the environment's TLS variables do not apply to a context", () => {
    expect(resolve({ DOCKER_CONTEXT: 'plain', DOCKER_TLS_VERIFY: '1' }, context(CONFIG, 'plain', 'tcp://h:2375')).tls).toBeUndefined();
  });

  it('the context id is the hex SHA-256 of its name (docker CLI store layout)', () => {
    expect(contextId('default')).toBe('37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f');
  });
});

describe('TLS failures become DaemonTlsError, naming the endpoint', () => {
  it('by Node error code, never by message', () => {
    const required = fromDockerodeError(Object.assign(new Error('x'), { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }), {
      endpoint: 'tcp://h:2376',
      operation: 'ping',
      via: 'DOCKER_HOST',
    });
    expect(required).toBeInstanceOf(DaemonTlsError);
    expect(required).toBeInstanceOf(DaemonUnavailableError);
    expect(required).toMatchObject({ tlsProblem: 'client-certificate-required', daemonSocket: 'tcp://h:2376', via: 'DOCKER_HOST' });
    expect(required.message).toContain('tcp://h:2376 (DOCKER_HOST)');
    expect(fromDockerodeError(Object.assign(new Error('x'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }), { endpoint: 'e', operation: 'ping' })).toMatchObject({
      tlsProblem: 'daemon-certificate-untrusted',
    });
    expect(fromDockerodeError(Object.assign(new Error('x'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), { endpoint: 'e', operation: 'ping' })).toMatchObject({
      tlsProblem: 'daemon-name-mismatch',
    });
    expect(fromDockerodeError(Object.assign(new Error('x'), { code: 'ERR_SSL_SOMETHING_NEW' }), { endpoint: 'e', operation: 'ping' })).toMatchObject({
      tlsProblem: 'handshake-failed',
    });
    expect(fromDockerodeError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), { endpoint: 'tcp://h:1', operation: 'ping' })).not.toBeInstanceOf(DaemonTlsError);
  });
});

describe('ssh host keys (known_hosts)', () => {
  it('plain and [host]:port entries, hashed entries, markers and comments skipped', () => {
    const salt = Buffer.from('0123456789abcdef0123');
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[10.0.0.9]:2200').digest('base64')}`;
    const text = [
      '# comment',
      'a.example,b.example ssh-ed25519 KEY1',
      '[a.example]:2200 ssh-rsa KEY2',
      `${hashed} ssh-ed25519 KEY3`,
      '@revoked a.example ssh-ed25519 KEY4',
      '',
    ].join('\n');
    expect(knownHostKeys(text, 'b.example', 22)).toEqual(['KEY1']);
    expect(knownHostKeys(text, 'a.example', 2200)).toEqual(['KEY2']);
    expect(knownHostKeys(text, '10.0.0.9', 2200)).toEqual(['KEY3']);
    expect(knownHostKeys(text, 'c.example', 22)).toEqual([]);
  });

  it('an ssh host in no known_hosts file is refused, saying how to add it; /etc/ssh/ssh_known_hosts counts too', () => {
    const e = thrown(() => resolve({ DOCKER_HOST: 'ssh://root@127.0.0.1:2201' }));
    expect(e).toMatchObject({ problem: 'unknown-host-key', endpoint: 'ssh://root@127.0.0.1:2201', via: 'DOCKER_HOST' });
    expect(e.message).toContain('ssh-keyscan -p 2201 127.0.0.1');
    expect(resolve({ DOCKER_HOST: 'ssh://root@127.0.0.1:2201' }, { '/etc/ssh/ssh_known_hosts': '[127.0.0.1]:2201 ssh-ed25519 K' }).sshHostKeys).toEqual(['K']);
  });
});
