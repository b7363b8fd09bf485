/**
 * The soak part of keelhaul: a scenario looped for a duration, with the controller's RSS
 * and open fds, dockerd's RSS and the labelled resources sampled between iterations, and
 * growth judged by window medians. `keelhaul soak` is its CLI.
 *
 * Public entry: {@link runSoak}, {@link judgeGrowth}, the report writers and shapes.
 */
export { runSoak, summarizeSoak, DEFAULT_SOAK_BOUNDS, type SoakFacts, type SoakOptions } from './soak.js';
export type { SoakBounds, SoakIteration, SoakReport, SoakSample } from './types.js';
export { judgeGrowth, median, type GrowthOptions, type GrowthVerdict } from './growth.js';
export { renderSoakMarkdown, writeSoakReports } from './soak-report.js';
