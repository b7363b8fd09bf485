import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ControllerIdentity } from './state.js';

/** Start times within this many ms are the same process (clock-tick rounding, /proc vs process.uptime). */
const START_TOLERANCE_MS = 2000;

let bootTimeMs: number | undefined;
function bootTime(): number | undefined {
  if (bootTimeMs !== undefined) return bootTimeMs;
  try {
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1];
    bootTimeMs = btime ? Number(btime) * 1000 : undefined;
  } catch {
    bootTimeMs = undefined;
  }
  return bootTimeMs;
}

/**
 * When process `pid` started, ms since the epoch, from /proc/<pid>/stat field 22
 * (starttime, in clock ticks since boot; proc(5)) plus the boot time from /proc/stat.
 * Assumes 100 ticks/s (USER_HZ on every mainstream Linux). `undefined` when the process
 * does not exist or /proc is unavailable.
 */
export function processStartTimeMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const boot = bootTime();
    if (!Number.isFinite(ticks) || boot === undefined) return undefined;
    return boot + ticks * 10;
  } catch {
    return undefined;
  }
}

/** This process as a controller identity. */
export function currentController(): ControllerIdentity {
  return {
    pid: process.pid,
    start: processStartTimeMs(process.pid) ?? Math.round(Date.now() - process.uptime() * 1000),
    hostname: hostname(),
  };
}

/**
 * Whether the controller is still running: the pid exists and started when the identity
 * says (a reused pid started later). A controller on another host is assumed alive: this
 * host cannot see it, and a live run must never be reaped.
 */
export function isControllerAlive(controller: ControllerIdentity): boolean {
  if (controller.hostname !== hostname()) return true;
  const start = processStartTimeMs(controller.pid);
  if (start === undefined) {
    try {
      process.kill(controller.pid, 0);
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
    return true; // exists, but /proc is not readable: assume alive
  }
  return Math.abs(start - controller.start) <= START_TOLERANCE_MS;
}
