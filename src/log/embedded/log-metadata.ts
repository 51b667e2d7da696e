/**
 * What the embedded log keeps besides its segments, and its journal (./journal.ts): topics, group
 * offsets, transaction decisions, the session counter (producer ids), each partition's log start
 * offset (after `deleteRecords`) and high watermark (offsets below it were handed out: the floor of its
 * next offset on open). Replayed from the journal on open; the journal is then rewritten as a
 * snapshot, appended to as things change, and rewritten again when it grows past 16 MiB.
 */

import {
  type CleanupPolicy,
  type TopicDescription,
  type TopicPartition,
  type TopicPartitionOffset,
  tpKey,
} from '../types.ts';
import { syncFds } from './group-commit.ts';
import { Journal } from './journal.ts';
import { writeError } from './partition-append.ts';
import type { PartitionLog } from './partition-log.ts';

const JOURNAL_REWRITE_BYTES = 16 * 1024 * 1024;

export interface TopicState {
  readonly desc: TopicDescription;
  readonly parts: PartitionLog[];
  /** The next partition of a round-robin (null key) record. */
  rr: number;
}

interface OffsetEntry {
  readonly offset: number;
  readonly metadata: string | null;
}

export type OffsetsTuple = [topic: string, partition: number, offset: number, metadata: string | null];

export type JournalEntry =
  | { t: 'session'; n: number }
  | { t: 'topic'; name: string; partitions: number; retentionMs: number | null; cleanupPolicy: CleanupPolicy }
  | { t: 'offsets'; g: string; o: OffsetsTuple[] }
  | { t: 'commit'; pid: number; parts: [string, number][]; offsets: { g: string; o: OffsetsTuple[] }[] }
  | { t: 'done'; pid: number }
  /** A partition's log start offset moved by `deleteRecords`. */
  | { t: 'start'; topic: string; p: number; o: number }
  /** Offsets below `o` of a partition were handed out (the floor of its next offset on open). */
  | { t: 'hw'; topic: string; p: number; o: number };

export type CommitDecision = JournalEntry & { t: 'commit' };

export class LogMetadata {
  readonly #root: string;
  readonly topics = new Map<string, TopicState>();
  /** Committed offsets: group id → `topic:partition` → offset. */
  readonly offsets = new Map<string, Map<string, OffsetEntry>>();
  /** Offset floors by `topic:partition`: journaled high watermarks (the largest recorded). */
  readonly journaledHw = new Map<string, number>();
  /** Log start offsets read from the journal on open, by `topic:partition`. */
  readonly replayedStarts = new Map<string, number>();
  /** Decided commits whose markers are not all written yet (kept across journal rewrites). */
  readonly inflightDecisions = new Map<number, JournalEntry>();
  session = 0;
  #journal: Journal | undefined;

  /** `root`: the log's directory (for error messages). */
  constructor(root: string) {
    this.#root = root;
  }

