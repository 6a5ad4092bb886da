/**
 * A simulator clock that only moves when a test says so: timers run in order as it advances.
 * Shared by the simulator's latency and tool tests.
 */
import type { SimulatorClock } from '../src/simulator/index.ts';

/** A clock that only moves when the test says so. */
export class ManualClock implements SimulatorClock {
  time = 0;
  #next = 1;
  timers: Array<{ id: number; at: number; fn: () => void }> = [];

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.timers.push({ id, at: this.time + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }

  now(): number {
    return this.time;
  }

  /** Time left on each pending timer, soonest first. */
  pending(): number[] {
    return this.timers.map((timer) => timer.at - this.time).sort((a, b) => a - b);
  }

  /** Moves time forward, running due timers in order. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.time = due.at;
      due.fn();
    }
    this.time = target;
  }
}
