import { describe, expect, it } from '@jest/globals';
import { Backoff, KeyedBackoff, backoffDelay } from '../../common/kube/backoff.js';

describe('backoffDelay', () => {
  const policy = { initialMs: 100, maxMs: 1000, factor: 2 };

  it('doubles from the initial delay and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 20].map((n) => backoffDelay(policy, n))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000,
    ]);
  });

  it('adds jitter as a fraction of the delay, never above the cap', () => {
    const jittered = { ...policy, jitter: 0.5 };
    expect(backoffDelay(jittered, 0, () => 0)).toBe(100);
    expect(backoffDelay(jittered, 0, () => 0.999)).toBeCloseTo(149.95);
    expect(backoffDelay(jittered, 3, () => 0.999)).toBe(1000);
  });
});

describe('Backoff', () => {
  it('grows with each failure and starts over after reset', () => {
    const backoff = new Backoff({ initialMs: 10, maxMs: 100 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([10, 20, 40]);
    expect(backoff.failures).toBe(3);
    backoff.reset();
    expect(backoff.next()).toBe(10);
  });
});

describe('KeyedBackoff', () => {
  it('counts failures per key and forgets them on success', () => {
    const limiter = new KeyedBackoff({ initialMs: 5, maxMs: 1000 });
    expect([limiter.when('a'), limiter.when('a'), limiter.when('b'), limiter.when('a')]).toEqual([
      5, 10, 5, 20,
    ]);
    expect(limiter.retries('a')).toBe(3);
    limiter.forget('a');
    expect(limiter.retries('a')).toBe(0);
    expect(limiter.when('a')).toBe(5);
    expect(limiter.retries('b')).toBe(1);
  });
});
