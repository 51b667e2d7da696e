/**
 * Detection quality at the defaults (a script, not a test): for each seed, `--minutes` (default 30)
 * of generated traffic through the analytics processors, scored against the generator's truth (see
 * quality-run.ts for what is checked). Prints one table row per seed and the misses, and ends with one
 * JSON line (also bench/results/quality.json); exit code 1 when a seed misses the bar.
 *
 *   npm run bench:quality
 *   npm run bench:quality -- --seeds 1,2,3 --minutes 30
 */

import { benchArgs } from './args.ts';
import {
  generate,
  passes,
  type QualityReport,
  runProcessors,
  score,
  withScratchChdb,
  writeResult,
} from './quality-run.ts';

const { values: args } = benchArgs({
  command: 'npm run bench:quality --',
  about:
    "Detection quality at the defaults: per seed, generated traffic through the analytics processors, scored against the generator's truth; exit 1 when a seed misses the bar.",
  flags: {
    seeds: { type: 'string', default: '1,2,3', help: 'comma-separated generator seeds' },
    minutes: { type: 'string', default: '30', help: 'simulated minutes of traffic per seed' },
    // Only how fast the 5-s slices go through; every window and threshold is the default.
    'commit-ms': { type: 'string', default: '20', help: "the processors' commit interval, ms" },
  },
});
const seeds = args.seeds.split(',').map(Number);
const minutes = Number(args.minutes);

const reports: QualityReport[] = [];
await withScratchChdb(async (ch) => {
  for (const seed of seeds) {
    const started = performance.now();
    const { events, truth } = generate(seed, minutes);
    const outputs = await runProcessors(events, ch, {
      env: { STREAMS_COMMIT_INTERVAL_MS: args['commit-ms'] },
    });
    const report = score(seed, minutes, truth, outputs);
    reports.push(report);
    const misses = [...report.misses.anomaly, ...report.misses.trends, ...report.misses.peaks];
    const took = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`seed ${seed}: ${events.length} events, ${took} s`);
    for (const m of misses.slice(0, 20)) console.log(`  ${m}`);
  }
});

const rows = reports.map((r) => [
  String(r.seed),
  String(r.minutes),
  String(r.messages),
  `${r.burstsAlertedInTime}/${r.bursts}`,
  String(r.worstAlertDelayMs ?? '–'),
  String(r.falseAlerts),
  `${r.duplicateBurstsAlerted}/${r.duplicateBursts}`,
  `${r.trendWindowsTop3}/${r.trendWindows} (${r.trends} trends)`,
  `${r.frequentWord ?? '–'}: ${r.frequentWordTop3}`,
  `${r.peaksFlagged}/${r.peaks}`,
  String(r.otherPeakWindows),
  passes(r) ? 'yes' : 'NO',
]);
const head = [
  'seed',
  'min',
  'messages',
  'bursts alerted ≤1 s',
  'worst delay ms',
  'false alerts',
  'dup bursts alerted',
  'trend windows in top 3',
  'frequent word in top 3',
  'peaks flagged',
  'other peak windows',
  'pass',
];
console.log(`\n| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
const summary = {
  seeds,
  minutes,
  all_pass: reports.every(passes),
  bursts: reports.reduce((a, r) => a + r.bursts, 0),
  bursts_alerted_in_time: reports.reduce((a, r) => a + r.burstsAlertedInTime, 0),
  false_alerts: reports.reduce((a, r) => a + r.falseAlerts, 0),
  trend_windows: reports.reduce((a, r) => a + r.trendWindows, 0),
  trend_windows_top3: reports.reduce((a, r) => a + r.trendWindowsTop3, 0),
  frequent_word_top3: reports.reduce((a, r) => a + r.frequentWordTop3, 0),
  peaks: reports.reduce((a, r) => a + r.peaks, 0),
  peaks_flagged: reports.reduce((a, r) => a + r.peaksFlagged, 0),
};
await writeResult('quality', { summary, reports });
console.log(JSON.stringify(summary));
process.exitCode = summary.all_pass ? 0 : 1;
