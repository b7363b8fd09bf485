import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { watchDaemonEvents } from '../../src/controller/daemon-events-watch.js';
import type { RunEventInput } from '../../src/controller/events.js';
import type { DaemonEvent, DockerClient } from '../../src/docker/index.js';

/** One events-stream line as the daemon writes it. */
function line(action: string, id: string, timeNano: string, extra: Record<string, string> = {}): string {
  const attributes = { 'dev.keelhaul.run': 'r-1', image: 'img', name: `w-${id}`, ...extra };
  return `{"status":"${action}","id":"${id}","Type":"container","Action":"${action}","Actor":{"ID":"${id}","Attributes":${JSON.stringify(attributes)}},"time":${timeNano.slice(0, -9)},"timeNano":${timeNano}}\n`;
}

/** A daemon whose first events connection writes `text` and stays open until aborted. */
function fakeDocker(text: string): Pick<DockerClient, 'events'> {
  let first = true;
  return {
    events: async (options) => {
      const s = new PassThrough();
      options.signal?.addEventListener('abort', () => s.destroy());
      if (first) setImmediate(() => s.write(text));
      first = false;
      return s;
    },
  };
}

describe('daemon events watch: the run timeline from the daemon', () => {
  it('daemon events watch: every event reaches onAnyEvent; recorded actions are emitted with their labels', async () => {
    const text =
      line('create', 'c1', '1700000000000000001') +
      line('die', 'c1', '1700000000000000002', { exitCode: '137', 'dev.keelhaul.task': 't-01', 'dev.keelhaul.attempt': '2', 'dev.keelhaul.role': 'worker' }) +
      line('kill', 'c1', '1700000000000000003', { signal: '9' });
    const any: string[] = [];
    const recorded: DaemonEvent[] = [];
    const connected: boolean[] = [];
    const emitted: RunEventInput[] = [];
    const watch = watchDaemonEvents({
      docker: fakeDocker(text),
      runId: 'r-1',
      since: new Date(0),
      onAnyEvent: (e) => any.push(e.action),
      onRecorded: (e) => recorded.push(e),
      onConnected: (c) => connected.push(c),
      emit: (e) => emitted.push(e),
    });
    for (let i = 0; i < 100 && any.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    await watch.stop();
    expect(any).toEqual(['create', 'die', 'kill']);
    expect(recorded.map((e) => e.action)).toEqual(['die', 'kill']);
    expect(connected[0]).toBe(true);
    const dockerEvents = emitted.filter((e) => e.type === 'docker.event');
    expect(dockerEvents).toEqual([
      {
        type: 'docker.event',
        time: expect.any(String),
        timeNano: '1700000000000000002',
        action: 'die',
        containerId: 'c1',
        role: 'worker',
        task: 't-01',
        attempt: 2,
        exitCode: 137,
      },
      { type: 'docker.event', time: expect.any(String), timeNano: '1700000000000000003', action: 'kill', containerId: 'c1', signal: '9' },
    ]);
    expect(emitted.some((e) => e.type === 'docker.events' && e.state === 'connected')).toBe(true);
  });
});
