/**
 * Keys by when they next need a visit (a close, a purge), in slots of `slotMs` (slot =
 * floor(due / slotMs)), so that a pass at time T looks at the slots that have begun by T, not at
 * every key. In memory only: a processor rebuilds it from its state after a restore.
 */
export class DueIndex<K> {
  readonly #slotMs: number;
  readonly #slots = new Map<number, Set<K>>();
  readonly #slotOf = new Map<K, number>();
  /** Slots below this were visited: keys are set after a pass at time T due after T, so never below. */
  #nextSlot = Number.NEGATIVE_INFINITY;

  constructor(slotMs: number) {
    this.#slotMs = slotMs;
  }

  /** The key's slot, or undefined when nothing is due for it. */
  slotOf(key: K): number | undefined {
    return this.#slotOf.get(key);
  }

  /** The key is next due at `due` (Infinity: never, the key leaves the index). */
  set(key: K, due: number): void {
    const old = this.#slotOf.get(key);
    const slot = Number.isFinite(due) ? Math.floor(due / this.#slotMs) : undefined;
    if (old === slot) return;
    if (old !== undefined) {
      const keys = this.#slots.get(old) as Set<K>;
      keys.delete(key);
      if (keys.size === 0) this.#slots.delete(old);
      if (slot === undefined) this.#slotOf.delete(key);
    }
    if (slot !== undefined) {
      const keys = this.#slots.get(slot);
      if (keys === undefined) this.#slots.set(slot, new Set([key]));
      else keys.add(key);
      this.#slotOf.set(key, slot);
    }
  }

  /** `set(key, due)` unless the key is due earlier already. */
  lower(key: K, due: number): void {
    const old = this.#slotOf.get(key);
    if (old === undefined || Math.floor(due / this.#slotMs) < old) this.set(key, due);
  }

  /**
   * The keys whose slot has begun at `time` (they stay in the index: the caller sets each one's next
   * due). The last slot is looked at again next time: keys set during the caller's pass may land in it.
   */
  dueAt(time: number): K[] {
    const last = Math.floor(time / this.#slotMs);
    const due: K[] = [];
    if (last - this.#nextSlot > this.#slots.size) {
      for (const [slot, keys] of this.#slots) if (slot <= last) for (const k of keys) due.push(k);
    } else {
      for (let slot = this.#nextSlot; slot <= last; slot++) {
        const keys = this.#slots.get(slot);
        if (keys !== undefined) for (const k of keys) due.push(k);
      }
    }
    this.#nextSlot = last;
    return due;
  }

  /** The start of the earliest slot (Infinity when no key is due). */
  earliest(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const slot of this.#slots.keys()) if (slot < min) min = slot;
    return min * this.#slotMs;
  }
}
