import { describe, expect, it } from 'vitest';
import { LockManager, LockWaitAbortedError } from '../../src/controller/locks.js';

const W = (...l: string[]) => ({ reads: [], writes: l });
const R = (...l: string[]) => ({ reads: l, writes: [] });
const tick = () => new Promise((r) => setImmediate(r));

describe('LockManager', () => {
  it('lets readers share a lock and makes a writer wait for them', async () => {
    const m = new LockManager();
    const r1 = await m.acquire('r1', R('db'));
    const r2 = await m.acquire('r2', R('db'));
    expect(r1.waited || r2.waited).toBe(false);
    let granted = false;
    const w = m.acquire('w', W('db')).then((h) => ((granted = true), h));
    await tick();
    expect(granted).toBe(false);
    r1.release();
    await tick();
    expect(granted).toBe(false);
    r2.release();
    expect((await w).waited).toBe(true);
  });

  it('does not starve a writer: readers that arrive after it queue behind it', async () => {
    const m = new LockManager();
    const r1 = await m.acquire('r1', R('db'));
    const order: string[] = [];
    const w = m.acquire('w', W('db')).then((h) => (order.push('w'), h));
    const r2 = m.acquire('r2', R('db')).then((h) => (order.push('r2'), h));
    await tick();
    expect(order).toEqual([]);
    r1.release();
    (await w).release();
    await r2;
    expect(order).toEqual(['w', 'r2']);
  });

  it('grants at once a request that conflicts with nothing ahead of it', async () => {
    const m = new LockManager();
    await m.acquire('a', W('x'));
    void m.acquire('b', W('x'));
    const c = await m.acquire('c', W('y'));
    expect(c.waited).toBe(false);
    expect(m.waiting).toBe(1);
  });

  it('takes all locks at once, so crossing requests do not deadlock', async () => {
    const m = new LockManager();
    const first = await m.acquire('a', W('x', 'y'));
    const b = m.acquire('b', W('y', 'x'));
    const c = m.acquire('c', W('x'));
    first.release();
    (await b).release();
    (await c).release();
    expect(m.waiting).toBe(0);
  });

  it('rejects a waiter whose signal aborts, and lets those behind it go', async () => {
    const m = new LockManager();
    const held = await m.acquire('a', R('x'));
    const abort = new AbortController();
    const w = m.acquire('w', W('x'), abort.signal);
    const r = m.acquire('r', R('x'));
    abort.abort(new Error('run aborted'));
    await expect(w).rejects.toBeInstanceOf(LockWaitAbortedError);
    expect((await r).waited).toBe(true);
    held.release();
    expect(m.waiting).toBe(0);
  });

  it('release is idempotent', async () => {
    const m = new LockManager();
    const a = await m.acquire('a', W('x'));
    a.release();
    a.release();
    expect((await m.acquire('b', W('x'))).waited).toBe(false);
  });
});
