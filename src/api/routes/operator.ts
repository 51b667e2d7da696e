import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError, ErrorCode } from '../../errors/index.ts';
import type { Log } from '../../log/index.ts';
import { operatorQuery } from '../../storage/index.ts';
import type { ApiContext, ZodApp } from '../app.ts';
import { ErrorBodySchema, errorResponses } from '../params.ts';
import { inputLag } from '../throughput.ts';

const Partition = z.object({
  partition: z.number(),
  start_offset: z.number(),
  end_offset: z.number(),
  last_stable_offset: z.number(),
});
const Topic = z.object({
  name: z.string(),
  partitions: z.number(),
  retention_ms: z.number().nullable(),
  cleanup_policy: z.string(),
  offsets: z.array(Partition),
});
const Group = z.object({
  group_id: z.string(),
  members: z.number(),
  partitions: z.array(
    z.object({
      topic: z.string(),
      partition: z.number(),
      committed: z.number(),
      end_offset: z.number(),
      lag: z.number(),
    }),
  ),
  lag: z.number(),
});
const DeadLetterSample = z.object({
  topic: z.string(),
  partition: z.number(),
  offset: z.number(),
  stage: z.string().nullable(),
  reason: z.string().nullable(),
  source: z.object({ topic: z.string(), partition: z.number(), offset: z.number() }).nullable(),
});
const Processor = z.object({
  name: z.string(),
  application_id: z.string(),
  state: z.string(),
  tasks: z.array(z.string()),
  records_processed: z.number(),
  records_per_s: z.number(),
  late_records: z.number(),
  dead_letters: z.number(),
  skipped: z.number(),
  commits: z.number(),
  commit_latency_ms: z.object({ last: z.number(), max: z.number(), avg: z.number() }),
  state_entries: z.number(),
  lag: z.number(),
  lag_by_partition: z.record(z.string(), z.number()),
});

/** Dead-letter samples shown per topic. */
const SAMPLES = 3;
/** Topics listed with offsets at most (every partition costs an offsets request on Kafka). */
const MAX_TOPICS = 500;

/** The last `n` records of every partition of a dead-letter topic, newest last. */
async function deadLetterSamples(log: Log, topic: string, partitions: number, n: number) {
  const consumer = log.consumer({
    groupId: `msgtrack-api-dlq-${randomUUID()}`,
    isolationLevel: 'read_committed',
  });
  const out: z.infer<typeof DeadLetterSample>[] = [];
  try {
    for (let p = 0; p < partitions; p++) {
      const o = await log.partitionOffsets(topic, p);
      if (o.lastStable <= o.earliest) continue;
      const tp = { topic, partition: p };
      consumer.assign([tp]);
      consumer.seek(tp, Math.max(o.earliest, o.lastStable - n));
      const records = (await consumer.poll(200)).filter((r) => r.offset < o.lastStable).slice(-n);
      for (const r of records) {
        let env: {
          stage?: string;
          reason?: string;
          source?: { topic: string; partition: number; offset: number };
        } = {};
        try {
          env = JSON.parse(r.value?.toString('utf8') ?? '{}');
        } catch {
          // not an envelope: shown without its fields
        }
        out.push({
          topic,
          partition: p,
          offset: r.offset,
          stage: typeof env.stage === 'string' ? env.stage : null,
          reason: typeof env.reason === 'string' ? env.reason : null,
          source:
            env.source && typeof env.source.offset === 'number'
              ? {
                  topic: String(env.source.topic),
                  partition: Number(env.source.partition),
                  offset: env.source.offset,
                }
              : null,
        });
      }
    }
  } finally {
    await consumer.close().catch(() => {});
  }
  return out.slice(-n);
}

