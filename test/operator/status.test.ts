import { describe, expect, it } from '@jest/globals';
import type { NodeVerdict } from '../../operator/controller/node-state.js';
import { computeStatus, failingNodes, jsonEqual, statusPatch } from '../../operator/controller/status.js';
import type { ThinPoolNode } from '../../api/v1alpha1/types.js';
import { readyStatus, thinPool, thinPoolNode } from './support/fixtures.js';

const NOW = Date.parse('2025-01-01T01:00:00Z');
const ready = (nodeName: string, upToDate = true): NodeVerdict => ({
  nodeName,
  state: 'ready',
  reason: 'PoolReady',
  message: '',
  upToDate,
});
const failed = (nodeName: string, reason = 'DeviceHasFilesystem'): NodeVerdict => ({
  nodeName,
  state: 'failed',
  reason,
  message: `Refused /dev/sdb on ${nodeName}`,
  upToDate: true,
});
const pending = (nodeName: string): NodeVerdict => ({
  nodeName,
  state: 'pending',
  reason: 'AwaitingAgent',
  message: 'The agent has not reported yet',
  upToDate: true,
});

function tpns(pool = thinPool('p'), sizes: Record<string, number> = {}): Map<string, ThinPoolNode> {
  return new Map(Object.entries(sizes).map(([n, size]) => [n, thinPoolNode(pool, n, readyStatus(size))]));
}

describe('computeStatus', () => {
  const pool = thinPool('p', {}, { generation: 3 });

  it('turns Ready with the capacity summed over the nodes', () => {
    const status = computeStatus({
      thinPool: pool,
      verdicts: [ready('a'), ready('b')],
      thinPoolNodes: tpns(pool, { a: 1000, b: 3000 }),
      nowMs: NOW,
      maxFailingNodes: 10,
    });
    expect(status.nodes).toEqual({ desired: 2, ready: 2, failed: 0 });
    expect(status.capacity).toEqual({
      dataSizeBytes: 4000,
      dataUsedBytes: 1000,
      metadataSizeBytes: 40,
      metadataUsedBytes: 4,
      dataUsedPercent: 25,
      metadataUsedPercent: 10,
    });
    expect(status.failingNodes).toEqual([]);
    expect(status.observedGeneration).toBe(3);
    expect(status.conditions).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'AllNodesReady',
        message: '2/2 nodes ready',
        observedGeneration: 3,
        lastTransitionTime: '2025-01-01T01:00:00.000Z',
      },
      {
        type: 'Progressing',
        status: 'False',
        reason: 'Reconciled',
        message: '2/2 nodes ready',
        observedGeneration: 3,
        lastTransitionTime: '2025-01-01T01:00:00.000Z',
      },
      {
        type: 'Degraded',
        status: 'False',
        reason: 'AsExpected',
        message: 'No node failed',
        observedGeneration: 3,
        lastTransitionTime: '2025-01-01T01:00:00.000Z',
      },
    ]);
  });

  it('is Degraded with the failing node and its reason; capacity counts every node that reports a pool', () => {
    const status = computeStatus({
      thinPool: pool,
      verdicts: [ready('a'), failed('b'), pending('c')],
      thinPoolNodes: tpns(pool, { a: 1000, b: 3000 }),
      nowMs: NOW,
      maxFailingNodes: 10,
    });
    expect(status.nodes).toEqual({ desired: 3, ready: 1, failed: 1 });
    expect(status.capacity?.dataSizeBytes).toBe(4000);
    expect(status.failingNodes).toEqual([
      { node: 'b', reason: 'DeviceHasFilesystem', message: 'Refused /dev/sdb on b' },
      { node: 'c', reason: 'AwaitingAgent', message: 'The agent has not reported yet' },
    ]);
    const byType = Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c]));
    expect(byType.Ready).toMatchObject({
      status: 'False',
      reason: 'NodesNotReady',
      message: '1/3 nodes ready',
    });
    expect(byType.Progressing).toMatchObject({
      status: 'True',
      reason: 'Provisioning',
      message: '1 node not ready yet: c',
    });
    expect(byType.Degraded).toMatchObject({
      status: 'True',
      reason: 'NodesFailed',
      message: '1 node failed: b: DeviceHasFilesystem: Refused /dev/sdb on b',
    });
  });

  it('bounds the failing-node list, failed nodes first', () => {
    const verdicts = [
      ...Array.from({ length: 30 }, (_, i) => pending(`p${String(i).padStart(2, '0')}`)),
      failed('z1'),
      failed('z2'),
    ];
    const list = failingNodes(verdicts, 5);
    expect(list.map((f) => f.node)).toEqual(['z1', 'z2', 'p00', 'p01', 'p02']);
  });

  it('reports Progressing Updating while agents lag behind the generation', () => {
    const status = computeStatus({
      thinPool: pool,
      verdicts: [ready('a', false), ready('b')],
      thinPoolNodes: tpns(pool, { a: 1, b: 1 }),
      nowMs: NOW,
      maxFailingNodes: 10,
    });
    expect(status.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'Updating',
      message: '1 node not yet at generation 3: a',
    });
  });

  it('reports no matching nodes, an invalid spec, and deletion', () => {
    const none = computeStatus({
      thinPool: pool,
      verdicts: [],
      thinPoolNodes: new Map(),
      nowMs: NOW,
      maxFailingNodes: 10,
    });
    expect(none.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'False', reason: 'NoMatchingNodes' });
    const invalid = computeStatus({
      thinPool: pool,
      verdicts: [],
      thinPoolNodes: new Map(),
      specProblem: 'spec.loop.directory: bad',
      nowMs: NOW,
      maxFailingNodes: 10,
    });
    expect(invalid.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'InvalidSpec'],
      ['Progressing', 'False', 'InvalidSpec'],
      ['Degraded', 'True', 'InvalidSpec'],
    ]);
    const deleting = computeStatus({
      thinPool: pool,
      verdicts: [ready('a')],
      thinPoolNodes: tpns(pool, { a: 1 }),
      deletion: { waitingFor: ['a'] },
      nowMs: NOW,
      maxFailingNodes: 10,
    });
    expect(deleting.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'Deleting',
      message: 'Waiting for 1 node to delete the pool: a',
    });
  });

  it('keeps transition times while a condition holds, so an unchanged cluster yields an equal status', () => {
    const first = computeStatus({
      thinPool: pool,
      verdicts: [ready('a')],
      thinPoolNodes: tpns(pool, { a: 1 }),
      nowMs: NOW,
      maxFailingNodes: 10,
    });
    const later = computeStatus({
      thinPool: { ...pool, status: first },
      verdicts: [ready('a')],
      thinPoolNodes: tpns(pool, { a: 1 }),
      nowMs: NOW + 3_600_000,
      maxFailingNodes: 10,
    });
    expect(jsonEqual(first, later)).toBe(true);
  });
});

describe('jsonEqual and statusPatch', () => {
  it('compares JSON ignoring key order and undefined members', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, x: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: '1' })).toBe(false);
  });

  it('nulls the top-level fields the operator no longer sets', () => {
    expect(
      statusPatch(
        {
          observedGeneration: 1,
          capacity: { dataSizeBytes: 1, dataUsedBytes: 0, metadataSizeBytes: 0, metadataUsedBytes: 0 },
        },
        { observedGeneration: 2 },
      ),
    ).toEqual({
      status: { observedGeneration: 2, capacity: null },
    });
  });
});
