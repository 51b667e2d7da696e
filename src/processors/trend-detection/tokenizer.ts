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
  const seen = new Set<string>();
  for (const match of content.normalize('NFC').matchAll(WORD)) {
    const word = match[0].replaceAll('’', "'").toLowerCase();
    if (seen.has(word) || options.stopWords.has(word)) continue;
    // Length in code points, not UTF-16 units; a combining mark counts as written in NFC.
    let n = 0;
    for (const _ of word) if (++n > minLength) break;
    if (n > minLength) seen.add(word);
  }
  return [...seen];
}
