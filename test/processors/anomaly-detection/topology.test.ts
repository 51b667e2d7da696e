/** anomaly-detection through TopologyTestDriver: worked examples, and oracle tests on generated traffic. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AnomalyAlert,
  AnomalyAlertSchema,
  type ChatMessageWire,
  Topics,
} from '../../../src/events/index.ts';
import { anomalyDetectionTopology } from '../../../src/processors/anomaly-detection/index.ts';
import { Codecs, TopologyTestDriver } from '../../../src/streams/index.ts';
import { type Msg, wireOf } from '../delivery.ts';
import { accepted, bursts, finalAlerts, spamTraffic, type TrafficShape } from './oracle.ts';

const GRACE = 5_000;
const RULES = { rateThreshold: 8, rateWindowMs: 60_000, duplicateThreshold: 5, duplicateWindowMs: 600_000 };
const key = Codecs.nullable(Codecs.string);
const wire = Codecs.json<ChatMessageWire>();
const alerts = { key: Codecs.string, value: Codecs.schema(AnomalyAlertSchema) };
const FAR = Date.UTC(2030, 0, 1);

function driverFor() {
  const driver = new TopologyTestDriver(anomalyDetectionTopology({ ...RULES, graceMs: GRACE }), {
    applicationId: 'anomaly-test',
  });
  return {
    driver,
    input: driver.createInputTopic(Topics.chatMessages.name, { key, value: wire }),
    output: driver.createOutputTopic(Topics.anomalyAlerts.name, alerts),
  };
}

/** Pipe every message, then one far in the future that makes every burst final. */
function run(msgs: readonly Msg[]) {
  const { driver, input, output } = driverFor();
  const records: AnomalyAlert[] = [];
  const openedAfter = new Map<string, string>();
  for (const m of msgs) {
    input.pipe(m.conversation, wireOf(m), m.arrival);
    for (const a of output.readValues()) {
      if (!openedAfter.has(a.alert_id)) openedAfter.set(a.alert_id, m.id);
      records.push(a);
    }
  }
  input.pipe('flush', wireOf({ ...(msgs[0] as Msg), id: 'flush', sender: 'zz-flush', ts: FAR }), FAR);
  records.push(...output.readValues());
  return { records, openedAfter, metrics: driver.metrics() };
}

function expected(msgs: readonly Msg[]) {
  const { accepted: ok, late } = accepted(msgs, GRACE);
  const all = [
    ...bursts(ok, { kind: 'rate', threshold: 8, windowMs: 60_000 }),
    ...bursts(ok, { kind: 'duplicate_content', threshold: 5, windowMs: 600_000 }),
  ].sort((a, b) => (a.alert_id < b.alert_id ? -1 : 1));
  return { alerts: all, late };
}

const at = (s: number) => Date.UTC(2025, 10, 8, 14, 0, 0) + s * 1000;
const msg = (id: string, sender: string, s: number, content = `hello ${id}`): Msg => ({
  seq: 0,
  id,
  sender,
  receiver: 'bob',
  conversation: 'c1',
  content,
  ts: at(s),
  arrival: at(s),
});

test('worked example: a burst across a minute boundary alerts at its 8th message, once; re-arms after the count drops', () => {
  const { input, output } = driverFor();
  // eve: 8 messages from 14:00:55 to 14:01:05 (no calendar minute holds 8), 2 more, a pause, then 8 again.
  const times = [55, 56, 57, 58, 59, 61, 63, 65, 70, 75, 200, 201, 202, 203, 204, 205, 206, 207];
  const log: string[] = [];
  times.forEach((s, i) => {
    const m = msg(`e${String(i).padStart(2, '0')}`, 'eve', s);
    input.pipe(m.conversation, wireOf(m), m.ts);
    for (const a of output.readValues())
      log.push(
        `after ${m.id}: ${a.status} v${a.version} ${a.trigger_message_id} n=${a.message_count} peak=${a.count}`,
      );
  });
  // Five times the same text (modulo case and whitespace) within 10 minutes.
  ['Buy NOW', ' buy  now ', 'buy now', 'BUY now', 'buy\tnow'].forEach((c, i) => {
    const m = msg(`d${i}`, 'dan', 300 + i * 100, c);
    input.pipe(m.conversation, wireOf(m), m.ts);
    for (const a of output.readValues())
      log.push(`after ${m.id}: ${a.kind} ${a.status} v${a.version} peak=${a.count}`);
  });
  const flush = msg('zz', 'zz-flush', 10_000);
  input.pipe('c', wireOf(flush), flush.ts);
  for (const a of output.readValues())
    log.push(
      `flush: ${a.kind} ${a.user_id} ${a.status} v${a.version} ${a.window_start}..${a.window_end} ${a.severity}`,
    );
  assert.deepStrictEqual(log, [
    'after e07: open v1 e07 n=8 peak=8',
    // The first burst (10 messages, at most 10 in 60 s: still low) ends at 14:01:57.001, when e02
    // (the first of its last 8) leaves the window; final once stream time passes that + grace.
    'after e10: closed v4 e07 n=10 peak=10',
    // Re-armed: a new burst, a new alert id.
    'after e17: open v1 e17 n=8 peak=8',
    'after d0: rate closed v4 peak=8',
    'after d4: duplicate_content open v1 peak=5',
    'flush: duplicate_content dan closed v4 2025-11-08T14:05:00.000Z..2025-11-08T14:11:40.000Z low',
  ]);
});

