import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { AppError } from '../../errors/index.ts';
import { Topics, validateEvent } from '../../events/index.ts';
import type { Log, TopicPartitionOffset } from '../../log/index.ts';
import { type ClickHouse, detachedParts, rebuildClosure, rowCounts, Tables } from '../../storage/index.ts';
import { ClickHouseSinkState } from './sink-state.ts';
import { CLICKHOUSE_SINK_APPLICATION_ID } from './topology.ts';

/** The table each input topic of the clickhouse-sink fills. */
export const SINK_TABLES: Readonly<Record<string, string>> = {
  [Topics.chatMessages.name]: Tables.messagesBase,
  [Topics.messageViews.name]: Tables.messageViews,
  [Topics.conversationMetrics.name]: Tables.conversationMetrics,
  [Topics.trendingWords.name]: Tables.trendingWords,
  [Topics.userActivityMetrics.name]: Tables.realtimeUserActivity,
  [Topics.anomalyAlerts.name]: Tables.anomalyAlerts,
};

/** Whether a record's value is one the sink would have written (the others were dead-lettered). */
const VALID: Readonly<Record<string, (value: Buffer | null) => boolean>> = Object.fromEntries(
  Object.values(Topics).map((t) => [
    t.name,
    (value: Buffer | null) => {
      if (value === null) return false;
      try {
        validateEvent(t.schema as z.ZodType<unknown>, t.name, JSON.parse(value.toString('utf8')));
        return true;
      } catch {
        return false;
      }
    },
  ]),
);

export interface StoreOptions {
  readonly applicationId?: string;
  readonly database?: string;
}

export interface StoreCheck {
  /** One line per thing worth an operator's attention (logged at warn). */
  readonly warnings: string[];
  /** Partitions whose committed offsets were moved back to the earliest retained offset. */
  readonly reset: TopicPartitionOffset[];
}

interface PartitionState {
  topic: string;
  partition: number;
  earliest: number;
  committed: number | undefined;
  progressLast: number | undefined;
  /** Where the sink must read again from when the store is behind: its progress' range start or end. */
  resume: number | undefined;
  /** No progress, yet the committed offsets cover records the sink would have inserted. */
  holds: boolean;
  /** Rows the sink surely has in the table for this partition (its progress' `rows`). */
  rows: number;
}

/**
 * The first offset in [from, to) holding a record the sink would have inserted, if any. The sink
 * commits only after inserting, so such a record above its progress means the store lost it
 * (transaction markers and dead-lettered records legitimately sit there: they are skipped).
 */
async function firstValidIn(log: Log, topic: string, partition: number, from: number, to: number) {
  const consumer = log.consumer({ groupId: `clickhouse-sink-check-${randomUUID()}`, maxPollRecords: 1000 });
  const tp = { topic, partition };
  try {
    consumer.assign([tp]);
    consumer.seek(tp, from);
    // Empty polls in a row end the scan: only markers (or nothing stable) are left below `to`.
    for (let empty = 0; consumer.position(tp) < to && empty < 5; ) {
      const records = await consumer.poll(100);
      empty = records.length === 0 ? empty + 1 : 0;
      for (const r of records) {
        if (r.offset >= to) return undefined;
        if (VALID[topic]?.(r.value) === true) return r.offset;
      }
    }
    return undefined;
  } finally {
    await consumer.close();
  }
}

/**
 * Does ClickHouse still hold what the log says the sink wrote? Run before the sink starts.
 *
 * The sink keeps, per source partition, its progress (`sink_progress`) next to the rows, and commits
 * the group's offsets only after the rows are in. So, per input topic:
 * - **Lost store** — no progress for any partition and an empty table, while the group has committed
 *   offsets past the earliest retained one (DATA_DIR/clickhouse removed, a new server): nothing of
 *   the topic is in ClickHouse, so the group's offsets go back to the earliest retained offsets and
 *   the sink re-ingests the log (exactly once: nothing to skip, nothing to duplicate). Warned.
 * - **Store behind the log** — progress present, but the group committed past it and the log holds
 *   records there that the sink would have inserted (a store restored from a backup): the group's
 *   offsets go back to where the progress ends, and the sink re-ingests the rest, exactly once. Warned.
 * - **Damaged store** — a part of the database detached by the engine (`broken-on-start_*`), the
 *   table empty while progress says rows are in (unless it has a TTL: its rows may have expired), or
 *   rows without their progress, or fewer rows than the progress says (see `fewerRows`): refused with
 *   STORAGE_DAMAGED naming `msgtrack replay --rebuild <topics>`, which rebuilds the tables from the
 *   log. (Re-ingesting here would double count what is still in.)
 * With other members in the group (another instance runs), nothing is reset: only refusals apply.
 */
