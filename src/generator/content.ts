import { ORDINARY_WORDS } from './ordinary-words.ts';
import { cumulativeIndex, type Random } from './random.ts';
import { FILLER_WORDS, FRAMES, SPAM_PARTS, TREND_WORDS } from './vocabulary.ts';

/**
 * Message texts. Each text comes with a 32-bit fingerprint of its lower-case words (the capital, the
 * closing punctuation and emoticons left out): texts that are the same under any normalisation that
 * keeps the words have the same fingerprint, which the simulation uses to keep ordinary users from
 * repeating themselves (a collision of different texts only makes it draw another text).
 */
export interface Text {
  readonly text: string;
  readonly fingerprint: number;
}

/** Zipf exponent of the ordinary vocabulary: rank 1 is ~7 % of the ordinary words drawn. */
const ZIPF_S = 0.8;
const ENDINGS = ['', '', '', '', '?', '?', '!', '.', ' :)', ' 👍', '!!', ' 😂'];

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
   * An ordinary chat line: mostly one of FRAMES with its slots filled, now and then followed by a few
   * more vocabulary words; otherwise 1–4 vocabulary words among filler. The trend word (an index into
   * TREND_WORDS) goes in at a random place when given.
   */
  ordinary(rnd: Random, trend: number | undefined): Text {
    const words: string[] = [];
    const vocabulary = () => words.push(ORDINARY_WORDS[this.#word(rnd)]!);
    if (rnd.chance(0.75)) {
      for (const token of rnd.pick(FRAMES).split(' ')) {
        if (token === '_') vocabulary();
        else words.push(token);
      }
      if (rnd.chance(0.3)) for (let n = rnd.int(1, 3); n > 0; n--) vocabulary();
    } else {
      for (let n = rnd.int(1, 4); n > 0; n--) {
        if (rnd.chance(0.4)) words.push(rnd.pick(FILLER_WORDS));
        vocabulary();
      }
    }
    if (trend !== undefined) words.splice(rnd.int(0, words.length), 0, TREND_WORDS[trend]!);
    const line = words.join(' ');
    return {
      text: line.charAt(0).toUpperCase() + line.slice(1) + rnd.pick(ENDINGS),
      fingerprint: fnv1a(line),
    };
  }

  /** A spam line, one part of each SPAM_PARTS list (384 distinct texts). */
  spam(rnd: Random): Text {
    const line = SPAM_PARTS.map((list) => rnd.pick(list)).join(' ');
    return { text: `${line}!`, fingerprint: fnv1a(line.toLowerCase()) };
  }
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}
