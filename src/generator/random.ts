/**
 * A small seeded PRNG (sfc32, from PractRand's test-suite family): fast, 128-bit state, and the same
 * sequence for the same seed on every machine, so `--seed` makes generated traffic reproducible.
 */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed | 0;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Exponentially distributed with the given mean (inter-arrival times of a Poisson process). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Log-normal with the given median and shape σ (Box–Muller on two draws). */
  logNormal(median: number, sigma: number): number {
    const u = 1 - this.next();
    const v = this.next();
    return median * Math.exp(sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }

  /** Pareto with minimum 1 and tail index `alpha` (heavier tail for smaller alpha), capped at `max`. */
  pareto(alpha: number, max: number): number {
    return Math.min(max, (1 - this.next()) ** (-1 / alpha));
  }
}

/** An independent stream for a purpose (`stream` 1, 2, …) of one seed: a change in how one
 * purpose draws numbers does not shift the numbers of the others. */
export function derivedRandom(seed: number, stream: number): Random {
  return new Random(Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(stream, 0x85ebca77));
}

/** `Random#next` as a plain function: a seeded source of floats in [0, 1). */
export function seededFloats(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

/** The index i with cumulative[i − 1] ≤ x < cumulative[i] (cumulative weights, ascending). */
export function cumulativeIndex(cumulative: Float64Array, x: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
