/**
 * How a soak judges growth: robustly, against noise. A single sample of RSS moves by tens
 * of MB with the garbage collector's timing, so first-versus-last would both cry wolf and
 * miss a slow leak. Instead the samples after the warm-up are cut into an early and a late
 * window (a third each) and the medians of the two windows are compared: one outlier in
 * either window moves neither median, and a steady leak shows as the difference.
 */

/** The median of a non-empty list (the mean of the middle two for an even length). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Options of {@link judgeGrowth}. */
export interface GrowthOptions {
  /** Largest growth (late median − early median) that passes, in the metric's unit (bytes, fds). */
  readonly bound: number;
  /** Samples at the start not judged: module loading, JIT, first image use. @default 2 */
  readonly warmup?: number;
  /** Fewer judged samples than this: growth is not judged (reported, not failed). @default 6 */
  readonly minSamples?: number;
}

/** The verdict on one metric. */
export interface GrowthVerdict {
  /** False when there were too few samples after the warm-up to judge; `ok` is then true. */
  readonly judged: boolean;
  readonly ok: boolean;
  /** Samples judged (after the warm-up). */
  readonly samples: number;
  /** Samples per window: a third of the judged samples (at least 1). */
  readonly window: number;
  /** Median of the early window, in the metric's unit. */
  readonly earlyMedian: number | null;
  /** Median of the late window. */
  readonly lateMedian: number | null;
  /** lateMedian − earlyMedian (negative: it shrank). */
  readonly growth: number | null;
  readonly bound: number;
}

/**
 * Compares the median of the late third of `values` with the median of the early third,
 * after dropping the warm-up samples.
 *
 * @param values one sample per soak iteration, in order
 * @throws {RangeError} when the bound is negative or not a finite number
 */
export function judgeGrowth(values: readonly number[], options: GrowthOptions): GrowthVerdict {
  const { bound } = options;
  if (!Number.isFinite(bound) || bound < 0) throw new RangeError(`a growth bound must be a finite number ≥ 0, got ${bound}`);
  const judgedValues = values.slice(options.warmup ?? 2);
  const window = Math.max(1, Math.floor(judgedValues.length / 3));
  if (judgedValues.length < (options.minSamples ?? 6)) {
    return { judged: false, ok: true, samples: judgedValues.length, window, earlyMedian: null, lateMedian: null, growth: null, bound };
  }
  const earlyMedian = median(judgedValues.slice(0, window));
  const lateMedian = median(judgedValues.slice(-window));
  const growth = lateMedian - earlyMedian;
  return { judged: true, ok: growth <= bound, samples: judgedValues.length, window, earlyMedian, lateMedian, growth, bound };
}
