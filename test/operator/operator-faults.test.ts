/**
 * A whole scenario run while the API server fails at random: 20 % of all requests answer 500 or 429,
 * watches are dropped every few hundred milliseconds and the watch cache is compacted (410 Gone). When the
 * faults stop, the operator must converge to exactly the right state.
 *
 * The faults come from a seeded generator (set FAULT_SEED to replay a run), and the operator's backoffs
 * are capped at one second: with production caps (30 s informers, 60 s queue) a watch dropped every
 * 250 ms keeps an informer asleep for most of the test, which tests the clock, not convergence.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { httpStatusOf } from '../../common/kube/kube-client.js';
import type { Operator } from '../../operator/operator.js';
import { readyStatus } from './support/fixtures.js';
import { TestCluster, conditionOf, eventually, readyOf } from './support/harness.js';

jest.setTimeout(120_000);

const ENABLED = { 'thinpool.dev/enabled': 'true' };
const GiB = 1024 ** 3;

let cluster: TestCluster;
let operator: Operator;

beforeAll(async () => {
  const faultSeed = Number(process.env.FAULT_SEED ?? 20261123);
  cluster = await TestCluster.start({ faultSeed });
  operator = await cluster.startOperator({
    informers: {
      relistPeriodMs: 0,
      watchTimeoutSeconds: [5, 10],
      backoff: { initialMs: 50, maxMs: 1000, jitter: 0.2 },
      queueBackoff: { initialMs: 50, maxMs: 1000 },
    },
  });
});

afterAll(async () => {
  await cluster?.stop();
});

/** Retries a call of the test itself through the injected faults; "already done" counts as done. */
async function retry(call: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await call();
      return;
    } catch (err) {
      const code = httpStatusOf(err);
      if (code === 409 || code === 404) return;
      if (attempt > 200) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

describe('the operator under injected API faults', () => {
  it('converges to the right DaemonSets, ThinPoolNodes and status once the faults stop', async () => {
    const { faults } = cluster.api;
    faults.setErrorRate({ rate: 0.15, code: 500 });
    faults.setErrorRate({ verb: 'patch', rate: 0.2, code: 429 });
    faults.setErrorRate({ verb: 'watch', rate: 0.3, code: 500 });
    let round = 0;
    const chaos = setInterval(() => {
      faults.dropWatches();
      if (++round % 4 === 0) faults.compact();
    }, 250);
    try {
      for (const n of ['n1', 'n2', 'n3', 'n4']) await retry(() => cluster.createNode(n, ENABLED));
      await retry(() => cluster.createNode('n5', {}));
      await retry(() =>
        cluster.createThinPool('alpha', {
          nodeSelector: ENABLED,
          loop: { directory: '/var/lib/alpha', dataSize: '1Gi', metadataSize: '32Mi' },
        }),
      );
      await retry(() =>
        cluster.createThinPool('beta', {
          loop: { directory: '/var/lib/beta', dataSize: '1Gi', metadataSize: '32Mi' },
        }),
      );
      await eventually(
        async () => (await cluster.listThinPoolNodes('alpha').catch(() => [])).length === 4,
        'alpha ThinPoolNodes under faults',
        60_000,
      );
      for (const n of ['n1', 'n2', 'n3', 'n4']) {
        await retry(() => cluster.runAgentPod('alpha', n, true));
        await retry(() => cluster.reportAgentStatus('alpha', n, readyStatus(GiB)));
      }
      await retry(() => cluster.labelNode('n5', ENABLED));
      await retry(() => cluster.deleteNode('n2'));
      await retry(() => cluster.patchThinPoolSpec('alpha', { tolerations: [{ operator: 'Exists' }] }));
      await retry(() => cluster.deleteThinPool('beta'));
      await new Promise((resolve) => setTimeout(resolve, 2000));
    } finally {
      clearInterval(chaos);
      faults.clearErrors();
    }
    expect(cluster.api.requestLog.count({ status: 500 })).toBeGreaterThan(0);
    expect(cluster.api.requestLog.count({ status: 429 })).toBeGreaterThan(0);
    expect(Object.values(operator.caches).some((c) => c.stats.errors + c.stats.relistsAfterGone > 0)).toBe(
      true,
    );

    // The agent on n5 arrives after the faults; every other agent reported during them.
    await eventually(async () => {
      const nodes = (await cluster.listThinPoolNodes('alpha')).map((t) => t.spec.nodeName).sort();
      return nodes.join(',') === 'n1,n3,n4,n5';
    }, 'alpha ThinPoolNodes for n1, n3, n4, n5');
    await cluster.runAgentPod('alpha', 'n5', true);
    await cluster.reportAgentStatus('alpha', 'n5', readyStatus(GiB));
    for (const n of ['n1', 'n3', 'n4']) await cluster.reportAgentStatus('alpha', n, readyStatus(GiB, 2));
    await cluster.reportAgentStatus('alpha', 'n5', readyStatus(GiB, 2));

    const alpha = await eventually(
      async () => {
        const tp = await cluster.getThinPool('alpha');
        return readyOf(tp) === 'True' && conditionOf(tp, 'Progressing')?.status === 'False' && tp;
      },
      'alpha Ready and settled',
      30_000,
    );
    expect(alpha.status?.observedGeneration).toBe(alpha.metadata.generation);
    expect(alpha.status?.nodes).toEqual({ desired: 4, ready: 4, failed: 0 });
    expect(alpha.status?.capacity?.dataSizeBytes).toBe(4 * GiB);
    expect((await cluster.listThinPoolNodes('alpha')).map((t) => t.spec.nodeName).sort()).toEqual([
      'n1',
      'n3',
      'n4',
      'n5',
    ]);
    expect((await cluster.getDaemonSet('alpha'))?.spec.template.spec.tolerations).toEqual([
      { operator: 'Exists' },
    ]);

    await eventually(async () => !(await cluster.getThinPool('beta')), 'beta to be gone', 30_000);
    expect(await cluster.getDaemonSet('beta')).toBeUndefined();
    expect(await cluster.listThinPoolNodes('beta')).toEqual([]);
    const tpns = await cluster.listThinPoolNodes();
    expect(tpns.every((t) => t.spec.thinPool === 'alpha')).toBe(true);
  });
});
