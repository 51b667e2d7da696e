// The pipeline page: processors, dead letters, consumer groups and topics.
import { api } from './api.js';
import { card, fmt, h, kpis, table } from './ui.js';

export async function pipeline(ctx) {
  const [t, p] = await Promise.all([api('/api/v1/topics'), api('/api/v1/processors')]);
  const tick = ctx.live;
  return h(
    'div',
    {},
    kpis([
      ['Msgs/s in', tick ? fmt(tick.messages_in_per_s) : '…', 'rate'],
      ['Processed/s', tick ? fmt(tick.processed_per_s) : '…', 'processed'],
      ['Total lag', tick ? fmt(tick.lag) : '…', 'lag'],
    ]),
    card(
      'Processors',
      table(
        [
          { label: 'name', get: (x) => x.name },
          { label: 'state', get: (x) => x.state },
          { label: 'tasks', get: (x) => x.tasks.length, num: true },
          { label: 'records', get: (x) => fmt(x.records_processed), num: true },
          { label: 'records/s', get: (x) => fmt(x.records_per_s), num: true },
          { label: 'lag', get: (x) => fmt(x.lag), num: true },
          { label: 'late', get: (x) => fmt(x.late_records), num: true },
          { label: 'dead letters', get: (x) => fmt(x.dead_letters), num: true },
          {
            label: 'commit ms (avg/max)',
            get: (x) => `${fmt(x.commit_latency_ms.avg)} / ${fmt(x.commit_latency_ms.max)}`,
            num: true,
          },
        ],
        p.processors,
        'No processors in this instance (`msgtrack api` runs none; `msgtrack start` runs them all).',
      ),
    ),
    card(
      'Dead letters',
      table(
        [
          { label: 'topic', get: (d) => d.topic },
          { label: 'records', get: (d) => fmt(d.records), num: true },
          {
            label: 'samples (stage: reason)',
            get: (d) =>
              h(
                'ul',
                {},
                d.samples.map((s) =>
                  h('li', {}, `${s.stage ?? '?'}: ${s.reason ?? '?'} @${s.partition}:${s.offset}`),
                ),
              ),
          },
        ],
        p.dead_letters.filter((d) => d.records > 0),
        'No dead letters: every record so far was decoded and processed.',
      ),
    ),
    card(
      'Consumer groups',
      table(
        [
          { label: 'group', get: (g) => g.group_id },
          { label: 'members', get: (g) => fmt(g.members), num: true },
          { label: 'lag', get: (g) => fmt(g.lag), num: true },
          {
            label: 'partitions (topic:partition committed/end)',
            get: (g) =>
              g.partitions.map((x) => `${x.topic}:${x.partition} ${x.committed}/${x.end_offset}`).join(', '),
          },
        ],
        t.groups,
        'No consumer groups have committed yet.',
      ),
    ),
    card(
      'Topics',
      table(
        [
          { label: 'topic', get: (x) => x.name },
          { label: 'partitions', get: (x) => x.partitions, num: true },
          {
            label: 'records (end − start)',
            get: (x) => fmt(x.offsets.reduce((s, o) => s + o.end_offset - o.start_offset, 0)),
            num: true,
          },
          {
            label: 'offsets (start–end per partition)',
            get: (x) => x.offsets.map((o) => `${o.partition}:${o.start_offset}–${o.end_offset}`).join(' '),
          },
          { label: 'cleanup', get: (x) => x.cleanup_policy },
        ],
        t.topics,
        'No topics: the log has none yet.',
      ),
    ),
  );
}
