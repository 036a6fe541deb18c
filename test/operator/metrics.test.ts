import { describe, expect, it } from '@jest/globals';
import { OperatorMetrics, RUNTIME_ROLLOUT_REASONS } from '../../operator/metrics.js';

/** The `thinpool_operator_runtime_rollout` series of one ThinPool in the exposition text, by reason. */
async function rollout(metrics: OperatorMetrics, thinPool: string): Promise<Record<string, number>> {
  const text = await metrics.registry.metrics();
  const pattern = new RegExp(
    `^thinpool_operator_runtime_rollout\\{thinpool="${thinPool}",reason="(\\w+)"\\} (\\S+)$`,
    'gm',
  );
  return Object.fromEntries([...text.matchAll(pattern)].map(([, reason, value]) => [reason, Number(value)]));
}

const only = (reason: string, extra: string[] = []) =>
  Object.fromEntries([...RUNTIME_ROLLOUT_REASONS, ...extra].map((r) => [r, r === reason ? 1 : 0]));

describe('thinpool_operator_runtime_rollout', () => {
  it('is 1 for the reason of the RuntimeRollout condition and 0 for every other, per ThinPool', async () => {
    const metrics = new OperatorMetrics();
    metrics.setRuntimeRollout('a', { reason: 'RollingOut' });
    metrics.setRuntimeRollout('b', { reason: 'Complete' });
    metrics.setRuntimeRollout('a', { reason: 'Halted' });
    expect(await rollout(metrics, 'a')).toEqual(only('Halted'));
    expect(await rollout(metrics, 'b')).toEqual(only('Complete'));
  });

  it('exports a reason it does not know yet, and removes it with the rest', async () => {
    const metrics = new OperatorMetrics();
    metrics.setRuntimeRollout('a', { reason: 'Throttled' });
    expect(await rollout(metrics, 'a')).toEqual(only('Throttled', ['Throttled']));
    metrics.setRuntimeRollout('a', { reason: 'Complete' });
    expect(await rollout(metrics, 'a')).toEqual(only('Complete', ['Throttled']));
    metrics.setRuntimeRollout('a', undefined);
    expect(await rollout(metrics, 'a')).toEqual({});
  });

  it('has no series for a ThinPool without a runtime, nor for one that is gone', async () => {
    const metrics = new OperatorMetrics();
    metrics.setRuntimeRollout('none', undefined);
    metrics.setRuntimeRollout('gone', { reason: 'Deleting' });
    metrics.countEviction('gone', 'deferred');
    metrics.removePool('gone');
    const text = await metrics.registry.metrics();
    expect(text).not.toMatch(/^thinpool_operator_runtime_rollout\{/m);
    expect(text).not.toMatch(/^thinpool_operator_evictions_total\{/m);
  });
});

describe('thinpool_operator_evictions_total', () => {
  it('starts at 0 for a ThinPool with a runtime, and counts evictions by result', async () => {
    const metrics = new OperatorMetrics();
    const value = async (result: string) => {
      const text = await metrics.registry.metrics();
      const line = new RegExp(
        `^thinpool_operator_evictions_total\\{thinpool="a",result="${result}"\\} (\\S+)$`,
        'm',
      );
      return Number(line.exec(text)?.[1]);
    };
    metrics.setRuntimeRollout('a', { reason: 'RollingOut' });
    expect([await value('evicted'), await value('deferred')]).toEqual([0, 0]);
    metrics.countEviction('a', 'deferred');
    metrics.countEviction('a', 'deferred');
    metrics.countEviction('a', 'evicted');
    metrics.setRuntimeRollout('a', { reason: 'RollingOut' });
    expect([await value('evicted'), await value('deferred')]).toEqual([1, 2]);
  });
});
