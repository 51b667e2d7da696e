/**
 * A min-heap of things due at a time: pops the earliest, ties in insertion order, so that a
 * simulation driven by it is deterministic.
 */
export class TimeQueue<T> {
  readonly #times: number[] = [];
  readonly #seqs: number[] = [];
  readonly #items: T[] = [];
  #seq = 0;

  get size(): number {
    return this.#items.length;
  }

  /** The time of the earliest item; Infinity when empty. */
  peekTime(): number {
    return this.#times[0] ?? Number.POSITIVE_INFINITY;
  }

  push(timeMs: number, item: T): void {
    const times = this.#times;
    const seqs = this.#seqs;
    const items = this.#items;
    const seq = this.#seq++;
    let i = items.length;
    times.push(timeMs);
    seqs.push(seq);
    items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = times[p]!;
      if (pt < timeMs || (pt === timeMs && seqs[p]! < seq)) break;
      times[i] = pt;
      seqs[i] = seqs[p]!;
      items[i] = items[p]!;
      i = p;
    }
    times[i] = timeMs;
    seqs[i] = seq;
    items[i] = item;
  }

  /** Removes and returns the earliest item (undefined when empty). */
  pop(): T | undefined {
    const times = this.#times;
    const seqs = this.#seqs;
    const items = this.#items;
    const n = items.length;
    if (n === 0) return undefined;
    const top = items[0]!;
    const lastT = times.pop()!;
    const lastS = seqs.pop()!;
    const last = items.pop()!;
    const size = n - 1;
    if (size === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      let m = l;
      if (r < size && (times[r]! < times[l]! || (times[r] === times[l] && seqs[r]! < seqs[l]!))) m = r;
      const mt = times[m]!;
      if (lastT < mt || (lastT === mt && lastS < seqs[m]!)) break;
      times[i] = mt;
      seqs[i] = seqs[m]!;
      items[i] = items[m]!;
      i = m;
    }
    times[i] = lastT;
    seqs[i] = lastS;
    items[i] = last;
    return top;
  }
}
