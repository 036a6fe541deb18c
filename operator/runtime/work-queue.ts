import { KeyedBackoff, type BackoffPolicy } from '../../common/kube/backoff.js';
import { systemClock, type Clock, type TimerHandle } from '../../common/kube/clock.js';

/** Observers of the queue, used for metrics. */
export interface WorkQueueHooks {
  /** Called whenever the number of keys waiting changes. */
  depth?(depth: number): void;
  /** Called when a key is handed to a worker, with how long it waited since it was queued. */
  latency?(seconds: number): void;
}

/** Options of a {@link WorkQueue}. */
export interface WorkQueueOptions {
  clock?: Clock;
  /** Backoff of {@link WorkQueue.addRateLimited} (default 100 ms doubling up to 60 s). */
  backoff?: BackoffPolicy;
  hooks?: WorkQueueHooks;
}

/** The default per-key failure backoff: 100 ms, doubling, capped at 60 s. */
export const DEFAULT_QUEUE_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 60_000, factor: 2 };

/**
 * A keyed work queue with client-go semantics:
 * - a key is queued at most once, however often it is added (de-duplication);
 * - a key is never handed to two workers at once: a key added while it is processed is marked dirty and
 *   queued again when {@link done} is called, so the change is never lost;
 * - {@link addAfter} delays a key (the earliest pending time wins), {@link addRateLimited} delays it by a
 *   capped exponential backoff per key, {@link forget} resets that backoff;
 * - {@link shutDown} wakes every waiting worker with `undefined`; {@link drain} waits for keys in flight.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly queuedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { readyAt: number; timer: TimerHandle }>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private readonly clock: Clock;
  private readonly limiter: KeyedBackoff;
  private readonly hooks: WorkQueueHooks;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.limiter = new KeyedBackoff(options.backoff ?? DEFAULT_QUEUE_BACKOFF);
    this.hooks = options.hooks ?? {};
  }

  /** Queues `key` now (no-op when it is already waiting). */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (!this.queuedAt.has(key)) this.queuedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Queues `key` after `delayMs`; an earlier pending delay for the same key is kept. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.readyAt <= readyAt) return;
    pending?.timer.cancel();
    const timer = this.clock.schedule(delayMs, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { readyAt, timer });
  }

  /** Queues `key` after its next backoff delay (one more failure counted). */
  addRateLimited(key: string): number {
    const delay = this.limiter.when(key);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the failure backoff of `key` (after a successful reconcile). */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  /** Failures of `key` since the last {@link forget}. */
  retries(key: string): number {
    return this.limiter.retries(key);
  }

  /**
   * Waits for the next key and marks it in flight. Resolves `undefined` once the queue shuts down. The
   * caller must call {@link done} with the key when it has finished.
   */
  get(): Promise<string | undefined> {
    if (this.queue.length > 0) return Promise.resolve(this.take());
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks `key` finished; a key that became dirty meanwhile is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    this.notifyIdle();
  }

  /** Keys waiting (not counting delayed or in-flight keys). */
  get length(): number {
    return this.queue.length;
  }

  /** Keys being processed right now. */
  get inFlight(): number {
    return this.processing.size;
  }

  /** Keys scheduled for later by {@link addAfter}. */
  get pendingDelayed(): number {
    return this.delayed.size;
  }

  /** True once {@link shutDown} was called. */
  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops handing out keys: waiting workers get `undefined`, delayed keys are dropped. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    this.queuedAt.clear();
    this.hooks.depth?.(0);
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
    this.notifyIdle();
  }

  /** Resolves once no key is in flight (use after {@link shutDown} to let running reconciles finish). */
  drain(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.queue.push(key);
      waiter(this.take());
      return;
    }
    this.queue.push(key);
    this.hooks.depth?.(this.queue.length);
  }

  private take(): string {
    const key = this.queue.shift() as string;
    this.processing.add(key);
    this.dirty.delete(key);
    const queuedAt = this.queuedAt.get(key);
    this.queuedAt.delete(key);
    if (queuedAt !== undefined) this.hooks.latency?.((this.clock.now() - queuedAt) / 1000);
    this.hooks.depth?.(this.queue.length);
    return key;
  }

  private notifyIdle(): void {
    if (this.processing.size > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
