import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ENV, loadConfig } from '../../src/config/index.ts';
import { ErrorCode } from '../../src/errors/index.ts';
import {
  AlertKind,
  AnomalyAlertSchema,
  type ChatMessageWire,
  formatRfc3339,
  type MessageViewWire,
  Topics,
  UserActivityMetricSchema,
} from '../../src/events/index.ts';
import {
  ANOMALY_DEFAULT_COMMIT_INTERVAL_MS,
  anomalyDetectionTopology,
} from '../../src/processors/anomaly-detection/index.ts';
import { SINK_DEFAULTS } from '../../src/processors/clickhouse-sink/index.ts';
import { conversationRules } from '../../src/processors/conversation-analytics/index.ts';
import { trendRules } from '../../src/processors/trend-detection/index.ts';
import { userActivityTopology } from '../../src/processors/user-activity/index.ts';
import { Codecs, DEFAULT_GRACE_MS, TopologyTestDriver } from '../../src/streams/index.ts';

/**
 * What the prose says about the environment equals the schema (src/config): every variable the README,
 * docs/ and the processors' READMEs name exists (or belongs to a script or the compose file that reads
 * it), and every default they state is the schema's. docs/configuration.md itself is generated
 * (test/scripts/docs.test.ts).
 */

const ROOT = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');

function documents(): string[] {
  const docs = readdirSync(new URL('docs/', ROOT))
    .filter((f) => f.endsWith('.md') && f !== 'configuration.md' && f !== 'cli.md')
    .map((f) => `docs/${f}`);
  const processors = readdirSync(new URL('src/processors/', ROOT), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `src/processors/${d.name}/README.md`)
    .filter((p) => {
      try {
        read(p);
        return true;
      } catch {
        return false;
      }
    });
  return ['README.md', ...docs, ...processors];
}

/** Files that read environment variables of their own (scripts, the compose deployment, benchmarks). */
const OTHER_READERS = [
  'scripts/kafka.sh',
  'scripts/health-check.sh',
  'scripts/create-topics.sh',
  'docker-compose.yml',
  'deploy/env.example',
  ...readdirSync(new URL('bench/', ROOT)).map((f) => `bench/${f}`),
];

const schemaVars = new Set(Object.keys(ENV));
const codes = new Set<string>(Object.values(ErrorCode));
/** Upper-case words that are values or protocol names, not variables. */
const NOT_VARIABLES = new Set(['SASL_PLAINTEXT', 'SASL_SSL', 'SCRAM_SHA_256', 'SCRAM_SHA_512']);

test('every environment variable the docs name is in the config schema, or read by a script or the deployment', () => {
  const others = OTHER_READERS.map((f) => {
    try {
      return read(f);
    } catch {
      return '';
    }
  }).join('\n');
  const unknown: string[] = [];
  for (const doc of documents()) {
    for (const [name] of read(doc).matchAll(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b/g)) {
      if (schemaVars.has(name) || codes.has(name) || NOT_VARIABLES.has(name) || others.includes(name))
        continue;
      unknown.push(`${doc}: ${name}`);
    }
  }
  assert.deepStrictEqual([...new Set(unknown)], []);
});

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000 };

/** "60 s", "10 min", "3 600 000", "1e-5", "0.00001" → a number (in ms for a `_MS` variable). */
function parseStated(name: string, text: string): number | undefined {
  const m =
    /^((?:\d{1,3}(?:[\u00a0\u202f ,]\d{3})+|\d+)(?:\.\d+)?(?:e-?\d+)?)(?:\s*(ms|s|min|h)\b)?(?=$|[\s,:;)|])/.exec(
      text.trim(),
    );
  if (m === null) return undefined;
  const value = Number((m[1] as string).replace(/[\s,]/g, ''));
  const unit = m[2];
  if (unit === undefined) return value;
  assert.ok(name.endsWith('_MS'), `${name}: a duration given for a variable without _MS`);
  return value * (UNIT_MS[unit] as number);
}

