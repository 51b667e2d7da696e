/** Seeded traffic for oracle and crash tests. */
import { seededFloats } from '../../../src/generator/index.ts';

/** A seeded source of floats in [0, 1) (the generator's PRNG). */
export const rng = seededFloats;

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
