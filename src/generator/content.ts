import { cumulativeIndex, type Random } from './random.ts';
import { FILLER_WORDS, ORDINARY_WORDS, SPAM_PARTS, TREND_WORDS } from './vocabulary.ts';

/**
 * Message texts. Each text comes with a 32-bit fingerprint of its word sequence (capitals, the
 * closing punctuation and emoticons left out), so that two texts with the same fingerprint are the
 * same under any normalisation that keeps the words; the simulation uses it to keep ordinary users
 * from repeating themselves.
 */
export interface Text {
  readonly text: string;
  readonly fingerprint: number;
}

/** Zipf exponent of the ordinary vocabulary: rank 1 is ~7 % of the ordinary words drawn. */
const ZIPF_S = 0.8;
const ENDINGS = ['', '', '', '', '?', '?', '!', '.', ' :)', ' 👍', '!!', ' 😂'];
const FILLER_ID = 10_000;
const TREND_ID = 20_000;
const SPAM_ID = 30_000;

export class TextMaker {
  readonly #cumulative: Float64Array;
  readonly #total: number;

  constructor() {
    this.#cumulative = new Float64Array(ORDINARY_WORDS.length);
    let total = 0;
    for (let i = 0; i < ORDINARY_WORDS.length; i++) this.#cumulative[i] = total += (i + 1) ** -ZIPF_S;
    this.#total = total;
  }

  /** Index into ORDINARY_WORDS by the Zipf law. */
  #word(rnd: Random): number {
    return cumulativeIndex(this.#cumulative, rnd.next() * this.#total);
  }

  /**
   * An ordinary chat line: 2–14 words, ~40 % of them filler, at least one from the vocabulary, and
   * the trend word (an index into TREND_WORDS) when given.
   */
  ordinary(rnd: Random, trend: number | undefined): Text {
    const length = Math.min(14, 2 + Math.floor(rnd.exponential(3)));
    const words: string[] = [];
    let fp = 0x811c9dc5;
    let vocabulary = 0;
    const add = (word: string, id: number) => {
      words.push(word);
      fp = Math.imul(fp ^ id, 0x01000193);
    };
    const trendAt = trend === undefined ? -1 : rnd.int(0, length - 1);
    for (let i = 0; i < length; i++) {
      if (i === trendAt) add(TREND_WORDS[trend!]!, TREND_ID + trend!);
      else if (rnd.chance(0.4) && !(i === length - 1 && vocabulary === 0)) {
        const f = rnd.int(0, FILLER_WORDS.length - 1);
        add(FILLER_WORDS[f]!, FILLER_ID + f);
      } else {
        const w = this.#word(rnd);
        add(ORDINARY_WORDS[w]!, w);
        vocabulary++;
      }
    }
    const line = words.join(' ');
    return { text: line.charAt(0).toUpperCase() + line.slice(1) + rnd.pick(ENDINGS), fingerprint: fp };
  }

  /** A spam line, one part of each SPAM_PARTS list: 384 distinct texts, distinct fingerprints. */
  spam(rnd: Random): Text {
    let combo = 0;
    const parts: string[] = [];
    for (const list of SPAM_PARTS) {
      const i = rnd.int(0, list.length - 1);
      combo = combo * list.length + i;
      parts.push(list[i]!);
    }
    return {
      text: `${parts.join(' ')}!`,
      fingerprint: Math.imul(0x811c9dc5 ^ (SPAM_ID + combo), 0x01000193),
    };
  }
}
