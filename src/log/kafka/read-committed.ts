/**
 * Decoding one partition's fetched record batches into port records, with Kafka's read_committed
 * filter done as the Java client does (Fetcher / CompletedFetch): the fetch response lists the
 * aborted transactions overlapping the fetched range (producer id + first offset); a transactional
 * batch of a producer whose aborted transaction has started by then is dropped, until that
 * producer's abort marker (a control batch with control type 0) closes the range. Control batches
 * (commit and abort markers) are never returned, but `next` moves past them (and past compacted gaps),
 * so positions never stop on a marker.
 */
import type { RecordsBatch } from '@platformatic/kafka';
import type { LogRecord } from '../types.ts';

/** Record batch attribute bits (Kafka's RecordBatch). */
const ATTR_LOG_APPEND_TIME = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;
/** Control record key: version (int16) then type (int16): 0 abort, 1 commit. */
const CONTROL_TYPE_ABORT = 0;

/** The parts of a fetch response partition the decoder reads. */
export interface FetchedPartition {
  readonly partitionIndex: number;
  readonly abortedTransactions?:
    | readonly { readonly producerId: bigint; readonly firstOffset: bigint }[]
    | null;
  readonly records?: readonly RecordsBatch[] | RecordsBatch | null;
}

/**
 * Records of `p` at or after `from`, appended to `out` (never spread: a batch may hold hundreds of
 * thousands of records). Returns `next`: the offset after the last batch seen, at least `from`.
 */
export function decodeBatches(
  topic: string,
  p: FetchedPartition,
  from: number,
  readCommitted: boolean,
  out: LogRecord[],
): number {
  let next = from;
  const aborted = [...(p.abortedTransactions ?? [])].sort((a, b) =>
    a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
  );
  const abortedProducers = new Set<bigint>();
  const partition = p.partitionIndex;
  const batches = (
    Array.isArray(p.records) ? p.records : p.records ? [p.records] : []
  ) as readonly RecordsBatch[];
  for (const batch of batches) {
    const base = Number(batch.firstOffset);
    const last = base + batch.lastOffsetDelta;
    if (last < from) continue;
    const control = (batch.attributes & ATTR_CONTROL) !== 0;
    if (readCommitted && (batch.attributes & ATTR_TRANSACTIONAL) !== 0) {
      while (aborted.length > 0 && Number(aborted[0]?.firstOffset) <= last) {
        abortedProducers.add((aborted.shift() as { producerId: bigint }).producerId);
      }
      if (control) {
        if (batch.records[0]?.key?.readInt16BE(2) === CONTROL_TYPE_ABORT)
          abortedProducers.delete(batch.producerId);
      } else if (abortedProducers.has(batch.producerId)) {
        next = Math.max(next, last + 1);
        continue;
      }
    }
    if (!control) {
      const logAppend = (batch.attributes & ATTR_LOG_APPEND_TIME) !== 0;
      // Numbers, not bigint sums per record (timestamps in ms are far below 2^53).
      const firstTimestamp = Number(logAppend ? batch.maxTimestamp : batch.firstTimestamp);
      const records = batch.records;
      for (let i = 0; i < records.length; i++) {
        const r = records[i] as RecordsBatch['records'][number];
        const offset = base + r.offsetDelta;
        if (offset < from) continue;
        out.push({
          topic,
          partition,
          offset,
          timestamp: logAppend ? firstTimestamp : firstTimestamp + Number(r.timestampDelta),
          key: r.key ?? null,
          value: r.value ?? null,
          headers: r.headers.length === 0 ? NO_HEADERS : r.headers.map(toHeader),
        });
      }
    }
    next = Math.max(next, last + 1);
  }
  return next;
}

const NO_HEADERS: readonly (readonly [string, Buffer])[] = Object.freeze([]);
const EMPTY = Buffer.alloc(0);
const toHeader = ([k, v]: [Buffer | null, Buffer | null]): readonly [string, Buffer] =>
  [k === null ? '' : k.toString('utf8'), v ?? EMPTY] as const;
