import {
  formatRfc3339,
  Topics,
  type UserActivityMetric,
  UserActivityMetricSchema,
} from '../../events/index.ts';
import type { Log } from '../../log/index.ts';
import {
  Codecs,
  DEFAULT_GRACE_MS,
  Stores,
  type StreamsBuilder,
  type StreamsRuntime,
  TimeWindows,
} from '../../streams/index.ts';
import { chatMessageCodec, messageTime, messageViewCodec, viewTime } from '../codecs.ts';
import { type ProcessorRuntimeOptions, processorRuntime } from '../runtime.ts';
import { type Activity, type EarlyViews, type JoinInput, ReadJoin, type Receiver } from './read-join.ts';

export const USER_ACTIVITY_APPLICATION_ID = 'user-activity';

/** Every window and retention (config: USER_ACTIVITY_*, STREAMS_*); defaults as in the config schema. */
export interface UserActivityOptions extends ProcessorRuntimeOptions {
  /** Tumbling window, ms. Default 60 000. */
  readonly windowMs?: number;
  /** Grace of the windows, ms. Default 5 000. */
  readonly graceMs?: number;
  /** How long a message waits for its views and a view for its message, ms of stream time. Default 3 600 000. */
  readonly joinRetentionMs?: number;
  /** Partitions of the two message_id repartition topics (co-partitioned). Default: those of chat.messages (6). */
  readonly joinPartitions?: number;
}

/** A user's window while it is open (`c`: distinct conversations, sorted). */
interface WindowActivity {
  s: number;
  r: number;
  v: number;
  c: string[];
}

function addActivity(_user: string, a: Activity, w: WindowActivity): WindowActivity {
  if (a.k === 'read') w.v++;
  else {
    if (a.k === 'sent') w.s++;
    else w.r++;
    const c = w.c;
    let i = c.length;
    while (i > 0 && (c[i - 1] as string) > a.c) i--;
    if (c[i - 1] !== a.c) c.splice(i, 0, a.c);
  }
  return w;
}

/**
 * `formatRfc3339` remembering its last two answers: the windows closing together (every user's
 * minute) share their start and end, so a close formats two instants instead of two per user.
 */
function lastFormatted(): (epochMs: number) => string {
  const memo: Array<[number, string]> = [];
  return (epochMs) => {
    for (const [t, text] of memo) if (t === epochMs) return text;
    const text = formatRfc3339(epochMs);
    memo.unshift([epochMs, text]);
    if (memo.length > 2) memo.pop();
    return text;
  };
}

const RECEIVERS_STORE = 'message-receivers';
const EARLY_VIEWS_STORE = 'early-views';

/**
 * user-activity: messages and views → re-key by message_id (`<app>-messages-by-id-repartition`,
 * `<app>-views-by-id-repartition`, co-partitioned) → the read join → re-key by user
 * (`<app>-by-user-repartition`) → tumbling windows, one final record per closed window →
 * `user-activity-metrics` (key user_id). See README.md for the semantics.
 */
export function userActivityTopology(options: UserActivityOptions = {}) {
  const windowMs = options.windowMs ?? 60_000;
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const retentionMs = options.joinRetentionMs ?? 3_600_000;
  const partitions = options.joinPartitions ?? Topics.chatMessages.partitions;
  const join = Codecs.json<JoinInput>();
  const formatTime = lastFormatted();
  return (b: StreamsBuilder): void => {
    b.addStateStore(Stores.keyValue(RECEIVERS_STORE, { key: Codecs.string, value: Codecs.json<Receiver>() }));
    b.addStateStore(
      Stores.keyValue(EARLY_VIEWS_STORE, { key: Codecs.string, value: Codecs.json<EarlyViews>() }),
    );
    const messages = b
      .stream(Topics.chatMessages.name, {
        key: Codecs.nullable(Codecs.string),
        value: chatMessageCodec,
        timestamp: messageTime,
      })
      .map((_k, m): [string, JoinInput] => [
        m.message_id,
        { k: 'm', s: m.sender_id, r: m.receiver_id, c: m.conversation_id },
      ])
      .repartition({ name: 'messages-by-id', key: Codecs.string, value: join, partitions });
    const views = b
      .stream(Topics.messageViews.name, {
        key: Codecs.nullable(Codecs.string),
        value: messageViewCodec,
        timestamp: viewTime,
      })
      .map((_k, v): [string, JoinInput] => [v.message_id, { k: 'v', u: v.user_id }])
      .repartition({ name: 'views-by-id', key: Codecs.string, value: join, partitions });
    messages
      .merge(views)
      .process(
        () =>
          new ReadJoin({ retentionMs, receiversStore: RECEIVERS_STORE, earlyViewsStore: EARLY_VIEWS_STORE }),
        { name: 'read-join', stores: [RECEIVERS_STORE, EARLY_VIEWS_STORE] },
      )
      .groupByKey({ name: 'by-user', key: Codecs.string, value: Codecs.json<Activity>() })
      .windowedBy(TimeWindows.ofSizeAndGrace(windowMs, graceMs))
      .aggregate((): WindowActivity => ({ s: 0, r: 0, v: 0, c: [] }), addActivity, {
        name: 'user-windows',
        emit: 'onWindowClose',
        codec: Codecs.json<WindowActivity>(),
      })
      .map((w, a): [string, UserActivityMetric] => [
        w.key,
        {
          user_id: w.key,
          window_start: formatTime(w.startMs),
          window_end: formatTime(w.endMs),
          messages_sent: a.s,
          messages_received: a.r,
          reads: a.v,
          active_conversations: a.c.length,
        },
      ])
      .to(Topics.userActivityMetrics.name, {
        key: Codecs.string,
        value: Codecs.schema(UserActivityMetricSchema),
      });
  };
}

export interface UserActivityDeps {
  readonly log: Log;
}

/** user-activity as a running application (its own group, transactional id and internal topics). */
export function createUserActivity(
  deps: UserActivityDeps,
  options: UserActivityOptions = {},
): StreamsRuntime {
  return processorRuntime(
    deps.log,
    { applicationId: USER_ACTIVITY_APPLICATION_ID, commitIntervalMs: 100 },
    options,
    userActivityTopology(options),
  );
}
