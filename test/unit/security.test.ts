/**
 * Security rules without Docker: the scenario refuses the Docker socket, host networking and
 * privileged mode unless `dangerouslyAllow` names them; secret env values are redacted in
 * text, objects and byte streams (also across chunk boundaries); run and task ids cannot
 * lead out of their directory; the attach demultiplexer honours back-pressure.
 */
import { PassThrough, Writable } from 'node:stream';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertSafeName, MissingSecretError, runDirOf, UnsafePathError } from '../../src/controller/index.js';
import { Redactor, redactorFor, restoreSecretEnv, secretsOf } from '../../src/controller/redaction.js';
import { attemptDirOf, joinInside } from '../../src/controller/run-paths.js';
import { demuxWithBackpressure } from '../../src/docker/demux-stream.js';
import { LineSplitter } from '../../src/backends/line-splitter.js';
import { isDockerSocketPath, parseScenario, ScenarioError, unhardenedBy, validateScenario } from '../../src/scenario/index.js';

const base = 'name: sec\ntasks:\n  count: 1\n  steps:\n    - sleep: 10\n';

function refusal(text: string): ScenarioError {
  try {
    parseScenario(text, 'sec.yaml');
  } catch (error) {
    if (error instanceof ScenarioError) return error;
    throw error;
  }
  throw new Error('expected the scenario to be refused');
}

describe('scenario: what breaks isolation needs dangerouslyAllow', () => {
  it('network: host is refused without dangerouslyAllow.hostNetwork, naming file, line and field', () => {
    const e = refusal(`${base}network: host\n`);
    expect(e.message).toMatch(/sec\.yaml:6:\d+: network: host networking .* dangerouslyAllow: \{ hostNetwork: true \}/);
  });

  it('privileged: true is refused without dangerouslyAllow.privileged', () => {
    const e = refusal(`${base}privileged: true\n`);
    expect(e.issues.map((i) => i.field)).toEqual(['privileged']);
    expect(e.message).toContain('dangerouslyAllow: { privileged: true }');
  });

  it('a mount of the Docker socket, or of a directory holding it, is refused without dangerouslyAllow.dockerSocket', () => {
    for (const source of ['/var/run/docker.sock', '/run/docker.sock', '/var/run', '/run', '/', '/srv/x/docker.sock', '/var/run/']) {
      const e = refusal(`${base}mounts:\n  - { source: ${source}, target: /sock }\n`);
      expect(
        e.issues.map((i) => i.field),
        source,
      ).toEqual(['mounts[0].source']);
      expect(e.message).toContain('dangerouslyAllow: { dockerSocket: true }');
    }
  });

  it("an ordinary host path may be mounted (read-only by default); keelhaul's own targets are refused", () => {
    const s = parseScenario(`${base}mounts:\n  - { source: /usr/share, target: /data }\n`, 'sec.yaml');
    expect(s.mounts).toEqual([{ source: '/usr/share', target: '/data', readOnly: true }]);
    expect(unhardenedBy(s)).toEqual([]);
    expect(refusal(`${base}mounts:\n  - { source: /usr/share, target: /workspace }\n`).issues[0]!.field).toBe('mounts[0].target');
    expect(refusal(`${base}mounts:\n  - { source: relative, target: /data }\n`).issues[0]!.field).toBe('mounts[0].source');
  });

  it('with the opt-in all three are accepted and unhardenedBy names each key', () => {
    const s = parseScenario(
      `${base}network: host\nprivileged: true\nmounts:\n  - { source: /var/run/docker.sock, target: /var/run/docker.sock }\ndangerouslyAllow: { dockerSocket: true, hostNetwork: true, privileged: true }\n`,
      'sec.yaml',
    );
    expect(unhardenedBy(s)).toEqual(['dockerSocket', 'hostNetwork', 'privileged']);
  });

  it('an opt-in for something the scenario does not ask for changes nothing and is not reported', () => {
    const s = parseScenario(`${base}dangerouslyAllow: { privileged: true }\n`, 'sec.yaml');
    expect(s.privileged).toBe(false);
    expect(unhardenedBy(s)).toEqual([]);
  });

  it('dangerouslyAllow takes only true and only its three keys', () => {
    expect(refusal(`${base}dangerouslyAllow: { privileged: false }\n`).issues[0]!.field).toBe('dangerouslyAllow.privileged');
    expect(refusal(`${base}dangerouslyAllow: { everything: true }\n`).message).toContain('unknown field "everything"');
  });

  it('isDockerSocketPath: sockets and the directories that hold them, not unrelated paths', () => {
    expect(isDockerSocketPath('/var/run/docker.sock')).toBe(true);
    expect(isDockerSocketPath('/var')).toBe(true);
    expect(isDockerSocketPath('/home/me/project')).toBe(false);
    expect(isDockerSocketPath('/usr/share')).toBe(false);
  });

  it("env names: KEELHAUL_* is the contract's, and names must be variable names", () => {
    expect(refusal(`${base}env: { KEELHAUL_SEED: "1" }\n`).issues[0]!.field).toBe('env.KEELHAUL_SEED');
    expect(refusal(`${base}env: { "A-B": "1" }\n`).issues[0]!.field).toBe('env.A-B');
  });
});

