/**
 * Time as the controller runtime sees it. Production code uses {@link systemClock}; tests pass a manual
 * clock so that backoff, requeue and lease expiry are checked without waiting on wall time.
 */

/** Handle of a scheduled callback. */
export interface TimerHandle {
  /** Cancels the callback if it has not run yet. */
  cancel(): void;
}

/** A source of time and timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `callback` once after `delayMs`. */
  schedule(delayMs: number, callback: () => void): TimerHandle;
}

/** The real clock: `Date.now()` and `setTimeout`, with timers that do not keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(delayMs, callback) {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

/**
 * Resolves after `delayMs` on `clock`, or early (without rejecting) when `signal` aborts. Returns true when
 * the full delay elapsed.
 */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      handle.cancel();
      resolve(false);
    };
    const handle = clock.schedule(delayMs, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
