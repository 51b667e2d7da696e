import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError, ErrorCode } from '../../src/errors/index.ts';
import { Codecs, type ExternalSink, type StreamRecord, StreamsRuntime } from '../../src/streams/index.ts';
import { tempLog, waitFor } from './helpers/log.ts';

/** A sink whose batch must be flushed (like a ClickHouse insert) before offsets commit. */
class BatchSink implements ExternalSink<string, string> {
  readonly flushed: string[][] = [];
  #batch: string[] = [];
  failures: Array<'retriable' | 'fatal'>;
  constructor(failures: Array<'retriable' | 'fatal'>) {
    this.failures = failures;
  }
  write(record: StreamRecord<string, string>): void {
    this.#batch.push(record.value);
  }
  wantsFlush(): boolean {
    return this.#batch.length >= 50;
  }
  async flush(): Promise<void> {
    const failure = this.failures.shift();
    if (failure !== undefined) {
      throw new AppError(ErrorCode.STORAGE_UNAVAILABLE, 'insert failed', {
        retriable: failure === 'retriable',
      });
    }
    if (this.#batch.length > 0) this.flushed.push(this.#batch);
    this.#batch = [];
  }
}

test('external sink: offsets commit only after flush; retriable failures retried, fatal ones stop', async (t) => {
  const log = await tempLog(t);
  await log.createTopics([{ name: 'rows', partitions: 1 }]);
  await log.producer().send(
    'rows',
    Array.from({ length: 120 }, (_, i) => ({ key: 'k', value: `r${i}` })),
  );
  const committed = async () =>
    (await log.listGroups()).find((g) => g.groupId === 'sink-app')?.offsets.find((o) => o.topic === 'rows')
      ?.offset ?? 0;

  const sink = new BatchSink(['retriable', 'retriable']);
  const runtime = new StreamsRuntime({
    log,
    applicationId: 'sink-app',
    commitIntervalMs: 60_000, // only the sink's wantsFlush() and stop() commit
    topology: (b) => b.stream('rows', { key: Codecs.string, value: Codecs.string }).sink(() => sink),
  });
  t.after(() => runtime.stop());
  await runtime.start();
  await waitFor(async () => (await committed()) >= 100, 10_000, 'commits driven by wantsFlush');
  await runtime.stop();
  const afterStop = await committed();

  // A fatal flush failure: the runtime fails and the offsets stay where they were.
  await log.producer().send(
    'rows',
    Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: `s${i}` })),
  );
  const failing = new BatchSink(['fatal']);
  const runtime2 = new StreamsRuntime({
    log,
    applicationId: 'sink-app',
    commitIntervalMs: 10,
    topology: (b) => b.stream('rows', { key: Codecs.string, value: Codecs.string }).sink(() => failing),
  });
  await runtime2.start();
  await assert.rejects(runtime2.done, (err) => err instanceof AppError && err.code === 'STORAGE_UNAVAILABLE');
  assert.deepStrictEqual(
    {
      batches: sink.flushed.map((b) => b.length),
      rows: sink.flushed.flat().length,
      afterStop,
      state2: runtime2.state,
      afterFailure: await committed(),
    },
    { batches: [50, 50, 20], rows: 120, afterStop: 120, state2: 'failed', afterFailure: 120 },
  );
});
