import type { MessageViewWire } from '../events/index.ts';
import { Topics } from '../events/index.ts';
import { type Conversation, DEVICES, type Population } from './population.ts';
import type { Random } from './random.ts';
import { rfc3339Formatter } from './rfc3339-formatter.ts';
import type { GeneratedEvent } from './traffic.ts';

/** A receipt due later; its wire form is built when it is emitted (in time order: cheap to format). */
export interface PendingView {
  readonly messageId: string;
  readonly viewer: number;
  readonly device: string;
}

/**
 * The read receipts (`message-views`) of the default profile: who views a message, when and on which
 * device. Each receipt is handed to `due` (the simulation's time queue) and becomes an event when the
 * simulation reaches its time. Draws only from its own `rnd`, so receipts never shift the messages.
 */
export class Receipts {
  readonly #rnd: Random;
  readonly #pop: Population;
  readonly #due: (atMs: number, view: PendingView) => void;
  readonly #formatTime = rfc3339Formatter();
  /** Receipts emitted so far. */
  count = 0;

  constructor(rnd: Random, pop: Population, due: (atMs: number, view: PendingView) => void) {
    this.#rnd = rnd;
    this.#pop = pop;
    this.#due = due;
  }

  /** The receipt's event at `t` (its due time). */
  event(t: number, view: PendingView): GeneratedEvent {
    this.count++;
    const { messageId, viewer, device } = view;
    const value: MessageViewWire = {
      message_id: messageId,
      user_id: this.#pop.userIds[viewer]!,
      viewed_at: this.#formatTime(t),
      device,
    };
    return { kind: 'view', topic: Topics.messageViews.name, key: value.user_id, timeMs: t, value };
  }

  /** Online readers answer in seconds (log-normal, median 6 s), the others within 1–15 minutes. */
  #readDelay(): number {
    const rnd = this.#rnd;
    if (rnd.chance(0.65)) return Math.min(120_000, Math.max(400, Math.round(rnd.logNormal(6_000, 1))));
    return rnd.int(60_000, 900_000);
  }

  #view(id: string, viewer: number, atMs: number, otherDevice: boolean): void {
    const usual = this.#pop.device[viewer]!;
    const device = otherDevice ? DEVICES[(DEVICES.indexOf(usual) + this.#rnd.int(1, 2)) % 3]! : usual;
    this.#due(atMs, { messageId: id, viewer, device });
  }

  /**
   * The receiver reads 85 % of messages (30 % of spam), 8 % of reads again on a second device; in
   * groups each other member views a message with probability 0.15; in 1:1 the sender looks at 2 %
   * of their own messages again from another device.
   */
  schedule(
    id: string,
    ms: number,
    conversation: Conversation,
    sender: number,
    receiver: number,
    spam: boolean,
  ): void {
    const rnd = this.#rnd;
    if (rnd.chance(spam ? 0.3 : 0.85)) {
      const at = ms + this.#readDelay();
      this.#view(id, receiver, at, false);
      if (rnd.chance(0.08)) this.#view(id, receiver, at + rnd.int(2_000, 600_000), true);
    }
    if (conversation.members.length > 2) {
      for (const m of conversation.members) {
        if (m !== sender && m !== receiver && rnd.chance(0.15))
          this.#view(id, m, ms + this.#readDelay(), false);
      }
    } else if (rnd.chance(0.02)) {
      this.#view(id, sender, ms + rnd.int(1_000, 60_000), true);
    }
  }
}
