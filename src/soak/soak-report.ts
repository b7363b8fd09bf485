import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import type { GrowthVerdict } from './growth.js';
import type { SoakReport } from './types.js';

const MiB = 1024 * 1024;

const mib = (bytes: number | null): string => (bytes === null ? '–' : (bytes / MiB).toFixed(1));

function growthRow(name: string, verdict: GrowthVerdict | null, format: (n: number | null) => string, unit: string): string {
  if (verdict === null) return `| ${name} | – | – | – | – | not sampled (dockerd's pid is not visible) |`;
  if (!verdict.judged) return `| ${name} | – | – | – | ${format(verdict.bound)} ${unit} | not judged: ${verdict.samples} sample(s) after the warm-up |`;
  return `| ${name} | ${format(verdict.earlyMedian)} | ${format(verdict.lateMedian)} | ${format(verdict.growth)} | ${format(verdict.bound)} ${unit} | ${verdict.ok ? 'ok' : '**past the bound**'} |`;
}

/** soak.md: the verdict, the growth table and one row per iteration. */
export function renderSoakMarkdown(report: SoakReport): string {
  const lines = [
    `# Soak of ${report.scenario}: ${report.status.toUpperCase()}`,
    '',
    `${report.iterations.length} iteration(s) in ${(report.elapsedMs / 1000).toFixed(0)} s (requested ${(report.durationMs / 1000).toFixed(0)} s), started ${report.startedAt}. ` +
      `Growth is the late-window median minus the early-window median (a third of the samples each, after ${report.warmup} warm-up iteration(s)).`,
    '',
  ];
  if (report.failures.length) lines.push('## Failures', '', ...report.failures.map((f) => `- ${f}`), '');
  lines.push(
    '## Growth',
    '',
    '| metric | early median | late median | growth | bound | verdict |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    growthRow('controller RSS (MiB)', report.growth.controllerRssBytes, mib, 'MiB'),
    growthRow('open fds', report.growth.openFds, (n) => (n === null ? '–' : String(n)), ''),
    growthRow('dockerd RSS (MiB)', report.growth.dockerdRssBytes, mib, 'MiB'),
    '',
    '## Iterations',
    '',
    '| # | run | seed | status | s | controller RSS MiB | heap MiB | fds | dockerd RSS MiB | left by the run | soak resources | all labelled |',
    '| ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| base | | | | | ${mib(report.baseline.controllerRssBytes)} | ${mib(report.baseline.heapUsedBytes)} | ${report.baseline.openFds} | ${mib(report.baseline.dockerdRssBytes)} | | ${report.baseline.soakResources} | ${report.baseline.labelledResources} |`,
    ...report.iterations.map((i) => {
      const left = i.leaked.containers.length + i.leaked.networks.length + i.leaked.volumes.length;
      return `| ${i.index} | ${i.runId} | ${i.seed} | ${i.status}${i.failedChecks.length ? ` (${i.failedChecks.join(', ')})` : ''} | ${(i.durationMs / 1000).toFixed(1)} | ${mib(i.sample.controllerRssBytes)} | ${mib(i.sample.heapUsedBytes)} | ${i.sample.openFds} | ${mib(i.sample.dockerdRssBytes)} | ${left} | ${i.sample.soakResources} | ${i.sample.labelledResources} |`;
    }),
    '',
  );
  return lines.join('\n');
}

/**
 * Writes soak.json (the {@link SoakReport}) and soak.md into `dir`, each atomically
 * (write, fsync, rename): a soak killed between iterations leaves both readable.
 */
export async function writeSoakReports(dir: string, report: SoakReport): Promise<{ json: string; markdown: string }> {
  const json = join(dir, 'soak.json');
  const markdown = join(dir, 'soak.md');
  await writeFileAtomic(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFileAtomic(markdown, renderSoakMarkdown(report));
  return { json, markdown };
}
