import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_STOP_WORDS, tokenize } from '../../../src/processors/trend-detection/index.ts';

const none = { stopWords: new Set<string>() };
const english = { stopWords: new Set(DEFAULT_STOP_WORDS) };

test('words: more than 3 characters, Unicode letters, lower case, once per message, in first-seen order', () => {
  assert.deepStrictEqual(
    tokenize('Café über ALLES, café! Naïve résumé 2024 k8s straße ÜBER über-cool the bug', none),
    ['café', 'über', 'alles', 'naïve', 'résumé', 'straße', 'cool'],
  );
});

test('apostrophes join a word ("let\'s", curly or straight) and never split it into fragments', () => {
  assert.deepStrictEqual(tokenize("Let's go, let’s GO! 'quoted' team's o'clock dogs'", none), [
    "let's",
    'quoted',
    "team's",
    "o'clock",
    'dogs',
  ]);
});

test('stop words are removed (the default English list has at least 150), a custom list replaces it', () => {
  assert.ok(
    DEFAULT_STOP_WORDS.length >= 150 && new Set(DEFAULT_STOP_WORDS).size === DEFAULT_STOP_WORDS.length,
  );
  assert.deepStrictEqual(tokenize("Let's have about these kubernetes deployments, they're great", english), [
    'kubernetes',
    'deployments',
    'great',
  ]);
  assert.deepStrictEqual(tokenize('kafka streams rocks', { stopWords: new Set(['kafka']) }), [
    'streams',
    'rocks',
  ]);
});

test('composed and decomposed spellings are one word (NFC)', () => {
  assert.deepStrictEqual(tokenize('caf\u00e9 cafe\u0301', none), ['café']);
});

test('plain ASCII texts (their own path) give what the same words in a Unicode text give', () => {
  const texts = [
    "Let's go, LET'S go! 'quoted' team's o'clock dogs' rock'n'roll ''twas k8s-cluster v2.0 HELLO hello",
    "isn't it\tabout\nthese x'y ab'cd abc' 'abcd abc''d",
    '',
    '   ',
    'kafka',
  ];
  for (const text of texts) {
    // The same text with a non-ASCII character that is no letter (a separator): the Unicode path.
    const unicode = tokenize(`${text} \u00a7`, english);
    assert.deepStrictEqual(tokenize(text, english), unicode, text);
  }
  assert.deepStrictEqual(tokenize("rock'n'roll isn't 'quoted' abc''d dogs'", none), [
    "rock'n'roll",
    "isn't",
    'quoted',
    'dogs',
  ]);
});
