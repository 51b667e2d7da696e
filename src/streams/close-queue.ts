/**
 * The close queue of the sliding-window store (./sliding-store.ts): the window ends still to close,
 * each with the key state it belongs to, popped in (end, key id) order.
 */

function before(e1: number, id1: string, e2: number, id2: string): boolean {
  return e1 < e2 || (e1 === e2 && id1 < id2);
}

/** An entry of the close queue: a window end and the key state it belongs to. */
interface Queued {
  readonly id: string;
}

/** A run of entries pushed in ascending (end, key id) order: a FIFO with a moving head. */
class Run<S extends Queued> {
  ends: number[] = [];
  states: S[] = [];
  head = 0;

  get size(): number {
    return this.ends.length - this.head;
  }

  /** Whether (end, id) can be appended without breaking the order. */
  accepts(end: number, id: string): boolean {
    const n = this.ends.length;
    if (n === this.head) return true;
    const last = this.ends[n - 1] as number;
    return last < end || (last === end && (this.states[n - 1] as S).id <= id);
  }

  shift(): void {
    this.head++;
    const n = this.ends.length;
    if (this.head === n) {
      this.ends = [];
      this.states = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= n) {
      this.ends = this.ends.slice(this.head);
      this.states = this.states.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * The windows still to close, as (end, key state) entries popped in (end, key id) order — so a
 * restored store closes exactly like the original. In-order input pushes ascending left-window ends
 * (t) and ascending right-window ends (t + 1 + D): each lands at the tail of one of two sorted runs
 * (O(1)); anything else goes to a binary min-heap. The minimum is the least of the three heads.
 */
export class CloseQueue<S extends Queued> {
  readonly #runA = new Run<S>();
  readonly #runB = new Run<S>();
  readonly #ends: number[] = [];
  readonly #states: S[] = [];

  get length(): number {
    return this.#runA.size + this.#runB.size + this.#ends.length;
  }

  peek(): number {
    const a = this.#runA;
    const b = this.#runB;
    let min = this.#ends[0] ?? Number.POSITIVE_INFINITY;
    if (a.head < a.ends.length && (a.ends[a.head] as number) < min) min = a.ends[a.head] as number;
    if (b.head < b.ends.length && (b.ends[b.head] as number) < min) min = b.ends[b.head] as number;
    return min;
  }

  push(end: number, state: S): void {
    const id = state.id;
    if (this.#runA.accepts(end, id)) {
      this.#runA.ends.push(end);
      this.#runA.states.push(state);
    } else if (this.#runB.accepts(end, id)) {
      this.#runB.ends.push(end);
      this.#runB.states.push(state);
    } else {
      this.#heapPush(end, state);
    }
  }

  /** Remove the minimum; returns its state (call only when length > 0). */
  pop(): S {
    const a = this.#runA;
    const b = this.#runB;
    // The smallest head among the two runs and the heap, by (end, id).
    let src = 0;
    let end = Number.POSITIVE_INFINITY;
    let id = '';
    if (this.#ends.length > 0) {
      src = 3;
      end = this.#ends[0] as number;
      id = (this.#states[0] as S).id;
    }
    if (a.head < a.ends.length) {
      const e = a.ends[a.head] as number;
      const i = (a.states[a.head] as S).id;
      if (src === 0 || before(e, i, end, id)) {
        src = 1;
        end = e;
        id = i;
      }
    }
    if (b.head < b.ends.length) {
      const e = b.ends[b.head] as number;
      const i = (b.states[b.head] as S).id;
      if (src === 0 || before(e, i, end, id)) {
        src = 2;
        end = e;
        id = i;
      }
    }
    if (src === 3) return this.#heapPop();
    const run = src === 1 ? a : b;
    const state = run.states[run.head] as S;
    run.shift();
    return state;
  }

  #heapPush(end: number, state: S): void {
    const ends = this.#ends;
    const states = this.#states;
    const id = state.id;
    let i = ends.length;
    ends.push(end);
    states.push(state);
    while (i > 0) {
      const p = (i - 1) >>> 1;
      const pe = ends[p] as number;
      if (pe < end || (pe === end && (states[p] as S).id <= id)) break;
      ends[i] = pe;
      states[i] = states[p] as S;
      i = p;
    }
    ends[i] = end;
    states[i] = state;
  }

  #heapPop(): S {
    const ends = this.#ends;
    const states = this.#states;
    const top = states[0] as S;
    const lastEnd = ends.pop() as number;
    const last = states.pop() as S;
    const lastId = last.id;
    const n = ends.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c =
          r < n && before(ends[r] as number, (states[r] as S).id, ends[l] as number, (states[l] as S).id)
            ? r
            : l;
        if (!before(ends[c] as number, (states[c] as S).id, lastEnd, lastId)) break;
        ends[i] = ends[c] as number;
        states[i] = states[c] as S;
        i = c;
      }
      ends[i] = lastEnd;
      states[i] = last;
    }
    return top;
  }
}