/** Every default the docs state: "`VAR` (60 s)", "`VAR` (default X)", "| `VAR` | 5000 |", "| field | `VAR` | 60 000 |". */
function statedDefaults(): { doc: string; name: string; stated: string }[] {
  const found: { doc: string; name: string; stated: string }[] = [];
  for (const doc of documents()) {
    const text = read(doc);
    for (const m of text.matchAll(/`([A-Z][A-Z0-9_]+)` \((default )?`?([^`),;]+)`?/g)) {
      found.push({ doc, name: m[1] as string, stated: `${m[2] ?? ''}${m[3]}` });
    }
    for (const line of text.split('\n')) {
      const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
      if (cells.length < 4) continue;
      // A row whose cell is a list of variables and the next one their defaults, in order.
      for (let i = 1; i + 1 < cells.length; i++) {
        const names = [...(cells[i] as string).matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((x) => x[1] as string);
        if (names.length === 0 || !names.every((n) => schemaVars.has(n))) continue;
        if ((cells[i] as string).replace(/`[A-Z0-9_]+`|[, ]/g, '') !== '') continue;
        const values = (cells[i + 1] as string).split(/,\s+/);
        if (values.length !== names.length) continue;
        names.forEach((name, k) => {
          found.push({ doc, name, stated: values[k] as string });
        });
      }
    }
  }
  return found;
}

test('every default the docs state for a variable is the schema default', () => {
  const stated = statedDefaults();
  assert.ok(stated.length >= 30, `defaults found in the docs: ${stated.length}`);
  const wrong: string[] = [];
  for (const { doc, name, stated: text } of stated) {
    const spec = (ENV as Record<string, { default?: string }>)[name];
    if (spec === undefined) continue; // a script's variable: the first test covers it
    const isDefault = text.startsWith('default ');
    const value = isDefault ? text.slice('default '.length) : text;
    const number = parseStated(name, value);
    if (number !== undefined) {
      if (spec.default === undefined || Number(spec.default) !== number) {
        wrong.push(`${doc}: ${name} stated ${value}, schema default ${spec.default}`);
      }
    } else if (isDefault && !value.startsWith(':') && value !== spec.default) {
      wrong.push(`${doc}: ${name} stated default ${value}, schema default ${spec.default}`);
    }
  }
  assert.deepStrictEqual(wrong, []);
});

test("the processors' own defaults (used when a caller passes no option) equal the config schema's", () => {
  const config = loadConfig({});
  const conversation = conversationRules();
  const trend = trendRules();
  const { stopWords: _builtIn, ...trendConfig } = config.processors.trendDetection;
  assert.deepStrictEqual(
    {
      grace: config.streams.graceMs,
      anomalyCommitIntervalMs: config.processors.anomalyDetection.commitIntervalMs,
      sink: config.processors.clickhouseSink,
      conversation: config.processors.conversationAnalytics,
      trend: trendConfig,
    },
    {
      grace: DEFAULT_GRACE_MS,
      anomalyCommitIntervalMs: ANOMALY_DEFAULT_COMMIT_INTERVAL_MS,
      sink: SINK_DEFAULTS,
      conversation: {
        windowMs: conversation.windowMs,
        hopMs: conversation.hopMs,
        peakFactor: conversation.peakFactor,
        peakMinCount: conversation.peakMinCount,
        peakSignificance: conversation.peakSignificance,
        baselineFloor: conversation.baselineFloor,
        baselineMs: conversation.baselineMs,
      },
      trend: {
        windowMs: trend.windowMs,
        topN: trend.topN,
        baselineWindows: trend.baselineWindows,
        minCount: trend.minCount,
        surgeScore: trend.surgeScore,
      },
    },
  );
});

/*
 * anomaly-detection and user-activity keep their defaults inside their topologies, so the two tests
 * below run each topology with no options through the test driver and probe every default at its
 * edge: a value the config schema's default puts just inside (it must count) and one 1 ms past it (it
 * must not). A processor default other than the schema's fails one side of a probe. The commit
 * interval and the sink's batch and flush defaults, which only a running runtime reads, are compared
 * through their exported constants above.
 */

const T0 = Date.UTC(2025, 10, 8, 14, 0, 0);
const FAR = Date.UTC(2030, 0, 1);
const nullableKey = Codecs.nullable(Codecs.string);

function chatMessage(
  id: string,
  sender: string,
  receiver: string,
  ms: number,
  content: string,
): ChatMessageWire {
  return {
    message_id: id,
    content,
    timestamp: formatRfc3339(ms),
    conversation_id: `conv-${sender}`,
    sender_id: sender,
    receiver_id: receiver,
  };
}

const chatMessagesInto = (driver: TopologyTestDriver) =>
  driver.createInputTopic(Topics.chatMessages.name, {
    key: nullableKey,
    value: Codecs.json<ChatMessageWire>(),
  });

test("anomaly-detection's default rules equal the config schema's: the threshold within the window alerts, over a window 1 ms longer it does not", () => {
  const rules = loadConfig({}).processors.anomalyDetection;
  const driver = new TopologyTestDriver(anomalyDetectionTopology(), { applicationId: 'defaults-anomaly' });
  const input = chatMessagesInto(driver);
  const output = driver.createOutputTopic(Topics.anomalyAlerts.name, {
    key: Codecs.string,
    value: Codecs.schema(AnomalyAlertSchema),
  });
  // Per sender: `count` messages evenly from T0 to T0 + spanMs (first and last at the ends); one text
  // repeated for the duplicate rule, distinct texts for the rate rule.
  const probes = [
    { sender: 'rate-within', count: rules.rateThreshold, spanMs: rules.rateWindowMs, same: false },
    { sender: 'rate-over', count: rules.rateThreshold, spanMs: rules.rateWindowMs + 1, same: false },
    { sender: 'dup-within', count: rules.duplicateThreshold, spanMs: rules.duplicateWindowMs, same: true },
    { sender: 'dup-over', count: rules.duplicateThreshold, spanMs: rules.duplicateWindowMs + 1, same: true },
  ];
  const messages = probes.flatMap(({ sender, count, spanMs, same }) =>
    Array.from({ length: count }, (_, i) => {
      const ms = T0 + Math.round((i * spanMs) / (count - 1));
      return chatMessage(`${sender}-${i}`, sender, 'bob', ms, same ? 'win a prize' : `message ${i}`);
    }),
  );
  messages.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
  for (const m of messages) input.pipe(m.conversation_id, m, Date.parse(m.timestamp));
  input.pipe('flush', chatMessage('flush', 'zz-flush', 'bob', FAR, 'flush'), FAR);
  const alerted: Record<string, { kind: string; threshold: number }> = {};
  for (const a of output.readValues()) alerted[a.user_id] = { kind: a.kind, threshold: a.threshold };
  assert.deepStrictEqual(alerted, {
    'rate-within': { kind: AlertKind.RATE, threshold: rules.rateThreshold },
    'dup-within': { kind: AlertKind.DUPLICATE_CONTENT, threshold: rules.duplicateThreshold },
  });
});

test("user-activity's default window and join retention equal the config schema's: a view at its message's time + retention is a read, 1 ms later it is not", () => {
  const { windowMs, joinRetentionMs } = loadConfig({}).processors.userActivity;
  const driver = new TopologyTestDriver(userActivityTopology(), { applicationId: 'defaults-activity' });
  const messages = chatMessagesInto(driver);
  const views = driver.createInputTopic(Topics.messageViews.name, {
    key: nullableKey,
    value: Codecs.json<MessageViewWire>(),
  });
  const output = driver.createOutputTopic(Topics.userActivityMetrics.name, {
    key: Codecs.string,
    value: Codecs.schema(UserActivityMetricSchema),
  });
  const view = (id: string, viewer: string, ms: number): MessageViewWire => ({
    message_id: id,
    user_id: viewer,
    viewed_at: formatRfc3339(ms),
    device: 'web',
  });
  messages.pipe('c1', chatMessage('m-within', 'alice', 'bob', T0, 'hello'), T0);
  messages.pipe('c2', chatMessage('m-over', 'carol', 'dave', T0, 'hello'), T0);
  views.pipe('bob', view('m-within', 'bob', T0 + joinRetentionMs), T0 + joinRetentionMs);
  views.pipe('dave', view('m-over', 'dave', T0 + joinRetentionMs + 1), T0 + joinRetentionMs + 1);
  messages.pipe('zz', chatMessage('flush', 'zz-flush', 'zz-flush', FAR, 'flush'), FAR);
  const metrics = output.readValues().filter((m) => m.user_id !== 'zz-flush');
  const reads: Record<string, number> = {};
  for (const m of metrics) if (m.reads > 0) reads[m.user_id] = (reads[m.user_id] ?? 0) + m.reads;
  assert.deepStrictEqual(
    {
      windowSizes: [...new Set(metrics.map((m) => Date.parse(m.window_end) - Date.parse(m.window_start)))],
      users: [...new Set(metrics.map((m) => m.user_id))].sort(),
      reads,
    },
    { windowSizes: [windowMs], users: ['alice', 'bob', 'carol', 'dave'], reads: { bob: 1 } },
  );
});
