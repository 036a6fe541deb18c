/**
 * Two in-process operators with short lease timings: only the leader reconciles, a leader that cannot
 * renew stops reconciling and reports it (the executable then exits 1), and the other replica takes over.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Operator } from '../../operator/operator.js';
import { TestCluster, eventually } from './support/harness.js';

jest.setTimeout(60_000);

const TIMINGS = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 };
const ENABLED = { 'thinpool.dev/enabled': 'true' };

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start();
  await cluster.createNode('n1', ENABLED);
});

afterAll(async () => {
  await cluster?.stop();
});

async function reconciles(operator: Operator): Promise<number> {
  return (await operator.metrics.reconciles.get()).values.reduce((sum, v) => sum + v.value, 0);
}

describe('operators with leader election', () => {
  it('let only the leader reconcile; a leader that cannot renew stops at once and the other takes over', async () => {
    const leaderElection = { leaseName: 'thinpool-operator-leader', timings: TIMINGS };
    const a = await cluster.startOperator({ leaderElection: { ...leaderElection, identity: 'a' } });
    await eventually(() => a.isLeader, 'a to lead');
    const b = await cluster.startOperator({ leaderElection: { ...leaderElection, identity: 'b' } });

    await cluster.createThinPool('loop', {
      nodeSelector: ENABLED,
      loop: { directory: '/var/lib/thinpool', dataSize: '1Gi', metadataSize: '32Mi' },
    });
    await eventually(
      async () => (await cluster.listThinPoolNodes('loop')).length === 1,
      'the leader to reconcile',
    );
    expect(b.isLeader).toBe(false);
    expect(await reconciles(b)).toBe(0);
    expect((await b.metrics.leader.get()).values[0].value).toBe(0);

    // a can no longer write its Lease; b cannot take it either while the Lease is unreachable.
    cluster.api.faults.setErrorRate({ resource: 'leases', rate: 1, code: 503 });
    expect(await a.exited).toBe('leadership-lost');
    expect(a.isLeader).toBe(false);
    expect((await a.metrics.leader.get()).values[0].value).toBe(0);
    const aReconciles = await reconciles(a);
    cluster.api.faults.clearErrors();

    await eventually(() => b.isLeader, 'b to take over', 20_000);
    await cluster.createNode('n2', ENABLED);
    await eventually(async () => (await cluster.listThinPoolNodes('loop')).length === 2, 'b to reconcile n2');
    expect(await reconciles(b)).toBeGreaterThan(0);
    expect(await reconciles(a)).toBe(aReconciles);
  });
});