export async function checkStore(ch: ClickHouse, log: Log, options: StoreOptions = {}): Promise<StoreCheck> {
  const app = options.applicationId ?? CLICKHOUSE_SINK_APPLICATION_ID;
  const database = options.database ?? 'message_db';
  const warnings: string[] = [];
  const problems: string[] = [];
  const damagedTopics = new Set<string>();

  const detached = await detachedParts(ch, database);
  const byTable = new Map(Object.entries(SINK_TABLES).map(([topic, table]) => [table, topic]));
  for (const d of detached) {
    problems.push(`part ${d.name} of ${database}.${d.table} is detached`);
    const topic = byTable.get(d.table);
    if (topic !== undefined) damagedTopics.add(topic);
  }

  const group = (await log.listGroups()).find((g) => g.groupId === app);
  const committed = new Map((group?.offsets ?? []).map((o) => [`${o.topic}:${o.partition}`, o.offset]));
  const state = new ClickHouseSinkState(ch, database);
  const counts = await rowCounts(ch, Object.values(SINK_TABLES), database);
  const existing = new Set((await log.listTopics()).map((t) => t.name));
  // Tables whose rows may vanish legitimately: a TTL, or a ReplacingMergeTree with an is_deleted
  // column (anomaly_alerts: a merge drops an alert whose last version is a retraction).
  const ttl = new Set(
    (
      await ch.query<{ name: string }>(
        "SELECT name FROM system.tables WHERE database = {db:String} AND (match(engine_full, '\\bTTL\\b') OR match(engine_full, 'ReplacingMergeTree\\(\\w+, *\\w+\\)'))",
        { db: database },
      )
    ).map((r) => r.name),
  );
  const reset: TopicPartitionOffset[] = [];
  const engines = new Map(
    (
      await ch.query<{ name: string; engine: string }>(
        'SELECT name, engine FROM system.tables WHERE database = {db:String}',
        { db: database },
      )
    ).map((r) => [r.name, r.engine]),
  );
  const record: { table: string; keys: number; expired: number }[] = [];

  for (const [topic, table] of Object.entries(SINK_TABLES)) {
    if (!existing.has(topic)) continue;
    const { partitions } = await log.describeTopic(topic);
    const parts: PartitionState[] = [];
    for (let p = 0; p < partitions; p++) {
      const { earliest } = await log.partitionOffsets(topic, p);
      const progress = await state.load(app, topic, p);
      const c = committed.get(`${topic}:${p}`);
      let resume: number | undefined;
      let holds = false; // the log holds records the sink must have inserted, and it has no progress
      if (progress === undefined && c !== undefined && c > earliest) {
        holds = (await firstValidIn(log, topic, p, earliest, c)) !== undefined;
      }
      if (progress !== undefined && c !== undefined && c > progress.last + 1) {
        const valid = await firstValidIn(log, topic, p, Math.max(earliest, progress.last + 1), c);
        if (valid !== undefined) {
          resume = Math.max(earliest, progress.status === 'inserting' ? progress.first : progress.last + 1);
        }
      }
      parts.push({
        topic,
        partition: p,
        earliest,
        committed: c,
        // What is surely in: a range left `inserting` (a crash between its progress record and its
        // insert) may not have landed — the sink re-inserts it under its token at the next flush.
        progressLast:
          progress === undefined
            ? undefined
            : progress.status === 'inserted'
              ? progress.last
              : progress.first > 0
                ? progress.first - 1
                : undefined,
        resume,
        holds,
        rows: progress?.rows ?? 0,
      });
    }
    const rows = counts.get(table) ?? 0;
    const behind = parts.filter((p) => p.resume !== undefined);
    if (behind.length > 0 && rows > 0) {
      // A store restored from a backup, say: what it has matches its progress; the rest is re-read.
      if ((group?.members ?? 0) > 0) {
        damagedTopics.add(topic);
        problems.push(`${app} has committed ${topic} beyond what ${database}.${table} holds`);
        continue;
      }
      for (const p of behind) reset.push({ topic, partition: p.partition, offset: p.resume! });
      warnings.push(
        `storage: ${database}.${table} is behind the offsets ${app} committed for ${topic} (${behind
          .map((p) => `${p.partition}: holds up to ${p.progressLast}, committed ${p.committed}`)
          .join('; ')}): re-ingesting from there`,
      );
    }
    {
      const fewer = await fewerRows(ch, database, table, engines.get(table), ttl.has(table), rows, parts);
      if (fewer.problem !== undefined) {
        damagedTopics.add(topic);
        problems.push(fewer.problem);
      } else if (fewer.record !== undefined) {
        record.push({ table, ...fewer.record });
      }
    }
    const withProgress = parts.filter((p) => p.progressLast !== undefined);
    // (Aborted transactions and dead-lettered records alone leave committed offsets without progress.)
    const lost = parts.filter((p) => p.holds);
    // A table with a TTL may be empty because its rows expired: only detached parts tell damage there.
    if (withProgress.length > 0 && rows === 0 && !ttl.has(table)) {
      damagedTopics.add(topic);
      problems.push(
        `${database}.${table} is empty while the sink's progress says offsets of ${topic} are in (${withProgress
          .map((p) => `partition ${p.partition} up to ${p.progressLast}`)
          .join(', ')})`,
      );
    } else if (lost.length > 0 && withProgress.length === 0 && rows === 0) {
      if ((group?.members ?? 0) > 0) {
        problems.push(`${database}.${table} is empty while ${app} has committed offsets of ${topic}`);
        damagedTopics.add(topic);
        continue;
      }
      for (const p of lost) reset.push({ topic, partition: p.partition, offset: p.earliest });
      warnings.push(
        `storage: ${database}.${table} is empty while ${app} had committed ${topic} up to ${lost
          .map((p) => `${p.partition}:${p.committed}`)
          .join(' ')}: re-ingesting ${topic} from the earliest retained offsets`,
      );
    } else if (lost.length > 0 && rows > 0) {
      // Rows without their progress: re-ingesting would duplicate what is in.
      damagedTopics.add(topic);
      problems.push(`the sink's progress for ${topic} is gone while ${database}.${table} holds ${rows} rows`);
    }
  }
  if (problems.length > 0) {
    const topics = [...damagedTopics].sort();
    throw new AppError(
      'STORAGE_DAMAGED',
      `ClickHouse does not hold what the log says the sink wrote: ${problems.join('; ')}. Stop the platform and run \`msgtrack replay --rebuild${topics.length > 0 ? ` ${topics.join(' ')}` : ''}\` to rebuild those tables from the log`,
      { context: { database, applicationId: app } },
    );
  }
  if (record.length > 0) {
    await ch.insert(
      `${database}.${Tables.storeWatermarks}`,
      record.map((w) => ({ table_name: w.table, keys: w.keys, expired: w.expired })),
    );
  }
  if (reset.length > 0) await log.setGroupOffsets(app, reset);
  return { warnings, reset };
}

