/**
 * A simulated clock for runs with very many timers (100,000 specialists in flight). It behaves
 * as XState's `SimulatedClock` — time moves only with `increment`, and every timer due by then
 * runs in order of when it is due (ties in the order they were set), timers set meanwhile
 * included — but keeps its timers in a binary heap: O(log T) per timer. XState's re-sorts every
 * pending timer whenever one is set or cleared during a flush, which at 100,000 timers never ends.
 */
interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cleared: boolean;
}

export class HeapClock {
  #now = 0;
  #seq = 0;
  #heap: Timer[] = [];
  #flushing = false;

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cleared: false };
    this.#push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (handle && typeof handle === 'object') (handle as Timer).cleared = true;
  }

  /** Moves time forward by `ms`, running every timer due by then. */
  increment(ms: number): void {
    this.#now += ms;
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      for (let top = this.#heap[0]; top !== undefined && top.at <= this.#now; top = this.#heap[0]) {
        this.#pop();
        if (!top.cleared) top.fn();
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Timers still pending. */
  get pending(): number {
    return this.#heap.filter((timer) => !timer.cleared).length;
  }

  #before(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.#before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.#before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && this.#before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
