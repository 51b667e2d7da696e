import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import {
  type ChatMessage,
  encodeChatMessage,
  encodeMessageView,
  formatRfc3339,
  type MessageView,
  Topics,
} from '../events/index.ts';
import type { Log, Producer } from '../log/index.ts';
import { type ClickHouse, storedMessageIds } from '../storage/index.ts';
import { retryAfter } from './errors.ts';
import type { RateLimiter } from './guards.ts';

/**
 * Ingest: validated events → `chat.messages` / `message-views` through one producer.
 *
 * What a 202 promises: the events were appended to the log and `Producer.send` resolved, i.e. they
 * are durable under the log's policy — embedded log: written to its segment files (they survive the
 * process being killed; with LOG_FSYNC=always also fsynced, so they survive a power loss; with
 * `interval`, a power loss can lose the last LOG_FSYNC_INTERVAL_MS); Kafka: acks=all by the
 * idempotent producer. The processors and ClickHouse see them asynchronously (about a second).
 *
 * One stored message per `message_id`: an id already accepted by this instance (the last
 * RECENT_IDS), repeated within a request, or already in ClickHouse (message_index, primary-key
 * lookups) is acknowledged again but not appended again. A duplicate that still reaches the log (two
 * instances, or a re-post across a restart before the sink stored the first copy) collapses in
 * storage when it carries the same conversation_id and timestamp (messages_base is a
 * ReplacingMergeTree on (conversation_id, created_at, message_id)).
 */

/** Ids of recently accepted messages kept in memory (insertion order, oldest evicted). */
const RECENT_IDS = 200_000;
/** Events being appended at once before ingest answers 503. */
const MAX_IN_FLIGHT = 200_000;

export interface IngestOptions {
  readonly log: Log;
  readonly ch: ClickHouse;
  readonly clock: Clock;
  readonly limiter: RateLimiter;
  /** Records the processors have still to read (their summed lag); above `maxLag` → 503. */
  readonly backlog: () => number;
  readonly maxLag: number;
  readonly database?: string;
  /** Called with the number of events appended per topic (metrics). */
  readonly onAppended?: (topic: string, n: number) => void;
}

export interface IngestResult {
  accepted: number;
  message_ids: string[];
  duplicates: number;
}

export class Ingest {
  readonly #o: IngestOptions;
  readonly #producer: Producer;
  readonly #recent = new Map<string, true>();
  readonly #idPrefix = `msg-${randomBytes(4).toString('hex')}-`;
  #nextId = 0;
  #inFlight = 0;

  constructor(options: IngestOptions) {
    this.#o = options;
    this.#producer = options.log.producer();
  }

  /** A fresh message id: unique per instance start (random prefix) and counter. */
  newMessageId(): string {
    return `${this.#idPrefix}${(this.#nextId++).toString(36)}`;
  }

  /** Fill `message_id` and `timestamp` of a wire message when absent; returns whether the id was given. */
  fill(item: unknown): boolean {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return true;
    const m = item as Record<string, unknown>;
    const given = m.message_id !== undefined;
    if (!given) m.message_id = this.newMessageId();
    if (m.timestamp === undefined) m.timestamp = formatRfc3339(this.#o.clock.now());
    return given;
  }

  fillView(item: unknown): void {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return;
    const v = item as Record<string, unknown>;
    if (v.viewed_at === undefined) v.viewed_at = formatRfc3339(this.#o.clock.now());
  }

  #admit(n: number): void {
    const lag = this.#o.backlog();
    if (lag > this.#o.maxLag || this.#inFlight + n > MAX_IN_FLIGHT) {
      throw new AppError(
        ErrorCode.API_OVERLOADED,
        lag > this.#o.maxLag
          ? `the processors are ${lag} records behind (limit ${this.#o.maxLag}): retry shortly`
          : 'the log is behind on appends: retry shortly',
        { retriable: true, context: { lag, inFlight: this.#inFlight, ...retryAfter(1) } },
      );
    }
    this.#o.limiter.take(n);
  }

  /** `given[i]`: whether messages[i]'s id came from the client (only those can be duplicates). */
  async messages(messages: readonly ChatMessage[], given: readonly boolean[]): Promise<IngestResult> {
    this.#admit(messages.length);
    const ids = messages.map((m) => m.message_id);
    const seen = new Set<string>();
    const unknown: string[] = [];
    for (let i = 0; i < messages.length; i++) {
      const id = ids[i]!;
      if (given[i] && !this.#recent.has(id) && !seen.has(id)) unknown.push(id);
      seen.add(id);
    }
    const stored = unknown.length === 0 ? new Set<string>() : await this.#stored(unknown);
    const fresh: ChatMessage[] = [];
    const reserved = new Set<string>();
    for (const m of messages) {
      if (reserved.has(m.message_id) || this.#recent.has(m.message_id) || stored.has(m.message_id)) continue;
      reserved.add(m.message_id);
      fresh.push(m);
    }
    for (const id of reserved) this.#remember(id);
    try {
      await this.#append(
        Topics.chatMessages.name,
        fresh.map((m) => ({ key: m.conversation_id, value: encodeChatMessage(m) })),
      );
    } catch (err) {
      for (const id of reserved) this.#recent.delete(id);
      throw err;
    }
    return { accepted: messages.length, message_ids: ids, duplicates: messages.length - fresh.length };
  }

  async views(views: readonly MessageView[]): Promise<{ accepted: number }> {
    this.#admit(views.length);
    await this.#append(
      Topics.messageViews.name,
      views.map((v) => ({ key: v.user_id, value: encodeMessageView(v) })),
    );
    return { accepted: views.length };
  }

  async #append(topic: string, records: { key: string; value: string }[]): Promise<void> {
    if (records.length === 0) return;
    this.#inFlight += records.length;
    try {
      await this.#producer.send(topic, records);
    } finally {
      this.#inFlight -= records.length;
    }
    this.#o.onAppended?.(topic, records.length);
  }

  /** Ids already in ClickHouse; when ClickHouse cannot answer, none (storage collapses same-key copies). */
  async #stored(ids: string[]): Promise<Set<string>> {
    return storedMessageIds(this.#o.ch, ids, this.#o.database).catch(() => new Set<string>());
  }

  #remember(id: string): void {
    this.#recent.set(id, true);
    if (this.#recent.size > RECENT_IDS) {
      const oldest = this.#recent.keys().next();
      if (oldest.done !== true) this.#recent.delete(oldest.value);
    }
  }

  /** Events being appended right now (back-pressure, metrics). */
  get inFlight(): number {
    return this.#inFlight;
  }

  close(): Promise<void> {
    return this.#producer.close();
  }
}
