import { describe, expect, it } from '@jest/globals';
import { Controller } from '../../operator/runtime/controller.js';
import { WorkQueue } from '../../operator/runtime/work-queue.js';
import { ManualClock, flushPromises } from './support/manual-clock.js';

/** A promise the test resolves by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('Controller', () => {
  it('never reconciles one key twice at once, and re-runs a key that changed mid-reconcile', async () => {
    const queue = new WorkQueue({ clock: new ManualClock() });
    let running = 0;
    let maxRunning = 0;
    const calls: string[] = [];
    const gates: Array<{ open: () => void }> = [];
    const controller = new Controller({
      kind: 'ThinPool',
      queue,
      workers: 4,
      reconcile: async (key) => {
        calls.push(key);
        running++;
        maxRunning = Math.max(maxRunning, running);
        const g = gate();
        gates.push(g);
        await g.promise;
        running--;
      },
    });
    controller.start();
    queue.add('pool-a');
    await flushPromises();
    queue.add('pool-a');
    queue.add('pool-a');
    await flushPromises();
    expect(calls).toEqual(['pool-a']);
    gates[0].open();
    await flushPromises();
    expect(calls).toEqual(['pool-a', 'pool-a']);
    gates[1].open();
    await flushPromises();
    expect(calls).toEqual(['pool-a', 'pool-a']);
    expect(maxRunning).toBe(1);
    await controller.stop();
  });

  it('reconciles distinct keys in parallel up to the worker count', async () => {
    const queue = new WorkQueue({ clock: new ManualClock() });
    let running = 0;
    let maxRunning = 0;
    const release = gate();
    const controller = new Controller({
      kind: 'ThinPool',
      queue,
      workers: 2,
      reconcile: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await release.promise;
        running--;
      },
    });
    controller.start();
    for (const key of ['a', 'b', 'c']) queue.add(key);
    await flushPromises();
    expect(running).toBe(2);
    release.open();
    await flushPromises();
    expect(maxRunning).toBe(2);
    await controller.stop();
  });

  it('retries a failing key with growing delays and forgets the backoff after a success', async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue({ clock, backoff: { initialMs: 100, maxMs: 400 } });
    const attempts: number[] = [];
    const results: string[] = [];
    let failuresLeft = 4;
    const controller = new Controller({
      kind: 'ThinPool',
      queue,
      reconcile: async () => {
        attempts.push(clock.now());
        if (failuresLeft-- > 0) throw new Error('API unavailable');
      },
      observe: (result) => results.push(result),
    });
    controller.start();
    const start = clock.now();
    queue.add('a');
    await flushPromises();
    await clock.advance(2000);
    expect(attempts.map((t) => t - start)).toEqual([0, 100, 300, 700, 1100]);
    expect(results).toEqual(['error', 'error', 'error', 'error', 'success']);
    expect(queue.retries('a')).toBe(0);
    await controller.stop();
  });

  it('schedules the key again after requeueAfterMs', async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue({ clock });
    const attempts: number[] = [];
    const controller = new Controller({
      kind: 'ThinPool',
      queue,
      reconcile: async () => {
        attempts.push(clock.now());
        return { requeueAfterMs: 30_000 };
      },
    });
    controller.start();
    const start = clock.now();
    queue.add('a');
    await clock.advance(65_000);
    expect(attempts.map((t) => t - start)).toEqual([0, 30_000, 60_000]);
    await controller.stop();
  });

  it('stop waits for the reconcile in flight; stop with abort signals it to stop writing', async () => {
    const queue = new WorkQueue({ clock: new ManualClock() });
    const release = gate();
    let sawAbort: boolean | undefined;
    let finished = false;
    const controller = new Controller({
      kind: 'ThinPool',
      queue,
      reconcile: async (_key, signal) => {
        await release.promise;
        sawAbort = signal.aborted;
        finished = true;
      },
    });
    controller.start();
    queue.add('a');
    await flushPromises();
    const stopping = controller.stop({ abort: true });
    await flushPromises();
    expect(finished).toBe(false);
    release.open();
    await stopping;
    expect(finished).toBe(true);
    expect(sawAbort).toBe(true);
  });
});
