/**
 * Generated chat messages as the processors' oracle traffic delivers them: numbered in event-time
 * order, each given an arrival time (on time, a little out of order, or late beyond the grace), and
 * the wire form a producer would send.
 */
import type { ChatMessageWire } from '../../src/events/index.ts';
import { formatRfc3339 } from '../../src/events/index.ts';
import type { Random } from '../../src/generator/random.ts';

export interface Msg {
  readonly seq: number;
  readonly id: string;
  readonly sender: string;
  readonly receiver: string;
  readonly conversation: string;
  readonly content: string;
  readonly ts: number;
  /** Delivery position: messages are delivered in (arrival, seq) order. */
  readonly arrival: number;
}

export interface Disorder {
  /** Probability that a message arrives up to `disorderMs` after its event time. */
  readonly disorderP: number;
  readonly disorderMs: number;
  /** Probability that a message arrives `lateMs[0]`–`lateMs[1]` ms after its event time. */
  readonly lateP: number;
  readonly lateMs: readonly [number, number];
}

/**
 * Number the messages in event-time order (`seq`, id `msg-000042`), draw each one's arrival from `r`
 * as `disorder` says, and return them in delivery order (arrival, then seq).
 */
export function delivered(
  raw: Array<Omit<Msg, 'seq' | 'id' | 'arrival'>>,
  r: Random,
  disorder: Disorder,
): Msg[] {
  const msgs = raw
    .sort((a, b) => a.ts - b.ts)
    .map((m, seq) => {
      const u = r.next();
      const lag =
        u < disorder.lateP
          ? r.int(disorder.lateMs[0], disorder.lateMs[1])
          : u < disorder.lateP + disorder.disorderP
            ? r.int(1, disorder.disorderMs)
            : 0;
      return { ...m, seq, id: `msg-${String(seq).padStart(6, '0')}`, arrival: m.ts + lag };
    });
  return msgs.sort((a, b) => a.arrival - b.arrival || a.seq - b.seq);
}

export function wireOf(m: Msg): ChatMessageWire {
  return {
    message_id: m.id,
    user_id: m.sender,
    content: m.content,
    timestamp: formatRfc3339(m.ts),
    event_type: 'message_sent',
    conversation_id: m.conversation,
    sender_id: m.sender,
    receiver_id: m.receiver,
    message_type: 'text',
  };
}
