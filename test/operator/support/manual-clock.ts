import type { Clock, TimerHandle } from '../../../common/kube/clock.js';

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/** A clock that only moves when the test says so; timers fire in time order during {@link advance}. */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(startMs = Date.parse('2025-01-01T00:00:00Z')) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  schedule(delayMs: number, callback: () => void): TimerHandle {
    const timer: Timer = {
      at: this.time + Math.max(0, delayMs),
      seq: this.seq++,
      callback,
      cancelled: false,
    };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  /** Milliseconds until the next timer is due, or undefined when none waits. */
  get nextDueIn(): number | undefined {
    const due = this.timers.filter((t) => !t.cancelled).map((t) => t.at);
    return due.length > 0 ? Math.max(0, Math.min(...due) - this.time) : undefined;
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order; between timers it lets promise callbacks run
   * so that code awaiting a sleep continues before the next timer fires.
   */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      await flushPromises();
      this.timers = this.timers.filter((t) => !t.cancelled);
      const next = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.time = Math.max(this.time, next.at);
      next.cancelled = true;
      next.callback();
    }
    this.time = target;
    await flushPromises();
  }
}

/** Lets every queued promise callback run (a few macrotask turns). */
export async function flushPromises(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
