/**
 * Registry credentials for a pull (src/docker/registry-auth.ts), from config.json's `auths`
 * as `docker login` writes them; credential helpers are not run (the result says so).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registryAuthFor, registryOf } from '../../src/docker/registry-auth.js';
import type { EndpointFiles } from '../../src/docker/index.js';

const HOME = '/home/u';
const CONFIG = join(HOME, '.docker', 'config.json');

function files(map: Record<string, string>): EndpointFiles {
  return { readText: (path) => map[path], exists: (path) => path in map };
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('registry credentials', () => {
  it('registryOf: the host part of a reference, docker.io otherwise', () => {
    expect(registryOf('busybox')).toBe('docker.io');
    expect(registryOf('library/busybox:1')).toBe('docker.io');
    expect(registryOf('ghcr.io/acme/worker:2')).toBe('ghcr.io');
    expect(registryOf('127.0.0.1:5000/w:1')).toBe('127.0.0.1:5000');
    expect(registryOf('localhost/w')).toBe('localhost');
  });

  it('auths[registry].auth (base64 user:password), and Docker Hub under https://index.docker.io/v1/', () => {
    const config = { auths: { 'ghcr.io': { auth: b64('me:s3cr:et') }, 'https://index.docker.io/v1/': { auth: b64('hub:pw') } } };
    const fs = files({ [CONFIG]: JSON.stringify(config) });
    expect(registryAuthFor('ghcr.io/acme/w:1', {}, fs, HOME).auth).toEqual({ username: 'me', password: 's3cr:et', serveraddress: 'ghcr.io' });
    expect(registryAuthFor('busybox', {}, fs, HOME).auth).toEqual({ username: 'hub', password: 'pw', serveraddress: 'https://index.docker.io/v1/' });
    expect(registryAuthFor('quay.io/x', {}, fs, HOME).auth).toBeUndefined();
  });

  it('an identity token wins; DOCKER_CONFIG moves the file; no file means anonymous', () => {
    const fs = files({ '/cfg/config.json': JSON.stringify({ auths: { 'r.example:443': { identitytoken: 'tok', auth: b64('a:b') } } }) });
    expect(registryAuthFor('r.example:443/w', { DOCKER_CONFIG: '/cfg' }, fs, HOME).auth).toEqual({ identitytoken: 'tok', serveraddress: 'r.example:443' });
    expect(registryAuthFor('r.example:443/w', {}, files({}), HOME)).toEqual({ auth: undefined, note: undefined });
  });

  it('a credential helper is named, not run: anonymous, with a note', () => {
    const fs = files({ [CONFIG]: JSON.stringify({ credHelpers: { 'ghcr.io': 'desktop' } }) });
    const result = registryAuthFor('ghcr.io/acme/w', {}, fs, HOME);
    expect(result.auth).toBeUndefined();
    expect(result.note).toContain('credential helper');
  });

  it('an unparsable config.json is refused, naming it', () => {
    expect(() => registryAuthFor('busybox', {}, files({ [CONFIG]: '{' }), HOME)).toThrow(CONFIG);
  });
});
