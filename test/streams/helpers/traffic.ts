/** Seeded traffic for oracle and crash tests. */

/** mulberry32: a small, fast, seeded PRNG in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Event {
  readonly key: string;
  readonly ts: number;
  readonly id: number;
}

/** `count` events over `keys` keys; time moves forward by up to `stepMs` and events lag by up to `disorderMs`. */
export function traffic(
  seed: number,
  count: number,
  keys: number,
  stepMs: number,
  disorderMs: number,
): Event[] {
  const r = rng(seed);
  const out: Event[] = [];
  let t = 1_000_000;
  for (let id = 0; id < count; id++) {
    t += Math.floor(r() * stepMs);
    const ts = Math.max(0, t - Math.floor(r() * disorderMs));
    out.push({ key: `k${Math.floor(r() * keys)}`, ts, id });
  }
  return out;
}
