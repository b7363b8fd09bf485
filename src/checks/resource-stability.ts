/** resource-stability: the controller's memory and event backlog stayed within bounds. */
import type { CheckResult } from './invariants.js';

/** What the monitor saw of the controller (src/monitor/, samples.jsonl). */
export interface ResourceFacts {
  /** The controller's RSS, first and last sample, bytes; undefined when never sampled. */
  readonly controllerRss?: { readonly firstBytes: number; readonly lastBytes: number; readonly growthBytes: number } | undefined;
  /** The highest event backlog of any `backlog` sample; undefined when none was taken. */
  readonly peakEventBacklog?: number | undefined;
  /** `backlog` samples taken. */
  readonly backlogSamples: number;
}

/** The bounds, from the scenario's `expect.resourceStability`. */
export interface ResourceBounds {
  /** Most the controller's RSS may grow from its first sample to its last, bytes. */
  readonly rssGrowthBytes?: number | undefined;
  /** Most events that may wait to be written to events.jsonl in any sample. */
  readonly eventBacklog?: number | undefined;
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * resource-stability: the controller's RSS growth (last sample − first, bytes) and the
 * peak event backlog are within the given bounds. A bound with no sample to judge it by
 * fails: a check that cannot see is no proof.
 */
export function checkResourceStability(facts: ResourceFacts, bounds: ResourceBounds): CheckResult {
  const evidence: string[] = [];
  const expected: string[] = [];
  const observed: string[] = [];
  if (bounds.rssGrowthBytes !== undefined) {
    expected.push(`controller RSS growth ≤ ${bounds.rssGrowthBytes} bytes (${mib(bounds.rssGrowthBytes)})`);
    const rss = facts.controllerRss;
    if (!rss || rss.firstBytes === 0) {
      observed.push('no controller RSS sample');
      evidence.push('the monitor took no sample of the controller');
    } else {
      observed.push(`controller RSS grew ${rss.growthBytes} bytes (${mib(rss.firstBytes)} → ${mib(rss.lastBytes)})`);
      if (rss.growthBytes > bounds.rssGrowthBytes) evidence.push(`controller RSS grew ${rss.growthBytes} bytes, bound ${bounds.rssGrowthBytes}`);
    }
  }
  if (bounds.eventBacklog !== undefined) {
    expected.push(`event backlog ≤ ${bounds.eventBacklog}`);
    if (facts.peakEventBacklog === undefined) {
      observed.push('no backlog sample');
      evidence.push('the monitor took no backlog sample');
    } else {
      observed.push(`peak event backlog ${facts.peakEventBacklog} over ${facts.backlogSamples} sample(s)`);
      if (facts.peakEventBacklog > bounds.eventBacklog) evidence.push(`event backlog reached ${facts.peakEventBacklog}, bound ${bounds.eventBacklog}`);
    }
  }
  return {
    name: 'resource-stability',
    ok: evidence.length === 0 && expected.length > 0,
    expected: expected.join('; ') || 'a bound in expect.resourceStability',
    observed: observed.join('; ') || 'no bound given',
    evidence,
  };
}
