import { describe, expect, it } from 'vitest';
import { OomWatch } from '../../src/controller/oom-watch.js';

describe('oom watch: the daemon oom event for an exit the flag missed', () => {
  it('oom watch: an oom before die is seen; the wait ends at die', async () => {
    const w = new OomWatch();
    const waiting = w.waitForDie('c1', 10_000);
    w.note({ action: 'oom', containerId: 'c1' });
    w.note({ action: 'die', containerId: 'c1' });
    await waiting;
    expect(w.sawOom('c1')).toBe(true);
    expect(w.sawOom('c2')).toBe(false);
  });

  it('oom watch: a die already in ends the wait at once', async () => {
    const w = new OomWatch();
    w.note({ action: 'die', containerId: 'c1' });
    const t0 = Date.now();
    await w.waitForDie('c1', 10_000);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('oom watch: without a die the wait ends at its timeout', async () => {
    const w = new OomWatch();
    const t0 = Date.now();
    await w.waitForDie('c1', 30);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    expect(w.sawOom('c1')).toBe(false);
  });

  it('oom watch: an oom stays seen across a later start (unlike ContainerExitTracker)', () => {
    const w = new OomWatch();
    w.note({ action: 'oom', containerId: 'c1' });
    w.note({ action: 'start', containerId: 'c1' });
    expect(w.sawOom('c1')).toBe(true);
  });
});
