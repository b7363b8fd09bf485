import { describe, expect, it } from 'vitest';
import { AttemptBook } from '../../src/controller/attempt-book.js';
import type { WorkerEvent } from '../../src/worker/events.js';

const event = (e: Record<string, unknown>): WorkerEvent => ({ ts: '2026-01-01T00:00:00.000Z', ...e }) as unknown as WorkerEvent;

describe('attempt book: one state per attempt', () => {
  it('attempt book: of() creates an empty state once and returns the same object after', () => {
    const book = new AttemptBook();
    expect(book.get('t', 1)).toBeUndefined();
    const s = book.of('t', 1);
    expect(s).toMatchObject({ task: 't', attempt: 1, maxSeq: 0, completedEvents: 0, invalidLines: 0 });
    expect(book.of('t', 1)).toBe(s);
    expect(book.get('t', 1)).toBe(s);
    expect(book.of('t', 2)).not.toBe(s);
  });

  it('attempt book: task.completed is counted, the first one timestamped', () => {
    const book = new AttemptBook();
    book.noteEvent('t', 1, event({ type: 'task.completed', seq: 3, ts: 'first' }));
    const s = book.noteEvent('t', 1, event({ type: 'task.completed', seq: 4, ts: 'second' }));
    expect(s).toMatchObject({ completedEvents: 2, completedAt: 'first', maxSeq: 4 });
  });

  it('attempt book: maxSeq only grows, and events without seq leave it', () => {
    const book = new AttemptBook();
    book.noteEvent('t', 1, event({ type: 'task.progress', seq: 7 }));
    book.noteEvent('t', 1, event({ type: 'task.progress', seq: 2 }));
    book.noteEvent('t', 1, event({ type: 'task.progress' }));
    expect(book.of('t', 1).maxSeq).toBe(7);
  });

  it('attempt book: task.failed reason and task.started interfaces are kept', () => {
    const book = new AttemptBook();
    book.noteEvent('t', 1, event({ type: 'task.started', interfaces: [{ name: 'lo' }, { name: 'eth0' }] }));
    book.noteEvent('t', 1, event({ type: 'task.failed', reason: 'disk_full' }));
    book.noteEvent('t', 2, event({ type: 'task.failed' }));
    expect(book.of('t', 1)).toMatchObject({ interfaces: ['lo', 'eth0'], failedReason: 'disk_full' });
    expect(book.of('t', 2).failedReason).toBe('task.failed');
  });

  it('attempt book: workspace listings come out keyed task#attempt, only those recorded', () => {
    const book = new AttemptBook();
    book.of('a', 1).workspaceListing = { entries: ['x'] };
    book.of('b', 2).workspaceListing = { error: 'gone' };
    book.of('c', 1);
    expect([...book.workspaceListings()]).toEqual([
      ['a#1', { entries: ['x'] }],
      ['b#2', { error: 'gone' }],
    ]);
  });
});
