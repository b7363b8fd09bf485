import { KNOWN_WORKER_EVENT_TYPES } from '../worker/events.js';
import { runsReferenceWorker, SUT_EVENT_TYPES, type Scenario } from './schema.js';

/** A trigger that can never fire, as a path into the scenario and a reason. */
export interface TriggerIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * The faults whose trigger cannot fire in this scenario, found before anything runs:
 *
 * - `at` (or `every`'s first firing) at or past `timeoutMs`: the run is over by then;
 * - `on.attempt` beyond `retry.maxAttempts`: no such attempt is ever started;
 * - `on.nth` beyond what the tasks can produce of a terminal or start event: each attempt
 *   emits at most one `task.started` and one `task.completed` or `task.failed`
 *   (docs/worker-contract.md), so at most tasks × attempts of each (one task's, with
 *   `on.task`; one attempt's, with `on.attempt`). Heartbeats and progress are unbounded;
 * - `on.event` of a type keelhaul's own worker never emits, when keelhaul's own worker
 *   runs the tasks (its image, or the local backend) (a user's worker may emit event types of its own, which triggers may count).
 */
export function triggerIssues(scenario: Scenario): TriggerIssue[] {
  const issues: TriggerIssue[] = [];
  const timeoutMs = scenario.timeoutMs;
  scenario.faults.forEach((fault, i) => {
    const trigger = fault.trigger;
    const at = ['faults', i, 'trigger'];
    if ('at' in trigger && trigger.at >= timeoutMs) {
      issues.push({ path: [...at, 'at'], message: `fires at ${trigger.at} ms, at or after the run's bound (timeoutMs ${timeoutMs} ms): it would never fire` });
    }
    if ('every' in trigger) {
      const first = trigger.startAt ?? trigger.every;
      if (first >= timeoutMs)
        issues.push({
          path: [...at, trigger.startAt !== undefined ? 'startAt' : 'every'],
          message: `first fires at ${first} ms, at or after the run's bound (timeoutMs ${timeoutMs} ms): it would never fire`,
        });
    }
    if (!('on' in trigger)) return;
    const on = trigger.on;
    const onAt = [...at, 'on'];
    if (scenario.sut !== undefined) {
      // With a SUT, `on` counts what keelhaul sees of it: its containers' events and its output.
      if (!(SUT_EVENT_TYPES as readonly string[]).includes(on.event)) {
        issues.push({ path: [...onAt, 'event'], message: `with a sut, triggers count ${SUT_EVENT_TYPES.join(', ')}; ${JSON.stringify(on.event)} is none of them` });
      }
      return;
    }
    if (on.event.startsWith('sut.')) {
      issues.push({ path: [...onAt, 'event'], message: `${on.event} is an event of a system under test, and this scenario has no sut (docs/sut.md)` });
      return;
    }
    if (runsReferenceWorker(scenario) && !(KNOWN_WORKER_EVENT_TYPES as readonly string[]).includes(on.event)) {
      issues.push({
        path: [...onAt, 'event'],
        message: `no worker event has type ${JSON.stringify(on.event)} (keelhaul's worker emits ${KNOWN_WORKER_EVENT_TYPES.join(', ')}): it would never fire`,
      });
      return;
    }
    const maxAttempts = scenario.retry.maxAttempts;
    if (on.attempt !== undefined && on.attempt > maxAttempts) {
      issues.push({ path: [...onAt, 'attempt'], message: `attempt ${on.attempt} never starts: retry.maxAttempts is ${maxAttempts}` });
      return;
    }
    if (!['task.started', 'task.completed', 'task.failed'].includes(on.event)) return;
    const tasks = on.task !== undefined ? 1 : scenario.tasks.length;
    const attempts = on.attempt !== undefined ? 1 : maxAttempts;
    const most = tasks * attempts;
    if (on.nth > most) {
      const of = on.task !== undefined ? `task ${on.task}` : `${tasks} task(s)`;
      issues.push({ path: [...onAt, 'nth'], message: `counts ${on.event} number ${on.nth}, but ${of} × ${attempts} attempt(s) emit at most ${most}: it would never fire` });
    }
  });
  return issues;
}
