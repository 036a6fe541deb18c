import { describe, expect, it } from '@jest/globals';
import { WorkQueue } from '../../operator/runtime/work-queue.js';
import { ManualClock } from './support/manual-clock.js';

describe('WorkQueue', () => {
  it('queues a key once however often it is added, in arrival order', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
    expect(queue.length).toBe(0);
  });

  it('never hands out a key in flight; a key added meanwhile runs again after done', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    const first = await queue.get();
    expect(first).toBe('a');
    queue.add('a');
    queue.add('a');
    expect(queue.length).toBe(0);
    let handedOut: string | undefined;
    void queue.get().then((k) => (handedOut = k));
    await Promise.resolve();
    expect(handedOut).toBeUndefined();
    queue.done('a');
    await Promise.resolve();
    expect(handedOut).toBe('a');
    queue.done('a');
    expect(queue.length).toBe(0);
    expect(queue.inFlight).toBe(0);
  });

  it('wakes a waiting worker as soon as a key arrives', async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.add('x');
    expect(await waiting).toBe('x');
  });

  it('delays keys with addAfter, keeping the earliest time for one key', async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue({ clock });
    queue.addAfter('a', 1000);
    queue.addAfter('a', 5000);
    queue.addAfter('b', 300);
    expect(queue.length).toBe(0);
    expect(queue.pendingDelayed).toBe(2);
    await clock.advance(300);
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe('b');
    await clock.advance(700);
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe('a');
    await clock.advance(10_000);
    expect(queue.length).toBe(0);
  });

  it('lets an earlier addAfter replace a later one', async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue({ clock });
    queue.addAfter('a', 5000);
    queue.addAfter('a', 100);
    await clock.advance(100);
    expect(queue.length).toBe(1);
  });

  it('backs off failures exponentially per key up to the cap, and forget resets it', () => {
    const queue = new WorkQueue({ clock: new ManualClock(), backoff: { initialMs: 100, maxMs: 1000 } });
    const delays = Array.from({ length: 7 }, () => queue.addRateLimited('a'));
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(queue.retries('a')).toBe(7);
    expect(queue.addRateLimited('b')).toBe(100);
    queue.forget('a');
    expect(queue.addRateLimited('a')).toBe(100);
  });

  it('reports depth and the time a key waited', async () => {
    const clock = new ManualClock();
    const depths: number[] = [];
    const latencies: number[] = [];
    const queue = new WorkQueue({
      clock,
      hooks: { depth: (d) => depths.push(d), latency: (s) => latencies.push(s) },
    });
    queue.add('a');
    queue.add('b');
    await clock.advance(1500);
    await queue.get();
    expect(depths).toEqual([1, 2, 1]);
    expect(latencies).toEqual([1.5]);
  });

  it('on shutdown wakes waiting workers with undefined, drops delayed keys, and drains in-flight keys', async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue({ clock });
    queue.add('a');
    const inFlight = await queue.get();
    const waiter = queue.get();
    queue.addAfter('later', 1000);
    queue.shutDown();
    expect(await waiter).toBeUndefined();
    expect(await queue.get()).toBeUndefined();
    let drained = false;
    const draining = queue.drain().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    queue.done(inFlight as string);
    await draining;
    expect(drained).toBe(true);
    await clock.advance(2000);
    expect(queue.length).toBe(0);
    queue.add('b');
    expect(queue.length).toBe(0);
  });
});
