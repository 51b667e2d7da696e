/**
 * Kafka's read_committed filter, as the Java client does it (Fetcher / CompletedFetch): the fetch
 * response lists the aborted transactions overlapping the fetched range (producer id + first
 * offset); a transactional batch of a producer whose aborted transaction has started by then is
 * dropped, until that producer's abort marker (a control batch with control type 0) closes the
 * range. Batches are fed in offset order; the filter keeps no state beyond one response.
 */
import type { AbortedTransaction } from './fetch-response.ts';

/** Control record key: version (int16) then type (int16): 0 abort, 1 commit. */
export const CONTROL_TYPE_ABORT = 0;

/** What the filter needs of a batch. */
export interface TransactionalBatch {
  readonly producerId: bigint;
  /** Offset of the batch's last record. */
  readonly lastOffset: number;
  /** Whether the batch is a control batch (a commit or abort marker). */
  readonly control: boolean;
  /** The control type of a control batch (CONTROL_TYPE_ABORT, or 1 for commit). */
  controlType(): number;
}

export class ReadCommittedFilter {
  /** Aborted transactions not started yet, by first offset. */
  readonly #pending: AbortedTransaction[];
  /** Producers inside an aborted transaction at the current position. */
  readonly #aborting = new Set<bigint>();

  constructor(aborted: readonly AbortedTransaction[] | null) {
    this.#pending = [...(aborted ?? [])].sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /**
   * Whether the transactional batch `b` is dropped (data of an aborted transaction). A control
   * batch is never dropped here (markers are never returned anyway), but an abort marker ends its
   * producer's aborted range.
   */
  drops(b: TransactionalBatch): boolean {
    while (this.#pending.length > 0 && (this.#pending[0] as AbortedTransaction).firstOffset <= b.lastOffset) {
      this.#aborting.add((this.#pending.shift() as AbortedTransaction).producerId);
    }
    if (b.control) {
      if (b.controlType() === CONTROL_TYPE_ABORT) this.#aborting.delete(b.producerId);
      return false;
    }
    return this.#aborting.has(b.producerId);
  }
}