  /** The journal being written (after `startJournal`; a read-only log has none). */
  get journal(): Journal {
    if (this.#journal === undefined) throw new Error('the journal is not open');
    return this.#journal;
  }

  get journalOpen(): boolean {
    return this.#journal !== undefined;
  }

  /** Apply journal entries read on open; returns the commit decisions whose `done` is missing. */
  replay(entries: readonly JournalEntry[]): Map<number, CommitDecision> {
    const decisions = new Map<number, CommitDecision>();
    for (const e of entries) {
      switch (e.t) {
        case 'session':
          this.session = Math.max(this.session, e.n);
          break;
        case 'topic':
          if (!this.topics.has(e.name)) {
            this.topics.set(e.name, {
              desc: {
                name: e.name,
                partitions: e.partitions,
                retentionMs: e.retentionMs,
                cleanupPolicy: e.cleanupPolicy,
              },
              parts: [],
              rr: 0,
            });
          }
          break;
        case 'offsets':
          this.applyOffsets(e.g, e.o);
          break;
        case 'commit':
          decisions.set(e.pid, e);
          for (const o of e.offsets) this.applyOffsets(o.g, o.o);
          break;
        case 'done':
          decisions.delete(e.pid);
          break;
        case 'start': {
          const key = tpKey({ topic: e.topic, partition: e.p });
          this.replayedStarts.set(key, Math.max(this.replayedStarts.get(key) ?? 0, e.o));
          break;
        }
        case 'hw': {
          const key = tpKey({ topic: e.topic, partition: e.p });
          this.journaledHw.set(key, Math.max(this.journaledHw.get(key) ?? 0, e.o));
          break;
        }
      }
    }
    return decisions;
  }

  /** Start writing `file`: rewritten as a snapshot of what is known now. */
  startJournal(file: string): void {
    this.#journal = Journal.create(file, this.snapshot());
  }

  /** Everything known now, as journal entries. */
  snapshot(): JournalEntry[] {
    const entries: JournalEntry[] = [{ t: 'session', n: this.session }];
    for (const t of this.topics.values()) {
      entries.push({
        t: 'topic',
        name: t.desc.name,
        partitions: t.desc.partitions,
        retentionMs: t.desc.retentionMs,
        cleanupPolicy: t.desc.cleanupPolicy,
      });
    }
    for (const t of this.topics.values()) {
      for (const p of t.parts) {
        const key = tpKey({ topic: t.desc.name, partition: p.partition });
        if (p.failure !== undefined) {
          // Not opened: keep what the journal knew about it for the open after a repair.
          const start = this.replayedStarts.get(key);
          if (start !== undefined) entries.push({ t: 'start', topic: t.desc.name, p: p.partition, o: start });
          const hw = this.journaledHw.get(key);
          if (hw !== undefined) entries.push({ t: 'hw', topic: t.desc.name, p: p.partition, o: hw });
          continue;
        }
        if (p.logStartOffset > 0)
          entries.push({ t: 'start', topic: t.desc.name, p: p.partition, o: p.logStartOffset });
        if (p.nextOffset > 0) entries.push({ t: 'hw', topic: t.desc.name, p: p.partition, o: p.nextOffset });
        this.journaledHw.set(key, p.nextOffset);
      }
    }
    for (const [g, m] of this.offsets) {
      const o: OffsetsTuple[] = [];
      for (const [key, e] of m) {
        const i = key.lastIndexOf(':');
        o.push([key.slice(0, i), Number(key.slice(i + 1)), e.offset, e.metadata]);
      }
      entries.push({ t: 'offsets', g, o });
    }
    for (const d of this.inflightDecisions.values()) entries.push(d);
    return entries;
  }

  applyOffsets(groupId: string, offsets: readonly OffsetsTuple[]): void {
    let m = this.offsets.get(groupId);
    if (m === undefined) {
      m = new Map();
      this.offsets.set(groupId, m);
    }
    for (const [topic, partition, offset, metadata] of offsets) {
      m.set(tpKey({ topic, partition }), { offset, metadata });
    }
  }

  /** A group's committed offsets, by topic and partition. */
  groupOffsets(groupId: string): TopicPartitionOffset[] {
    const offsets: TopicPartitionOffset[] = [];
    for (const [key, e] of this.offsets.get(groupId) ?? []) {
      const i = key.lastIndexOf(':');
      offsets.push({
        topic: key.slice(0, i),
        partition: Number(key.slice(i + 1)),
        offset: e.offset,
        ...(e.metadata === null ? {} : { metadata: e.metadata }),
      });
    }
    return offsets.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  committedOffset(groupId: string, tp: TopicPartition): number | undefined {
    return this.offsets.get(groupId)?.get(tpKey(tp))?.offset;
  }

  /** The largest offset any group committed, by `topic:partition`. */
  committedFloors(): Map<string, number> {
    const floors = new Map<string, number>();
    for (const m of this.offsets.values()) {
      for (const [key, e] of m) floors.set(key, Math.max(floors.get(key) ?? 0, e.offset));
    }
    return floors;
  }

  /** Append `entry` (LOG_DISK_FULL or LOG_IO when it cannot be written); rewrite a journal grown large. */
  append(entry: JournalEntry): void {
    const journal = this.journal;
    try {
      journal.append(entry);
    } catch (err) {
      throw writeError(err, this.#root);
    }
    if (journal.size > JOURNAL_REWRITE_BYTES) journal.rewrite(this.snapshot());
  }

  /** fdatasync what was appended to the journal since the last sync. */
  async syncJournal(): Promise<void> {
    const journal = this.journal;
    if (!journal.dirty) return;
    journal.markClean();
    await syncFds([journal.fd]);
  }

  /**
   * Journal the high watermarks that moved since last time (synced with the segments by the caller),
   * so that a reopen never hands out an offset again even when a torn or quarantined tail took records
   * that readers had seen. A disk-full journal only delays this.
   */
  journalHighWatermarks(): void {
    for (const t of this.topics.values()) {
      for (const p of t.parts) {
        if (p.failure !== undefined) continue;
        const key = tpKey({ topic: p.topic, partition: p.partition });
        if (p.highWatermark <= (this.journaledHw.get(key) ?? 0)) continue;
        try {
          this.append({ t: 'hw', topic: p.topic, p: p.partition, o: p.highWatermark });
        } catch {
          return;
        }
        this.journaledHw.set(key, p.highWatermark);
      }
    }
  }
}