const SHAPE: TrafficShape = {
  seed: 1,
  users: 30,
  spammers: 6,
  minutes: 20,
  disorderP: 0,
  disorderMs: 0,
  lateP: 0,
};

test('oracle, in order: exactly one alert per burst, sent when its trigger (8th / 5th) message is processed', () => {
  for (const seed of [1]) {
    const msgs = spamTraffic({ ...SHAPE, seed });
    const got = run(msgs);
    const want = expected(msgs);
    const opened = want.alerts.map((a) => [a.alert_id, a.trigger_message_id]);
    assert.deepStrictEqual(
      {
        alerts: finalAlerts(got.records),
        openedAfter: [...got.openedAfter].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
        retracted: got.records.filter((a) => a.status === 'retracted').length,
        late: got.metrics.lateRecords,
        // Only the flush message's sender is left: its rate entry (carrying its one message), and its
        // first occurrence of that content (a content sent once has no duplicate-rule entry of its own).
        stateEntries: got.metrics.stateEntries,
      },
      { alerts: want.alerts, openedAfter: opened, retracted: 0, late: 0, stateEntries: 2 },
    );
    assert.ok(want.alerts.filter((a) => a.kind === 'rate').length >= 5, `seed ${seed}: rate bursts`);
    assert.ok(
      want.alerts.filter((a) => a.kind === 'duplicate_content').length >= 3,
      `seed ${seed}: duplicates`,
    );
  }
});

test('oracle, out of order within grace and late beyond it: the same alerts as the brute force on the accepted messages', () => {
  for (const seed of [3, 4]) {
    const msgs = spamTraffic({ ...SHAPE, seed, disorderP: 0.3, disorderMs: 4_000, lateP: 0.03 });
    const got = run(msgs);
    const want = expected(msgs);
    assert.deepStrictEqual(
      { alerts: finalAlerts(got.records), late: got.metrics.lateRecords },
      { alerts: want.alerts, late: want.late },
    );
    assert.ok(want.late > 10, `seed ${seed}: late messages`);
    // Within grace only (no late message), disorder changes nothing: the alerts of the in-order run.
    const inGrace = msgs.filter((m) => m.arrival - m.ts <= 4_000);
    const sorted = [...inGrace]
      .sort((a, b) => a.ts - b.ts || a.seq - b.seq)
      .map((m) => ({ ...m, arrival: m.ts }));
    assert.deepStrictEqual(finalAlerts(run(inGrace).records), finalAlerts(run(sorted).records));
  }
});

test('severity rises with the burst (an update per level), and an out-of-order message that joins two bursts retracts the later alert', () => {
  const { input, output } = driverFor();
  const log: string[] = [];
  const pipe = (m: Msg) => {
    input.pipe(m.conversation, wireOf(m), m.ts);
    for (const a of output.readValues())
      log.push(
        `after ${m.id}: ${a.status} v${a.version} ${a.trigger_message_id} ${a.severity} peak=${a.count}`,
      );
  };
  // 16 messages in 15 s: low at 8, medium at 12, high at 16.
  for (let i = 0; i < 16; i++) pipe(msg(`a${String(i).padStart(2, '0')}`, 'ann', i));
  // bob: 8 messages in 14:01:40–14:01:47: a burst that ends at 14:02:40.001 (the first leaves the
  // window); a message at 14:02:41 makes 8 again: a second burst…
  for (let i = 0; i < 8; i++) pipe(msg(`b0${i}`, 'bob', 100 + i));
  pipe(msg('b10', 'bob', 161));
  // …until one at 14:02:40 (1 s behind stream time, within grace) fills the gap: one burst, the
  // first's; the second alert is retracted.
  pipe(msg('b11', 'bob', 160));
  const flush = msg('zz', 'zz-flush', 10_000);
  input.pipe('c', wireOf(flush), flush.ts);
  for (const a of output.readValues())
    log.push(
      `flush: ${a.user_id} ${a.status} v${a.version} ${a.trigger_message_id} ${a.severity} n=${a.message_count}`,
    );
  assert.deepStrictEqual(log, [
    'after a07: open v1 a07 low peak=8',
    'after a11: open v2 a07 medium peak=12',
    'after a15: open v3 a07 high peak=16',
    'after b00: closed v4 a07 high peak=16',
    'after b07: open v1 b07 low peak=8',
    'after b10: open v1 b10 low peak=8',
    'after b11: retracted v5 b10 low peak=8',
    'flush: bob closed v4 b07 low n=10',
  ]);
});