describe('secrets: redaction', () => {
  it('default patterns: *_KEY, *_TOKEN, *_SECRET, *PASSWORD*, case-insensitive; short values are left alone', () => {
    const env = { API_KEY: 'k-12345', GH_TOKEN: 't-12345', app_secret: 's-12345', DB_PASSWORD_FILE: 'p-12345', PLAIN: 'visible', X_TOKEN: 'abc' };
    const s = validateScenario({ name: 'x', tasks: { count: 1, steps: [{ sleep: 1 }] }, env });
    expect(
      secretsOf(s.env, s.redact.names, s.redact.minLength)
        .map((x) => x.name)
        .sort(),
    ).toEqual(['API_KEY', 'DB_PASSWORD_FILE', 'GH_TOKEN', 'app_secret']);
  });

  it('redact.names replaces the defaults', () => {
    const s = validateScenario({ name: 'x', tasks: { count: 1, steps: [{ sleep: 1 }] }, env: { API_KEY: 'k-12345', MY_CRED: 'c-12345' }, redact: { names: ['MY_*'] } });
    expect(secretsOf(s.env, s.redact.names).map((x) => x.name)).toEqual(['MY_CRED']);
  });

  it('text and value: raw and JSON-escaped forms are replaced, in values and keys, other leaves kept', () => {
    const r = new Redactor([{ name: 'API_TOKEN', value: 'se"cr\\et' }]);
    expect(r.text('a se"cr\\et b')).toBe('a [REDACTED:API_TOKEN] b');
    expect(r.text(JSON.stringify({ line: 'x se"cr\\et y' }))).toBe('{"line":"x [REDACTED:API_TOKEN] y"}');
    const v = r.value({ n: 1, ok: true, nested: [{ reason: 'se"cr\\et' }], ['se"cr\\et']: null });
    expect(v).toEqual({ n: 1, ok: true, nested: [{ reason: '[REDACTED:API_TOKEN]' }], '[REDACTED:API_TOKEN]': null });
  });

  it('a secret that looks like JSON syntax cannot corrupt a serialised object (only string leaves change)', () => {
    const r = new Redactor([{ name: 'X_KEY', value: 'true' }]);
    expect(JSON.parse(JSON.stringify(r.value({ flag: true, s: 'is true' })))).toEqual({ flag: true, s: 'is [REDACTED:X_KEY]' });
  });

  it('stream: a secret split across every possible chunk boundary is still replaced; other bytes pass unchanged', async () => {
    const secret = 'hunter2-ünïcode-9';
    const r = new Redactor([{ name: 'DB_PASSWORD', value: secret }]);
    const input = Buffer.from(`line one\nsays ${secret} twice ${secret}\nend ü\n`);
    for (let cut = 1; cut < input.length; cut++) {
      const stream = r.stream();
      const out: Buffer[] = [];
      stream.on('data', (c: Buffer) => out.push(c));
      const done = new Promise((ok) => stream.on('end', ok));
      stream.write(input.subarray(0, cut));
      stream.end(input.subarray(cut));
      await done;
      expect(Buffer.concat(out).toString()).toBe('line one\nsays [REDACTED:DB_PASSWORD] twice [REDACTED:DB_PASSWORD]\nend ü\n');
    }
  });

  it('redactorFor with no secrets is the identity', () => {
    const r = redactorFor({ env: { PLAIN: 'value' }, redact: { names: ['*_KEY'], minLength: 4 } });
    expect(r.count).toBe(0);
    const o = { a: 'value' };
    expect(r.value(o)).toBe(o);
  });

  it('resume: redacted env values come back from the scenario file, else the environment, else a clear error', async () => {
    const env = { API_TOKEN: '[REDACTED:API_TOKEN]', PLAIN: 'p' };
    expect(await restoreSecretEnv(env, async () => ({ API_TOKEN: 'from-file', PLAIN: 'p' }))).toEqual({ API_TOKEN: 'from-file', PLAIN: 'p' });
    process.env['API_TOKEN'] = 'from-env';
    try {
      expect(await restoreSecretEnv(env, async () => undefined)).toEqual({ API_TOKEN: 'from-env', PLAIN: 'p' });
    } finally {
      delete process.env['API_TOKEN'];
    }
    await expect(restoreSecretEnv(env, async () => undefined)).rejects.toThrow(MissingSecretError);
    await expect(restoreSecretEnv(env, async () => undefined)).rejects.toThrow(/export API_TOKEN=/);
  });
});

