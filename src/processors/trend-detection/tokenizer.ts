/**
 * Words of a message for trend-detection. A word is a run of Unicode letters (with their combining
 * marks), optionally joined by apostrophes between letters ("let's", "o'clock"; ’ counts as '), in
 * NFC and lower case; it counts when it has more than `minLength` characters (code points,
 * apostrophes included) and is not a stop word. Digits, punctuation and symbols separate words.
 * Each word is returned once per message, in order of first appearance.
 */
const WORD = /[\p{L}\p{M}]+(?:['’][\p{L}\p{M}]+)*/gu;

export interface TokenizerOptions {
  /** Lower-case stop words. */
  readonly stopWords: ReadonlySet<string>;
  /** Words need more than this many characters. Default 3. */
  readonly minLength?: number;
}

export function tokenize(content: string, options: TokenizerOptions): string[] {
  const minLength = options.minLength ?? 3;
  return ASCII.test(content)
    ? asciiWords(content, minLength, options.stopWords)
    : unicodeWords(content, minLength, options.stopWords);
}

/** Printable ASCII (most chat; other texts take the Unicode path): NFC already, letters are [A-Za-z], no marks, no ’. */
const ASCII = /^[\t\n\r -~]*$/;

const isAsciiLetter = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);

/** `unicodeWords` of an ASCII text, by char codes instead of a regex match per word. */
function asciiWords(content: string, minLength: number, stopWords: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const n = content.length;
  let i = 0;
  while (i < n) {
    if (!isAsciiLetter(content.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    for (;;) {
      while (i < n && isAsciiLetter(content.charCodeAt(i))) i++;
      // An apostrophe joins only when a letter follows it.
      if (i + 1 < n && content.charCodeAt(i) === 39 && isAsciiLetter(content.charCodeAt(i + 1))) i++;
      else break;
    }
    if (i - start > minLength) {
      const word = content.slice(start, i).toLowerCase();
      if (!stopWords.has(word) && !out.includes(word)) out.push(word);
    }
  }
  return out;
}

function unicodeWords(content: string, minLength: number, stopWords: ReadonlySet<string>): string[] {
  const seen = new Set<string>();
  for (const match of content.normalize('NFC').matchAll(WORD)) {
    const word = match[0].replaceAll('’', "'").toLowerCase();
    if (seen.has(word) || stopWords.has(word)) continue;
    // Length in code points, not UTF-16 units; a combining mark counts as written in NFC.
    let n = 0;
    for (const _ of word) if (++n > minLength) break;
    if (n > minLength) seen.add(word);
  }
  return [...seen];
}