/**
 * Rows deleted behind the sink's progress (an `ALTER … DELETE`, a dropped partition). Two measures
 * that no legitimate change lowers, so neither can raise a false alarm:
 * - a table that never collapses rows (plain MergeTree) holds at least the rows the sink's progress
 *   says are in (the sum of its partitions' `rows`);
 * - a MergeTree holds at least as many distinct rows (sorting keys: count() FINAL; count() for a
 *   plain MergeTree) as at an earlier check (`store_watermarks`): inserts add keys, merges keep one
 *   row per key. A ReplacingMergeTree legitimately holds fewer rows than were inserted (a duplicate
 *   under another dedup token collapses), so it is only compared with its own past.
 * Neither applies to a table that has (or once had, at a check) a TTL or an is_deleted column: its
 * rows may vanish legitimately (`expiring`; remembered in `store_watermarks`).
 * Returns the problem, or the row to record in `store_watermarks` once the whole check passed.
 */
async function fewerRows(
  ch: ClickHouse,
  database: string,
  table: string,
  engine: string | undefined,
  expiring: boolean,
  rows: number,
  parts: readonly PartitionState[],
): Promise<{ problem?: string; record?: { keys: number; expired: number } }> {
  if (engine === undefined || !engine.endsWith('MergeTree')) return {};
  const [past] = await ch.query<{ keys: string; expired: string }>(
    `SELECT max(keys) AS keys, max(expired) AS expired FROM ${database}.${Tables.storeWatermarks}
     WHERE table_name = {table:String}`,
    { table },
  );
  if (Number(past?.expired ?? 0) > 0) return {};
  if (expiring) return { record: { keys: 0, expired: 1 } };
  const inserted = parts.reduce((n, p) => n + p.rows, 0);
  if (engine === 'MergeTree' && rows < inserted) {
    return {
      problem: `${database}.${table} holds ${rows} rows, fewer than the ${inserted} the sink's progress says it inserted (rows were deleted)`,
    };
  }
  const [now] = await ch.query<{ n: string }>(
    `SELECT count() AS n FROM ${database}.${table}${engine === 'MergeTree' ? '' : ' FINAL'}`,
  );
  const keys = Number(now?.n ?? 0);
  const watermark = Number(past?.keys ?? 0);
  if (keys < watermark) {
    return {
      problem: `${database}.${table} holds ${keys} distinct rows, fewer than the ${watermark} it held at an earlier start (rows were deleted)`,
    };
  }
  return keys > watermark ? { record: { keys, expired: 0 } } : {};
}

