import type { Writable } from 'node:stream';

/**
 * Splits a multiplexed attach/logs stream (no TTY: frames of an 8-byte header — stream type
 * in byte 0, big-endian payload length in bytes 4–7 — then the payload; Engine API v1.41
 * "Stream format") into `stdout` and `stderr`, honouring back-pressure.
 *
 * Why not docker-modem's `demuxStream`: it writes each payload and ignores `write()`
 * returning false, so when the consumer (log file, line parser) is slower than the socket,
 * the whole output piles up in the PassThrough's buffer — a worker printing 200 MB grew the
 * controller's RSS by ~860 MB (docs/security.md "Floods"). Here the source is paused until
 * every target that refused a write has drained, so the daemon's socket (and in the end the
 * worker's stdout pipe) takes the pressure instead of the controller's heap.
 *
 * The targets are not ended: the caller ends them when the source ends, closes or fails.
 */
export function demuxWithBackpressure(source: NodeJS.ReadableStream, stdout: Writable, stderr: Writable): void {
  let pending: Buffer = Buffer.alloc(0);
  let waiting = 0;
  const resumeWhenDrained = (target: Writable): void => {
    waiting += 1;
    target.once('drain', () => {
      waiting -= 1;
      if (waiting === 0) source.resume();
    });
  };
  source.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    const blocked = new Set<Writable>();
    let offset = 0;
    while (pending.length - offset >= 8) {
      const length = pending.readUInt32BE(offset + 4);
      if (pending.length - offset < 8 + length) break;
      const target = pending[offset] === 2 ? stderr : stdout;
      // A copy: the payload must not pin the whole socket chunk while it waits in a buffer.
      const payload = Buffer.from(pending.subarray(offset + 8, offset + 8 + length));
      offset += 8 + length;
      if (!target.write(payload)) blocked.add(target);
    }
    pending = offset === pending.length ? Buffer.alloc(0) : pending.subarray(offset);
    if (blocked.size > 0 && waiting === 0) {
      source.pause();
      for (const target of blocked) resumeWhenDrained(target);
    }
  });
}
