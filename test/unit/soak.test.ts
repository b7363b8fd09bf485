import { describe, expect, it, vi } from 'vitest';

// No Docker daemon in unit tests: a soak that got as far as connecting would hit this.
vi.mock('../../src/docker/index.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/docker/index.js')>();
  return {
    ...actual,
    connectDocker: vi.fn(async () => {
      throw new actual.DaemonUnavailableError('/test/no-daemon.sock', { operation: 'ping', code: 'ENOENT' });
    }),
  };
});

const { connectDocker } = await import('../../src/docker/index.js');
const { judgeGrowth, median, summarizeSoak, DEFAULT_SOAK_BOUNDS } = await import('../../src/soak/index.js');
const { renderSoakMarkdown } = await import('../../src/soak/index.js');
const { runCli } = await import('../../src/cli/program.js');
type SoakIteration = import('../../src/soak/index.js').SoakIteration;
type SoakSample = import('../../src/soak/index.js').SoakSample;

const MiB = 1024 * 1024;

function sample(over: Partial<SoakSample> = {}): SoakSample {
  return {
    ts: '2026-11-22T04:00:00.000Z',
    controllerRssBytes: 100 * MiB,
    heapUsedBytes: 20 * MiB,
    openFds: 29,
    dockerdRssBytes: 90 * MiB,
    soakResources: 0,
    labelledResources: 0,
    ...over,
  };
}

function iteration(index: number, over: Partial<SoakIteration> = {}, sampleOver: Partial<SoakSample> = {}): SoakIteration {
  return {
    index,
    runId: `r-${index}`,
    seed: index,
    status: 'passed',
    durationMs: 5000,
    failedChecks: [],
    leaked: { containers: [], networks: [], volumes: [] },
    sample: sample(sampleOver),
    ...over,
  };
}

function summarize(iterations: SoakIteration[], phase: 'running' | 'interrupted' | 'finished' = 'finished') {
  return summarizeSoak({
    scenario: 's',
    scenarioFile: null,
    startedAt: '2026-11-22T04:00:00.000Z',
    durationMs: 120_000,
    elapsedMs: 120_000,
    phase,
    bounds: DEFAULT_SOAK_BOUNDS,
    warmup: 2,
    minSamples: 6,
    dockerdPid: 1,
    baseline: sample(),
    iterations,
  });
}

describe('soak growth (window medians)', () => {
  it('soak: a finished soak with no iteration fails (`--duration 5` is 5 ms and proves nothing); one still running does not', () => {
    const none = summarize([]);
    expect(none.status).toBe('failed');
    expect(none.failures.join('\n')).toMatch(/no iteration ran in the 120000 ms asked for: give --duration a unit/);
    expect(summarize([], 'running').status).toBe('running');
  });

  it('soak growth: median of odd and even lists; none throws', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });

  it('soak growth: a noisy flat series with a spike in the last sample passes (first-vs-last would fail it)', () => {
    const values = [50, 80, 100, 104, 98, 101, 99, 103, 97, 100, 102, 99, 101, 180];
    const verdict = judgeGrowth(values, { bound: 20 });
    expect(verdict).toMatchObject({ judged: true, ok: true, samples: 12, window: 4 });
    expect(values.at(-1)! - values[2]!).toBeGreaterThan(20);
  });

  it('soak growth: a steady leak of 3 units per iteration past the bound fails', () => {
    const values = Array.from({ length: 20 }, (_, i) => 100 + 3 * i);
    const verdict = judgeGrowth(values, { bound: 20 });
    expect(verdict.ok).toBe(false);
    expect(verdict.growth).toBeGreaterThan(20);
    expect(judgeGrowth(values, { bound: 1000 }).ok).toBe(true);
  });

  it('soak growth: too few samples after the warm-up are not judged (and not failed)', () => {
    expect(judgeGrowth([1, 2, 300, 400, 500], { bound: 0 })).toMatchObject({ judged: false, ok: true, samples: 3, growth: null });
    expect(() => judgeGrowth([1], { bound: -1 })).toThrow(RangeError);
  });
});

describe('soak verdict (summarizeSoak)', () => {
  it('soak verdict: healthy iterations pass', () => {
    const report = summarize(Array.from({ length: 12 }, (_, i) => iteration(i + 1)));
    expect(report.status).toBe('passed');
    expect(report.failures).toEqual([]);
    expect(renderSoakMarkdown(report)).toContain('# Soak of s: PASSED');
  });

  it('soak verdict: a failed iteration, a leaked volume and fd growth each fail the soak with a line naming them', () => {
    const its = Array.from({ length: 12 }, (_, i) => iteration(i + 1, {}, { openFds: 29 + 2 * i }));
    its[3] = iteration(4, { status: 'failed', failedChecks: ['no-leaks'] }, { openFds: 35 });
    its[5] = iteration(6, { leaked: { containers: [], networks: [], volumes: ['kh-r-6-t-01'] } }, { openFds: 39 });
    const report = summarize(its);
    expect(report.status).toBe('failed');
    expect(report.failures.join('\n')).toMatch(/iteration 4 \(run r-4, seed 4\) failed: checks no-leaks/);
    expect(report.failures.join('\n')).toMatch(/iteration 6 \(run r-6\) left 0 container\(s\), 0 network\(s\), 1 volume\(s\)/);
    expect(report.failures.join('\n')).toMatch(/open file descriptors grew by \d+/);
    expect(renderSoakMarkdown(report)).toContain('**past the bound**');
  });

  it('soak verdict: an interrupted soak says interrupted, whatever it found', () => {
    const report = summarize([iteration(1, { status: 'interrupted' }), iteration(2, { leaked: { containers: ['kh-x'], networks: [], volumes: [] } })], 'interrupted');
    expect(report.status).toBe('interrupted');
    expect(report.endedAt).not.toBeNull();
    expect(report.failures).toHaveLength(1);
    expect(summarize([iteration(1)], 'running')).toMatchObject({ status: 'running', endedAt: null });
  });
});

describe('keelhaul soak: bad input', () => {
  const io = () => {
    const err: string[] = [];
    return { out: () => undefined, err: (l: string) => err.push(l), errLines: err };
  };
  for (const [flags, pattern] of [
    [['--duration', 'soon'], /--duration.*soon/],
    [['--duration', '0'], /--duration.*greater than 0/],
    [['--max-rss-growth', 'lots'], /--max-rss-growth.*lots/],
    [['--max-fd-growth', '-1'], /--max-fd-growth/],
    [['--seed', 'x'], /--seed/],
    [['--iterations', '0'], /--iterations/],
  ] as const) {
    it(`soak: ${flags.join(' ')} is refused with exit 2 before any daemon connection`, async () => {
      vi.mocked(connectDocker).mockClear();
      const sink = io();
      const code = await runCli(['soak', 'chaos/smoke.yaml', ...flags], sink);
      expect(code).toBe(2);
      expect(sink.errLines.join('\n')).toMatch(pattern);
      expect(connectDocker).not.toHaveBeenCalled();
    });
  }

  it('soak: --help explains the bounds, their defaults and the exit codes', async () => {
    const out: string[] = [];
    const code = await runCli(['soak', '--help'], { out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(code).toBe(0);
    const help = out.join('\n');
    for (const word of ['--max-rss-growth', '64m', '--max-fd-growth', '--max-dockerd-rss-growth', '256m', 'median', '130']) expect(help).toContain(word);
  });
});