export interface ReplayPlan {
  /** Topics re-ingested (the chosen ones, plus those sharing a rebuilt table with them). */
  readonly topics: string[];
  /** Tables emptied first (`--rebuild` only). */
  readonly emptied: string[];
  /** Where each partition starts again: its earliest retained offset. */
  readonly offsets: TopicPartitionOffset[];
}

/**
 * Prepares `msgtrack replay`: the sink's group offsets of `topics` go back to the earliest retained
 * offsets; the sink then re-ingests them exactly once — it skips, by its progress, what is already
 * in (rows below a partition's last inserted range), and inserts the rest.
 *
 * With `rebuild` (for a damaged store, where progress and rows disagree) the topics' tables, and
 * the tables filled from them by materialized views, are emptied and the sink's progress for the
 * topics forgotten first; a topic sharing such a table (`message_rows`: messages and views) is
 * rebuilt with them. Rows older than the log's earliest retained offsets would be gone for good:
 * refused unless `acceptLoss`. The group must have no active member (stop the sink first).
 */
export async function prepareReplay(
  ch: ClickHouse,
  log: Log,
  topics: readonly string[],
  options: StoreOptions & { rebuild?: boolean; acceptLoss?: boolean } = {},
): Promise<ReplayPlan> {
  const app = options.applicationId ?? CLICKHOUSE_SINK_APPLICATION_ID;
  const database = options.database ?? 'message_db';
  for (const t of topics) {
    if (SINK_TABLES[t] === undefined) {
      throw new AppError(
        'CLI_USAGE',
        `${t} is not a topic the clickhouse-sink ingests: expected one of ${Object.keys(SINK_TABLES).join(', ')}`,
      );
    }
  }
  const group = (await log.listGroups()).find((g) => g.groupId === app);
  if ((group?.members ?? 0) > 0) {
    throw new AppError(
      'STORAGE_DAMAGED',
      `${app} has ${group?.members} active member(s): stop the sink (msgtrack start / process clickhouse-sink) before a replay`,
      { context: { applicationId: app } },
    );
  }
  let chosen = [...topics];
  let emptied: string[] = [];
  if (options.rebuild === true) {
    const closure = await rebuildClosure(
      ch,
      chosen.map((t) => SINK_TABLES[t]!),
      database,
    );
    const topicOf = new Map(Object.entries(SINK_TABLES).map(([topic, table]) => [table, topic]));
    chosen = closure.sources.map((table) => {
      const topic = topicOf.get(table);
      if (topic === undefined) {
        throw new AppError(
          'STORAGE_DAMAGED',
          `${database}.${table} is not filled by the clickhouse-sink: cannot rebuild it`,
        );
      }
      return topic;
    });
    emptied = closure.emptied;
  }
  const offsets: TopicPartitionOffset[] = [];
  const older: string[] = [];
  for (const topic of chosen.sort()) {
    const { partitions } = await log.describeTopic(topic);
    for (let p = 0; p < partitions; p++) {
      const { earliest } = await log.partitionOffsets(topic, p);
      if (earliest > 0) older.push(`${topic}/${p} below ${earliest}`);
      offsets.push({ topic, partition: p, offset: earliest });
    }
  }
  if (options.rebuild === true) {
    if (older.length > 0 && options.acceptLoss !== true) {
      throw new AppError(
        'STORAGE_DAMAGED',
        `the log no longer holds ${older.join(', ')}: a rebuild would drop the rows of those offsets for good; pass --accept-loss to rebuild anyway`,
        { context: { database } },
      );
    }
    for (const table of emptied) await ch.command(`TRUNCATE TABLE IF EXISTS ${database}.${table}`);
    // Their detached parts are what the rebuild replaces: dropped, so that the next start is clean.
    for (const d of await detachedParts(ch, database)) {
      if (!emptied.includes(d.table)) continue;
      if (!/^[A-Za-z0-9_.-]+$/.test(d.name)) continue; // a name we would not quote safely: left alone
      await ch.command(
        `ALTER TABLE ${database}.${d.table} DROP DETACHED PART '${d.name}' SETTINGS allow_drop_detached = 1`,
      );
    }
    await ch.command(
      `ALTER TABLE ${database}.sink_progress DELETE
       WHERE application_id = {app:String} AND has({topics:Array(String)}, topic)
       SETTINGS mutations_sync = 2`,
      { app, topics: chosen },
    );
    // The emptied tables start again from nothing: their watermarks go with their rows.
    await ch.command(
      `ALTER TABLE ${database}.${Tables.storeWatermarks} DELETE
       WHERE has({tables:Array(String)}, table_name) SETTINGS mutations_sync = 2`,
      { tables: emptied },
    );
  }
  await log.setGroupOffsets(app, offsets);
  return { topics: chosen, emptied, offsets };
}
