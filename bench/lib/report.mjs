// The Markdown rendering of a results object (bench/results/<date>.md and the terminal).

function fmt(x, unit) {
  if (x === null || x === undefined) return '–';
  const digits = unit === 'attempts/s' ? 2 : Math.abs(x) >= 100 ? 0 : 1;
  return x.toFixed(digits);
}

function cell(s, unit) {
  if (!s) return '–';
  return `${fmt(s.median, unit)} (${fmt(s.min, unit)}–${fmt(s.max, unit)})`;
}

function verdict(r) {
  if (!r.target) return '';
  // A target on the subject's own figure (`on`: median, max, p99) or, by default, on the ratio.
  const value = r.target.on ? r.keelhaul?.[r.target.on] : r.ratio;
  if (value === null || value === undefined) return '';
  const ok = r.target.op === '<=' ? value <= r.target.value : value >= r.target.value;
  const what = r.target.on ? `${r.target.on} ` : '';
  const unit = r.target.on && r.target.unit ? ` ${r.target.unit}` : '';
  return `${what}${r.target.op === '<=' ? '≤' : '≥'} ${r.target.value}${unit} ${ok ? 'met' : 'MISSED'}`;
}

export function renderMarkdown(results) {
  const env = results.environment;
  const lines = [];
  lines.push(`# keelhaul benchmarks — ${results.date} (${results.mode})`);
  lines.push('');
  lines.push(
    `Bench id \`${results.benchId}\`; node ${env.node}, Docker Engine ${env.docker.serverVersion} (API ${env.docker.apiVersion}), ` +
      `docker CLI ${env.docker.cliVersion}, ${env.cores} cores (${env.cpuModel}), ${env.memoryGiB} GiB, kernel ${env.kernel}; ` +
      `keelhaul ${env.keelhaulVersion} at ${env.gitCommit}${env.gitDirty ? ' (src/ has uncommitted changes)' : ''}, dist/ built ${env.distBuiltAt}; took ${Math.round(results.durationMs / 1000)} s. ` +
      `Machine load (1-min load average / other running containers on the daemon): ${env.loadAtStart.loadavg1m} / ${env.loadAtStart.otherRunningContainers} at the start, ` +
      `${env.loadAtEnd.loadavg1m} / ${env.loadAtEnd.otherRunningContainers} at the end.`,
  );
  lines.push('');
  lines.push('Each cell: median (min–max) over the samples; ratio = subject median ÷ baseline median, both measured in this process, in this run.');
  lines.push('');
  lines.push('| benchmark | subject | subject median (min–max) | baseline | baseline median (min–max) | unit | ratio | target | n |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results.benchmarks) {
    if (r.skipped) {
      lines.push(`| ${r.title} | – | skipped | – | – | – | – | – | – |`);
      continue;
    }
    lines.push(
      `| ${r.title} | ${r.subject} | ${cell(r.keelhaul, r.unit)} | ${r.baselineName} | ${cell(r.baseline, r.unit)} | ${r.unit} | ` +
        `${r.ratio === null || r.ratio === undefined ? '–' : `${r.ratio.toFixed(2)}×`} | ${verdict(r)} | ${r.keelhaul.n}/${r.baseline.n} |`,
    );
  }
  const notes = results.benchmarks.filter((r) => r.note || r.skipped || r.rerunAfterError);
  if (notes.length) {
    lines.push('');
    for (const r of notes) {
      const text = r.skipped ? `skipped — ${r.reason}` : [r.note, r.rerunAfterError ? `run a second time after: ${r.rerunAfterError}` : ''].filter(Boolean).join('; ');
      lines.push(`- **${r.id}**: ${text}`);
    }
  }
  if (results.error) lines.push('', `**The bench stopped early:** ${results.error}`);
  lines.push('');
  lines.push(`Leak check: ${results.leaks.ok ? 'nothing left with the bench labels' : `LEFT: ${JSON.stringify(results.leaks)}`}.`);
  lines.push('');
  return lines.join('\n');
}
