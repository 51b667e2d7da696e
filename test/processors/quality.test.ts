import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANALYTICS, generate, runProcessors, score, withScratchChdb } from '../../bench/quality-run.ts';

// The fast version of `npm run bench:quality` (three seeds, 30 minutes): one seed, fewer minutes.
const MINUTES = 6;
test('detection quality against the generator truth: every burst alerted within 1 s, no false alert, trends in the top 3, peaks flagged', async (t) => {
  const { events, truth } = generate(5, MINUTES);
  // A short commit interval only makes the slices faster; every window and threshold is the default.
  const outputs = await withScratchChdb((ch) =>
    runProcessors(events, ch, { env: { STREAMS_COMMIT_INTERVAL_MS: '10' } }),
  );
  const r = score(5, MINUTES, truth, outputs);
  t.diagnostic(`processors: ${ANALYTICS.join(', ')}; ${JSON.stringify(r)}`);
  // Not vacuous: the traffic holds bursts, trends and peaks to find.
  assert.ok(r.bursts > 0 && r.trends > 0 && r.peaks > 0, JSON.stringify(r));
  // Each processor is held to the bar once it is registered in src/app/processors.ts.
  const has = (p: string) => ANALYTICS.includes(p);
  assert.deepStrictEqual(
    {
      bursts: has('anomaly-detection') ? r.burstsAlertedInTime : r.bursts,
      falseAlerts: r.falseAlerts,
      anomalyMisses: has('anomaly-detection') ? r.misses.anomaly : [],
      trendWindowsTop3: has('trend-detection') ? r.trendWindowsTop3 : r.trendWindows,
      frequentWordTop3: r.frequentWordTop3,
      trendMisses: has('trend-detection') ? r.misses.trends : [],
      peaks: has('conversation-analytics') ? r.peaksFlagged : r.peaks,
      peakMisses: has('conversation-analytics') ? r.misses.peaks : [],
    },
    {
      bursts: r.bursts,
      falseAlerts: 0,
      anomalyMisses: [],
      trendWindowsTop3: r.trendWindows,
      frequentWordTop3: 0,
      trendMisses: [],
      peaks: r.peaks,
      peakMisses: [],
    },
  );
});
