import type { Logger } from '../../common/logger.js';
import { describeError } from '../../common/kube/kube-client.js';
import type { WorkQueue } from './work-queue.js';

/** What a reconcile asks for: nothing (done until the next change), or another look after a delay. */
export interface ReconcileResult {
  /** Reconcile this key again after this many milliseconds (periodic checks), even with no change. */
  requeueAfterMs?: number;
}

/** Reconciles one key; throwing means "retry with backoff". `signal` aborts when leadership is lost. */
export type ReconcileFunction = (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>;

/** Observer of reconcile outcomes (metrics). */
export interface ReconcileObserver {
  (result: 'success' | 'error' | 'requeue', durationSeconds: number): void;
}

/** Options of a {@link Controller}. */
export interface ControllerOptions {
  /** Kind it reconciles, for logs. */
  kind: string;
  queue: WorkQueue;
  reconcile: ReconcileFunction;
  /** Keys reconciled in parallel (distinct keys only; default 2). */
  workers?: number;
  logger?: Logger;
  observe?: ReconcileObserver;
}

/**
 * Runs reconciles from a work queue with controller-runtime's contract: success forgets the key's backoff,
 * `requeueAfterMs` schedules the key again, an error requeues it with capped exponential backoff. The queue
 * guarantees one key is never reconciled twice at once.
 */
export class Controller {
  private readonly abortController = new AbortController();
  private workers: Promise<void>[] = [];

  constructor(private readonly options: ControllerOptions) {}

  /** Starts the workers. */
  start(): void {
    if (this.workers.length > 0) return;
    const count = this.options.workers ?? 2;
    for (let i = 0; i < count; i++) this.workers.push(this.work());
  }

  /**
   * Stops taking keys and waits for the reconciles in flight. With `abort`, in-flight reconciles also see
   * their signal abort (lost leadership: stop writing at once).
   */
  async stop(options: { abort?: boolean } = {}): Promise<void> {
    if (options.abort) this.abortController.abort();
    this.options.queue.shutDown();
    await this.options.queue.drain();
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    const { queue, reconcile, logger, observe, kind } = this.options;
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = performance.now();
      try {
        const result = await reconcile(key, this.abortController.signal);
        const seconds = (performance.now() - started) / 1000;
        queue.forget(key);
        const requeue = result?.requeueAfterMs !== undefined && !this.abortController.signal.aborted;
        if (requeue) queue.addAfter(key, result?.requeueAfterMs ?? 0);
        observe?.(requeue ? 'requeue' : 'success', seconds);
        logger?.debug(`Reconciled ${kind}`, {
          [kind.charAt(0).toLowerCase() + kind.slice(1)]: key,
          durationMs: Math.round(seconds * 10_000) / 10,
          requeueAfterMs: result?.requeueAfterMs,
        });
      } catch (err) {
        const seconds = (performance.now() - started) / 1000;
        observe?.('error', seconds);
        if (!this.abortController.signal.aborted) {
          const retryInMs = queue.addRateLimited(key);
          logger?.warn(`Failed to reconcile ${kind}`, {
            [kind.charAt(0).toLowerCase() + kind.slice(1)]: key,
            err: describeError(err),
            retries: queue.retries(key),
            retryInMs: Math.round(retryInMs),
          });
        }
      } finally {
        queue.done(key);
      }
    }
  }
}
