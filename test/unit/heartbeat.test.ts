import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeartbeatWatch } from '../../src/controller/heartbeat.js';

describe('heartbeat watch: silence is a hang', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('heartbeat: an attempt silent for timeoutMs is declared hung', () => {
    let hungCalls = 0;
    const watch = new HeartbeatWatch({ timeoutMs: 1000, daemonDown: () => false, onHung: () => (hungCalls += 1) });
    vi.advanceTimersByTime(999);
    expect(watch.hung).toBe(false);
    vi.advanceTimersByTime(1);
    expect(watch.hung).toBe(true);
    expect(hungCalls).toBe(1);
    watch.stop();
  });

  it('heartbeat: every event starts the silence over', () => {
    const watch = new HeartbeatWatch({ timeoutMs: 1000, daemonDown: () => false, onHung: () => undefined });
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(900);
      watch.rearm();
    }
    expect(watch.hung).toBe(false);
    watch.stop();
  });

  it('heartbeat: silence during a daemon outage does not count', () => {
    let down = true;
    const watch = new HeartbeatWatch({ timeoutMs: 1000, daemonDown: () => down, onHung: () => undefined });
    vi.advanceTimersByTime(5000);
    expect(watch.hung).toBe(false);
    down = false;
    vi.advanceTimersByTime(1000);
    expect(watch.hung).toBe(true);
    watch.stop();
  });

  it('heartbeat: a stopped watch never fires', () => {
    const watch = new HeartbeatWatch({ timeoutMs: 1000, daemonDown: () => false, onHung: () => undefined });
    watch.stop();
    vi.advanceTimersByTime(10_000);
    expect(watch.hung).toBe(false);
  });
});