/** GET /api/v1/topics, GET /api/v1/processors, POST /api/v1/query (the operator's SQL console). */
export function operatorRoutes(ctx: ApiContext) {
  const log = () => ctx.deps.log;
  return async (app: ZodApp) => {
    app.get(
      '/api/v1/topics',
      {
        schema: {
          tags: ['operations'],
          summary:
            'Topics with partitions and offsets; consumer groups with committed offsets and lag per partition',
          response: { 200: z.object({ topics: z.array(Topic), groups: z.array(Group) }), ...errorResponses },
        },
      },
      async () => {
        const described = (await log().listTopics())
          .sort((a, b) => a.name.localeCompare(b.name))
          .slice(0, MAX_TOPICS);
        const ends = new Map<string, number>();
        const topics = [];
        for (const t of described) {
          const offsets = [];
          for (let p = 0; p < t.partitions; p++) {
            const o = await log().partitionOffsets(t.name, p);
            ends.set(`${t.name}:${p}`, o.lastStable);
            offsets.push({
              partition: p,
              start_offset: o.earliest,
              end_offset: o.latest,
              last_stable_offset: o.lastStable,
            });
          }
          topics.push({
            name: t.name,
            partitions: t.partitions,
            retention_ms: t.retentionMs,
            cleanup_policy: t.cleanupPolicy,
            offsets,
          });
        }
        const groups = (await log().listGroups())
          .filter((g) => !g.groupId.startsWith('msgtrack-api-'))
          .sort((a, b) => a.groupId.localeCompare(b.groupId))
          .map((g) => {
            const partitions = g.offsets.map((o) => {
              const end = ends.get(`${o.topic}:${o.partition}`) ?? o.offset;
              return {
                topic: o.topic,
                partition: o.partition,
                committed: o.offset,
                end_offset: end,
                lag: Math.max(0, end - o.offset),
              };
            });
            return {
              group_id: g.groupId,
              members: g.members,
              partitions,
              lag: partitions.reduce((a, p) => a + p.lag, 0),
            };
          });
        return { topics, groups };
      },
    );
    app.get(
      '/api/v1/processors',
      {
        schema: {
          tags: ['operations'],
          summary:
            'Processors of this instance (state, throughput, lag, late records) and dead letters with samples',
          response: {
            200: z.object({
              processors: z.array(Processor),
              dead_letters: z.array(
                z.object({ topic: z.string(), records: z.number(), samples: z.array(DeadLetterSample) }),
              ),
            }),
            ...errorResponses,
          },
        },
      },
      async () => {
        const rates = ctx.sampler.latest.processors;
        const processors = [...ctx.runtimes()].map(([name, r]) => {
          const m = r.metrics();
          const lag = inputLag(r);
          return {
            name,
            application_id: r.applicationId,
            state: m.state,
            tasks: [...m.tasks],
            records_processed: m.counters.recordsProcessed,
            records_per_s: rates[name]?.processed_per_s ?? 0,
            late_records: m.counters.lateRecords,
            dead_letters: m.counters.deadLettered,
            skipped: m.counters.skipped,
            commits: m.commits,
            commit_latency_ms: { ...m.commitLatencyMs },
            state_entries: m.stateEntries,
            lag,
            lag_by_partition: { ...m.lag },
          };
        });
        const dead_letters = [];
        for (const t of (await log().listTopics())
          .filter((d) => d.name.endsWith('.dlq'))
          .sort((a, b) => a.name.localeCompare(b.name))) {
          let records = 0;
          for (let p = 0; p < t.partitions; p++) {
            const o = await log().partitionOffsets(t.name, p);
            records += Math.max(0, o.lastStable - o.earliest);
          }
          dead_letters.push({
            topic: t.name,
            records,
            samples: records === 0 ? [] : await deadLetterSamples(log(), t.name, t.partitions, SAMPLES),
          });
        }
        return { processors, dead_letters };
      },
    );
    const queryEnabled = ctx.deps.api.token !== undefined || ctx.deps.loopback === true;
    app.post(
      '/api/v1/query',
      {
        schema: {
          tags: ['operations'],
          summary:
            'Read-only SQL console (SELECT/WITH, enforced by ClickHouse readonly settings), row and time limits',
          description:
            'Off unless API_TOKEN is set or the API is bound to a loopback address. Parameters: {name:Type} placeholders in the SQL, values in `params`.',
          body: z.object({
            sql: z.string().min(1).max(100_000),
            params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), z.unknown()).optional(),
            max_rows: z.number().int().min(1).max(ctx.deps.api.queryMaxRows).optional(),
          }),
          response: {
            200: z.object({
              columns: z.array(z.object({ name: z.string(), type: z.string() })),
              rows: z.array(z.array(z.unknown())),
              row_count: z.number(),
              truncated: z.boolean(),
              elapsed_ms: z.number(),
            }),
            ...errorResponses,
            403: ErrorBodySchema,
            408: ErrorBodySchema,
          },
        },
      },
      async (request) => {
        if (!queryEnabled) {
          throw new AppError(
            ErrorCode.API_FORBIDDEN,
            'the SQL console is off: set API_TOKEN, or bind the API to a loopback address',
          );
        }
        const b = request.body;
        const r = await operatorQuery(ctx.deps.ch, b.sql, {
          ...(b.params === undefined ? {} : { params: b.params }),
          maxRows: b.max_rows ?? ctx.deps.api.queryMaxRows,
          maxExecutionMs: ctx.deps.api.queryMaxExecutionMs,
          database: ctx.database,
        });
        return {
          columns: r.columns,
          rows: r.rows,
          row_count: r.rowCount,
          truncated: r.truncated,
          elapsed_ms: r.elapsedMs,
        };
      },
    );
  };
}
