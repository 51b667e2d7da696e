/**
 * A node:test reporter that prints, per test file, the summed duration of its top-level tests and
 * the wall-clock span from its first to its last reported event, slowest first. Use it next to the
 * usual reporter to find the slow files (the options go before the files: `npm test -- …` would put
 * them after the glob, where node takes them for file names):
 *
 *   npx node --test --test-force-exit --test-concurrency=2 \
 *     --test-reporter=spec --test-reporter-destination=stdout \
 *     --test-reporter=./test/helpers/durations-reporter.ts --test-reporter-destination=durations.txt \
 *     <the test files, as in package.json's test script>
 */
interface TestEvent {
  readonly type: string;
  readonly data?: {
    readonly file?: string;
    readonly nesting?: number;
    readonly details?: { readonly duration_ms?: number };
  };
}

export default async function* durations(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const files = new Map<
    string,
    { tests: number; testMs: number; first: number; last: number; failed: number }
  >();
  for await (const event of source) {
    const file = event.data?.file;
    if (file === undefined) continue;
    const now = performance.now();
    const entry = files.get(file) ?? { tests: 0, testMs: 0, first: now, last: now, failed: 0 };
    entry.last = now;
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data?.nesting === 0) {
      entry.tests++;
      entry.testMs += event.data.details?.duration_ms ?? 0;
      if (event.type === 'test:fail') entry.failed++;
    }
    files.set(file, entry);
  }
  const rows = [...files].sort((a, b) => b[1].testMs - a[1].testMs);
  yield 'tests s\tspan s\ttests\tfailed\tfile\n';
  for (const [file, e] of rows) {
    const rel = file.slice(file.indexOf('/test/') + 1);
    yield `${(e.testMs / 1000).toFixed(1)}\t${((e.last - e.first) / 1000).toFixed(1)}\t${e.tests}\t${e.failed}\t${rel}\n`;
  }
}
