import { RULE_MARGIN_MS, type Rule } from './rules.ts';

/**
 * What each user may send, so that ordinary users never meet the anomaly rules:
 * - rate: the user's last threshold−1 send times (a ring); a message is allowed only if the oldest
 *   is ≥ windowMs + RULE_MARGIN_MS ago, so any `threshold` consecutive messages span more than the
 *   window; and never inside a reservation (a spammer around its burst);
 * - repeats: fingerprints of the texts the user sent within the duplicate window + 1 minute, in a
 *   ring large enough for the most the rate limit lets through there plus one burst of `maxBurst`.
 */
export class SendLimits {
  readonly #rule: Rule;
  readonly #dupSpanMs: number;
  readonly #keep: number;
  readonly #sent: Float64Array;
  readonly #sentHead: Int32Array;
  readonly #sentCount: Int32Array;
  readonly #reservedFrom: Float64Array;
  readonly #reservedUntil: Float64Array;
  readonly #ringSize: number;
  readonly #fingerprints: Int32Array;
  readonly #fingerprintMs: Float64Array;
  readonly #fingerprintHead: Int32Array;

  constructor(users: number, rule: Rule, duplicate: Rule, maxBurst: number) {
    this.#rule = rule;
    this.#dupSpanMs = duplicate.windowMs + 60_000;
    const keep = (this.#keep = rule.threshold - 1);
    this.#sent = new Float64Array(users * keep);
    this.#sentHead = new Int32Array(users);
    this.#sentCount = new Int32Array(users);
    this.#reservedFrom = new Float64Array(users).fill(Number.POSITIVE_INFINITY);
    this.#reservedUntil = new Float64Array(users).fill(Number.NEGATIVE_INFINITY);
    // Bursts of one spammer are further apart than the duplicate window: at most one in the span.
    this.#ringSize = keep * (Math.ceil(this.#dupSpanMs / (rule.windowMs + RULE_MARGIN_MS)) + 1) + maxBurst;
    this.#fingerprints = new Int32Array(users * this.#ringSize);
    this.#fingerprintMs = new Float64Array(users * this.#ringSize).fill(Number.NEGATIVE_INFINITY);
    this.#fingerprintHead = new Int32Array(users);
  }

  /** Whether `u` may send an ordinary message at `ms`. */
  allowed(u: number, ms: number): boolean {
    if (ms >= this.#reservedFrom[u]! && ms < this.#reservedUntil[u]!) return false;
    const keep = this.#keep;
    if (this.#sentCount[u]! < keep) return true;
    return ms - this.#sent[u * keep + this.#sentHead[u]!]! >= this.#rule.windowMs + RULE_MARGIN_MS;
  }

  /** Every message `u` sends (bursts included) is recorded. */
  recordSend(u: number, ms: number): void {
    const keep = this.#keep;
    const head = this.#sentHead[u]!;
    this.#sent[u * keep + head] = ms;
    this.#sentHead[u] = (head + 1) % keep;
    if (this.#sentCount[u]! < keep) this.#sentCount[u]!++;
  }

  /** No ordinary message by `u` in [fromMs, untilMs) (replaces an earlier reservation). */
  reserve(u: number, fromMs: number, untilMs: number): void {
    this.#reservedFrom[u] = fromMs;
    this.#reservedUntil[u] = untilMs;
  }

  /** Records a text fingerprint for `u`; false (and records nothing) if `u` sent it recently. */
  remember(u: number, ms: number, fingerprint: number): boolean {
    const size = this.#ringSize;
    const base = u * size;
    const since = ms - this.#dupSpanMs;
    for (let i = 0; i < size; i++) {
      if (this.#fingerprints[base + i] === fingerprint && this.#fingerprintMs[base + i]! >= since)
        return false;
    }
    const head = this.#fingerprintHead[u]!;
    this.#fingerprints[base + head] = fingerprint;
    this.#fingerprintMs[base + head] = ms;
    this.#fingerprintHead[u] = (head + 1) % size;
    return true;
  }
}