describe('paths: names cannot leave their directory', () => {
  const bad: [string, RegExp][] = [
    ['..', /parent or current directory/],
    ['.', /parent or current directory/],
    ['', /empty/],
    ['/etc', /absolute path/],
    ['a/b', /path separator/],
    ['a\\b', /path separator/],
    ['../../etc/passwd', /parent/],
    ['x\0y', /NUL/],
    ['-rf', /letters, digits/],
    ['a b', /letters, digits/],
  ];
  for (const [value, reason] of bad) {
    it(`assertSafeName refuses ${JSON.stringify(value)}, naming the value`, () => {
      expect(() => assertSafeName(value, 'run id')).toThrow(UnsafePathError);
      expect(() => assertSafeName(value, 'run id')).toThrow(reason);
      expect(() => assertSafeName(value, 'run id')).toThrow(`run id ${JSON.stringify(value)} is refused`);
    });
  }

  it('run ids keelhaul makes and task ids a scenario may hold are accepted', () => {
    for (const ok of ['20261122-101530-3fa9', 't-01', 'build.step_2', 'A']) expect(assertSafeName(ok, 'id')).toBe(ok);
  });

  it('runDirOf: a run id goes under the runs directory; a value with / is a directory the user named; NUL is refused', () => {
    expect(runDirOf('20261122-101530-3fa9', '/runs')).toBe(resolve('/runs/20261122-101530-3fa9'));
    expect(runDirOf('./somewhere/run', '/runs')).toBe(resolve('./somewhere/run'));
    expect(() => runDirOf('..', '/runs')).toThrow(UnsafePathError);
    expect(() => runDirOf('/runs/x\0', '/runs')).toThrow(/NUL/);
  });

  it('attemptDirOf stays under attempts/ and refuses unsafe task ids and attempt numbers', () => {
    expect(attemptDirOf('/r', 't-01', 2)).toBe(resolve('/r/attempts/t-01/2'));
    expect(() => attemptDirOf('/r', '..', 1)).toThrow(UnsafePathError);
    expect(() => attemptDirOf('/r', '../../x', 1)).toThrow(UnsafePathError);
    expect(() => attemptDirOf('/r', 't-01', 0)).toThrow(/attempt "0"/);
    expect(() => attemptDirOf('/r', 't-01', 1.5)).toThrow(UnsafePathError);
  });

  it('joinInside refuses a join that resolves outside its base', () => {
    expect(joinInside('/a', 'x', 'b', 'c')).toBe(join(resolve('/a'), 'b', 'c'));
    expect(() => joinInside('/a', 'x', 'b', '..', '..', 'etc')).toThrow(/leads out of/);
  });
});

