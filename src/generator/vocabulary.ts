/**
 * The words generated traffic is made of. Four disjoint sets, so that what is injected can be told
 * from what is ordinary:
 * - `ORDINARY_WORDS` (./ordinary-words.ts): chat vocabulary (all longer than 3 characters, none a stop
 *   word), drawn with a Zipf law by rank, so the first word (`MOST_FREQUENT_WORD`) is the most
 *   frequent word of every stretch of ordinary traffic and is never injected as a trend;
 * - `FILLER_WORDS`: English stop words and short words (a trend processor removes or ignores them);
 * - `TREND_WORDS`: only ever appear while injected as a trend;
 * - `SPAM_PARTS`: only ever appear in spam bursts.
 * Some ordinary words are non-ASCII ("café", "über", "naïve") or carry an apostrophe ("let's"), so that
 * word extraction is exercised on them. Also here: the seed producer's sentences and users.
 */

/**
 * Stop words and short words mixed into messages. Every word longer than 3 characters here is in
 * every common English stop-word list (NLTK, scikit-learn, Lucene's), so a trend processor drops it.
 */
export const FILLER_WORDS: readonly string[] = [
  'the',
  'and',
  'with',
  'that',
  'this',
  'have',
  'from',
  'your',
  'what',
  'when',
  'about',
  'there',
  'they',
  'would',
  'could',
  'should',
  'will',
  'been',
  'were',
  'some',
  'into',
  'then',
  'than',
  'them',
  'these',
  'those',
  'which',
  'while',
  'where',
  'after',
  'before',
  'again',
  'very',
  'also',
  'only',
  'just',
  'for',
  'you',
  'are',
  'was',
  'but',
  'not',
  'all',
  'can',
  'our',
  'out',
  'get',
  'got',
  'see',
  'now',
  'new',
  'one',
  'two',
  'hey',
  'yes',
  'yep',
  'ok',
  'so',
  'to',
  'of',
  'in',
  'on',
  'at',
  'is',
  'it',
  'me',
  'my',
  'we',
  'be',
  'do',
  'no',
  'up',
  'a',
  'i',
];

/**
 * Shapes of ordinary lines: `_` is a vocabulary word (by the Zipf law), every other word is filler
 * (a stop word or at most 3 characters), so the frames shift no word frequencies.
 */
export const FRAMES: readonly string[] = [
  '_ _',
  'the _ _',
  '_ at _',
  'what about the _',
  'see you at the _',
  'how was the _',
  'is the _ _',
  'we should get _',
  'can we do _ _',
  'did you get the _',
  'i have the _',
  '_ for the _',
  'just _ the _',
  'are you at the _',
  'that _ was _',
  'so _',
  'any _ for _',
  'when is the _',
  'where are you _',
  'on my way to the _',
  'my _ is _',
  'yes _',
  'hey _ _',
  'ok _ then',
  'the _ was so _',
  'they _ the _',
  'would you _ the _',
  'there is _ in the _',
  'all _ now',
  'after the _',
  'before _',
];

/**
 * Words injected as trends, one trend at a time, each for a few minutes. None occurs in ordinary
 * traffic, spam or filler, so outside its trend period its count is 0.
 */
export const TREND_WORDS: readonly string[] = [
  'eclipse',
  'playoffs',
  'hackathon',
  'earthquake',
  'festival',
  'election',
  'blackout',
  'heatwave',
  'meteor',
  'premiere',
  'halftime',
  'snowstorm',
  'marathon',
  'keynote',
  'airdrop',
  'aurora',
  'solstice',
  'regatta',
  'superbowl',
  'olympics',
  'worldcup',
  'grammys',
  'oscars',
  'hurricane',
  'volcano',
  'comet',
  'outage',
  'rebrand',
  'merger',
  'layoffs',
  'strike',
  'parade',
  'carnival',
  'derby',
  'finale',
  'spoilers',
  'trailer',
  'jackpot',
  'lottery',
  'tornado',
];

/** Spam is built from one part of each list (e.g. "Claim your free voucher now"). */
export const SPAM_PARTS: readonly (readonly string[])[] = [
  ['Win', 'Claim', 'Grab', 'Unlock'],
  ['a free', 'your free', 'an exclusive', 'a cheap'],
  ['smartphone', 'voucher', 'giftcard', 'cruise', 'bitcoin', 'followers'],
  ['now', 'instantly', 'here', 'click'],
];

/** The seed producer's 15 sentences: work, social and tech, 5 each. */
export const SEED_SENTENCES: readonly string[] = [
  'Need to schedule a meeting for the project',
  'Deadline for Q3 deliverables is approaching',
  "Let's discuss the new feature implementation",
  'Client presentation tomorrow at 2 PM',
  'Code review session this afternoon',
  'Anyone want to grab lunch later?',
  'Great party last night! Thanks everyone',
  'Check out this amazing restaurant I found',
  'Weekend plans anyone?',
  'Movie night at my place this Saturday',
  'Just tried the new Kafka version, amazing features!',
  'Anyone working with Scala 3? Thoughts?',
  'Kubernetes deployment strategies discussion',
  'Machine learning model performance optimization',
  'React vs Vue for new frontend project',
];

/** The seed producer's users. */
export const SEED_USERS: readonly string[] = [
  'alice',
  'bob',
  'charlie',
  'diana',
  'eve',
  'frank',
  'grace',
  'henry',
];
