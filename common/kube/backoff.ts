/** Capped exponential backoff with jitter, as client-go's wait.Backoff and workqueue rate limiters do. */

/** Parameters of an exponential backoff. */
export interface BackoffPolicy {
  /** Delay after the first failure. */
  initialMs: number;
  /** Upper bound of any delay. */
  maxMs: number;
  /** Growth per consecutive failure (default 2). */
  factor?: number;
  /** Random extra delay as a fraction of the computed delay, 0..1 (default 0). */
  jitter?: number;
}

/**
 * Delay before retry number `attempt` (0 = first retry): `initialMs * factor^attempt`, capped at `maxMs`,
 * plus up to `jitter` of itself (still capped). `random` returns a number in [0, 1).
 */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const factor = policy.factor ?? 2;
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(factor, Math.max(0, attempt)));
  const jitter = policy.jitter ?? 0;
  return Math.min(policy.maxMs, base + base * jitter * random());
}

/** A stateful backoff for one retry loop: {@link next} grows the delay, {@link reset} starts over. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay to wait now; each call counts one more failure. */
  next(): number {
    return backoffDelay(this.policy, this.attempt++, this.random);
  }

  /** Forgets past failures (call after a success). */
  reset(): void {
    this.attempt = 0;
  }

  /** Consecutive failures counted since the last reset. */
  get failures(): number {
    return this.attempt;
  }
}

/**
 * Per-key failure counter with exponential delays: the rate limiter of the work queue
 * (client-go `ItemExponentialFailureRateLimiter`).
 */
export class KeyedBackoff {
  private readonly failures = new Map<string, number>();

  constructor(private readonly policy: BackoffPolicy) {}

  /** Counts one more failure of `key` and returns how long to wait before retrying it. */
  when(key: string): number {
    const attempt = this.failures.get(key) ?? 0;
    this.failures.set(key, attempt + 1);
    return backoffDelay(this.policy, attempt);
  }

  /** Forgets the failures of `key`. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Failures of `key` since the last {@link forget}. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}
