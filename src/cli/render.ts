import type { RunEvent } from '../controller/index.js';

/** Where the CLI writes: injectable so commands can be tested without a terminal. */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /**
   * Set only when stdout is a terminal: raw writes (no newline added) for a status line
   * redrawn in place, and the terminal's width in columns.
   */
  readonly tty?: { readonly write: (text: string) => void; readonly columns: number };
}

/** The process's own stdout/stderr; `tty` when stdout is a terminal. */
export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  ...(process.stdout.isTTY
    ? {
        tty: {
          write: (text: string) => process.stdout.write(text),
          get columns() {
            return process.stdout.columns || 80;
          },
        },
      }
    : {}),
};

const short = (id: string): string => id.slice(0, 12);
const at = (task: string, attempt: number): string => `${task}#${attempt}`;

/**
 * One terminal line per attempt transition, fault, check and the run's start and end;
 * worker events other than task.failed stay in events.jsonl only (heartbeats would drown
 * the terminal). `undefined` means "print nothing".
 */
export function renderEvent(event: RunEvent, options: { verbose?: boolean } = {}): string | undefined {
  switch (event.type) {
    case 'run.started':
      return `run ${event.run}: scenario ${event.scenario}, seed ${event.seed}, ${event.sut ? `system under test \`${event.sut.join(' ')}\`` : `${event.tasks} task(s) at concurrency ${event.concurrency}`}, image ${event.image}, network ${event.network}\n  run directory ${event.runDir}`;
    case 'run.resumed':
      return `run ${event.run} resumed by pid ${event.controllerPid} (controller #${event.previousControllers + 1})`;
    case 'attempt.adopted':
      return `  ${at(event.task, event.attempt)} adopted       container ${short(event.containerId)} (${event.state})`;
    case 'attempt.lost':
      return `  ${at(event.task, event.attempt)} lost          ${event.reason}`;
    case 'attempt.launch-failed':
      return `  ${at(event.task, event.attempt)} not launched  ${event.reason} (${event.spendsAttempt ? 'spends an attempt' : 'the daemon was going away: spends no attempt'})`;
    case 'reaper.started':
      return options.verbose ? `  reaper pid ${event.pid} watching (ttl ${event.ttlMs} ms)` : undefined;
    case 'reaper.unavailable':
      return `  warning: no reaper for this run: ${event.reason}`;
    case 'run.reaped':
      return `run ${event.run} reaped after its controller (pid ${event.deadControllerPid}) died`;
    case 'network.guarded':
      return event.applied
        ? options.verbose
          ? `  network ${event.network} guarded: host rules on ${event.bridge} refuse its workers the host and other networks`
          : undefined
        : `  warning: network ${event.network} NOT guarded (${event.reason ?? 'unknown'}): its workers can reach the host's services through the gateway`;
    case 'isolation.probed':
      if (event.reached.length > 0)
        return `  ${at(event.task, event.attempt)} ISOLATION HOLE reached ${event.reached.join(', ')} from inside (interfaces ${event.interfaces.join(', ')})`;
      return options.verbose
        ? `  ${at(event.task, event.attempt)} isolation     ${event.error ? `not probed: ${event.error}` : `interfaces ${event.interfaces.join(', ')}; ${event.unreachable.length} host address(es) unreachable`}`
        : undefined;
    case 'attempt.running':
      return `  ${at(event.task, event.attempt)} running       ${event.containerId.startsWith('pid:') ? 'process' : 'container'} ${short(event.containerId)} (${event.containerName})`;
    case 'attempt.exited':
      return `  ${at(event.task, event.attempt)} ${event.outcome.padEnd(13)} exit ${event.exitCode}${event.oomKilled ? ' OOMKilled' : ''}${event.reason ? ` (${event.reason})` : ''} after ${event.durationMs} ms`;
    case 'attempt.retrying':
      return `  ${at(event.task, event.attempt)} retrying      in ${event.delayMs} ms after ${event.previousOutcome}`;
    case 'task.finished':
      return event.outcome === 'completed' ? undefined : `  ${event.task} FAILED after ${event.attempts} attempt(s)`;
    case 'worker.event':
      if (event.event.type === 'task.failed') {
        const e = event.event as { reason?: unknown; message?: unknown };
        return `  ${at(event.task, event.attempt)} task.failed   ${String(e.reason)}${e.message ? `: ${String(e.message)}` : ''}`;
      }
      return options.verbose ? `  ${at(event.task, event.attempt)} ${event.event.type}` : undefined;
    case 'worker.invalid-line':
      return options.verbose
        ? `  ${at(event.task, event.attempt)} ignored a non-event line${event.lineNumber !== undefined ? ` (stdout line ${event.lineNumber})` : ''}: ${event.error}`
        : undefined;
    case 'worker.invalid-lines-suppressed':
      return options.verbose ? `  ${at(event.task, event.attempt)} ignored ${event.lines} more non-event line(s) (${event.total} in all, every one in its stdout.log)` : undefined;
    case 'fault.injected':
      return `  fault ${event.fault.faultId} (${event.fault.kind} ${Object.entries(event.fault.params)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ')}) ${event.fault.trigger}: hit ${faultTargetsText(event.fault.kind, event.fault.targets)} at +${event.fault.offsetMs} ms`;
    case 'fault.failed':
      return `  fault ${event.fault.faultId} (${event.fault.kind}) ${event.fault.trigger}: ${event.fault.status}${event.fault.error ? `: ${event.fault.error}` : ''}`;
    case 'fault.undone':
      return `  fault ${event.faultId} (${event.kind}) undone on ${faultTargetsText(event.kind, event.targets)}`;
    case 'attempt.hung':
      return `  ${at(event.task, event.attempt)} hung          no event for ${event.silentMs} ms: killing it`;
    case 'fault.verified':
      return `  partition ${event.phase.padEnd(8)} ${short(event.containerId)} on ${event.network}: probe→target ${event.fromProbe ? 'reaches' : 'cut'}, target→probe ${event.targetRunning ? (event.fromTarget ? 'reaches' : 'cut') : 'not running'}`;
    case 'docker.event':
      return options.verbose
        ? `  docker ${event.action.padEnd(8)} ${event.task ? at(event.task, event.attempt ?? 0) : short(event.containerId)}${event.exitCode !== undefined ? ` exit ${event.exitCode}` : ''}`
        : undefined;
    case 'image.transferred':
      return event.transferred
        ? `  image ${event.image}: ${(event.bytes / 1_000_000).toFixed(1)} MB copied from ${event.from} to the private daemon in ${event.durationMs} ms`
        : options.verbose
          ? `  image ${event.image}: already on the private daemon (${event.imageId.slice(7, 19)})`
          : undefined;
    case 'topology.started':
      return `  topology ${event.file}: ${event.services.map((s) => `${s.service} (${short(s.containerId)})`).join(', ')}${event.networks.length ? ` on ${event.networks.join(', ')}` : ''}`;
    case 'docker.events':
      return event.state === 'connected' ? undefined : `  daemon event stream ${event.state}${event.reason ? `: ${event.reason}` : ''}`;
    case 'monitor.alert':
      return `  ALERT ${event.name} (pid ${event.pid}) RSS grew ${Math.round(event.growthBytes / 1024 / 1024)} MiB to ${Math.round(event.rssBytes / 1024 / 1024)} MiB (bound ${Math.round(event.limitBytes / 1024 / 1024)} MiB)`;
    case 'attempt.reattached':
      return `  ${at(event.task, event.attempt)} reattached    ${event.reason}`;
    case 'daemon.down':
      return `daemon ${event.endpoint} stopped answering; waiting up to ${event.limitMs} ms`;
    case 'daemon.up':
      return `daemon ${event.endpoint} answers again after ${event.downMs} ms`;
    case 'fault.skipped':
      return `  fault ${event.faultId} (${event.kind}) never fired: ${event.reason}`;
    case 'cleanup.finished':
      return `cleanup: removed ${event.containers} container(s), ${event.networks} network(s), ${event.volumes} volume(s)${
        event.removedBehind ? ` (and ${event.removedBehind.containers} container(s), ${event.removedBehind.volumes} volume(s) as their tasks completed)` : ''
      }${event.errors.length ? `; ${event.errors.length} error(s): ${event.errors.join('; ')}` : ''}`;
    case 'check.result':
      return `  ${event.ok ? 'ok  ' : 'FAIL'} ${event.name}: ${event.observed}${event.ok ? '' : ` (expected ${event.expected})`}`;
    case 'run.aborted':
      return `run aborting: ${event.reason}`;
    case 'run.finished':
      return `run ${event.run} ${event.status.toUpperCase()} in ${(event.durationMs / 1000).toFixed(1)} s\nreport: ${event.reportPath}`;
  }
}

/**
 * A fault's targets in words: an attempt (`t-01#2`), a SUT container by its task
 * (`task-1 (c73c3994199f)`: a SUT's containers carry no attempt number), a Compose service,
 * a bare container id, or — for faults without container targets — the daemon or the SUT.
 */
function faultTargetsText(
  kind: string,
  targets: readonly { containerId: string; task?: string | undefined; attempt?: number | undefined; service?: string | undefined }[],
): string {
  if (targets.length === 0) return kind === 'sut-kill' ? 'the system under test' : 'the daemon';
  return targets
    .map((t) =>
      t.task !== undefined && t.attempt !== undefined
        ? at(t.task, t.attempt)
        : t.task !== undefined
          ? `${t.task} (${short(t.containerId)})`
          : t.service
            ? `service ${t.service} (${short(t.containerId)})`
            : short(t.containerId),
    )
    .join(', ');
}