describe('attach stream demultiplexing with back-pressure', () => {
  const frame = (type: 1 | 2, payload: string): Buffer => {
    const body = Buffer.from(payload);
    const header = Buffer.alloc(8);
    header[0] = type;
    header.writeUInt32BE(body.length, 4);
    return Buffer.concat([header, body]);
  };

  it('frames split at any byte reach stdout and stderr whole and in order', async () => {
    const all = Buffer.concat([frame(1, 'out-1\n'), frame(2, 'err-1\n'), frame(1, 'out-2\n'), frame(1, '')]);
    for (let cut = 1; cut < all.length; cut++) {
      const source = new PassThrough();
      const out = new PassThrough();
      const err = new PassThrough();
      demuxWithBackpressure(source, out, err);
      source.write(all.subarray(0, cut));
      source.end(all.subarray(cut));
      await new Promise((ok) => source.on('end', ok));
      expect(String(out.read() ?? '')).toBe('out-1\nout-2\n');
      expect(String(err.read() ?? '')).toBe('err-1\n');
    }
  });

  it('a slow consumer pauses the source (nothing piles up beyond the high-water mark) and nothing is lost', async () => {
    const source = new PassThrough({ highWaterMark: 1024 });
    const received: Buffer[] = [];
    let buffered = 0;
    let maxBuffered = 0;
    const slow = new Writable({
      highWaterMark: 4096,
      write(chunk: Buffer, _e, callback) {
        received.push(chunk);
        setImmediate(callback);
      },
    });
    const out = new PassThrough({ highWaterMark: 4096 });
    out.pipe(slow);
    demuxWithBackpressure(source, out, new PassThrough());
    const line = 'x'.repeat(1000);
    let written = 0;
    for (let i = 0; i < 2000; i++) {
      if (!source.write(frame(1, `${line}\n`))) await new Promise((ok) => source.once('drain', ok));
      written += line.length + 1;
      buffered = out.writableLength + out.readableLength;
      maxBuffered = Math.max(maxBuffered, buffered);
    }
    source.end();
    await new Promise((ok) => source.on('end', ok));
    out.end();
    await new Promise((ok) => slow.on('finish', ok));
    expect(Buffer.concat(received).length).toBe(written);
    // Without back-pressure the whole 2 MB would sit in `out`'s buffer.
    expect(maxBuffered).toBeLessThan(64 * 1024);
  });
});

describe('stdout line splitting with a bound per line', () => {
  const split = (chunks: string[], max: number): [string, number][] => {
    const out: [string, number][] = [];
    const s = new LineSplitter(max, (line, dropped) => out.push([line, dropped]));
    for (const c of chunks) s.push(Buffer.from(c));
    s.end();
    return out;
  };

  it('lines split at any chunk boundary come out whole, CRLF trimmed, a last line without newline delivered at the end', () => {
    const text = '{"a":1}\r\nplain\n\nlast';
    for (let cut = 0; cut <= text.length; cut++) {
      expect(split([text.slice(0, cut), text.slice(cut)], 1024)).toEqual([
        ['{"a":1}', 0],
        ['plain', 0],
        ['', 0],
        ['last', 0],
      ]);
    }
  });

  it('a line past the bound keeps its first bytes and counts the rest; the next line is whole again', () => {
    const long = 'x'.repeat(10_000);
    const chunks = [long.slice(0, 3000), long.slice(3000), '\nnext\n'];
    expect(split(chunks, 100)).toEqual([
      ['x'.repeat(100), 9_900],
      ['next', 0],
    ]);
  });

  it('memory stays bounded: 50 MiB without a newline holds at most the bound', () => {
    let delivered: [number, number] | undefined;
    const s = new LineSplitter(1024, (line, dropped) => (delivered = [line.length, dropped]));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 800; i++) s.push(chunk);
    s.end();
    expect(delivered).toEqual([1024, 800 * 64 * 1024 - 1024]);
  });
});
