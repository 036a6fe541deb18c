import { describe, expect, it } from '@jest/globals';
import {
  matchesNodeSelector,
  nodeIsEligible,
  toleratesNodeTaints,
  toleratesTaint,
} from '../../operator/controller/node-selection.js';
import type { Taint } from '../../operator/controller/kube-types.js';
import { node, thinPool } from './support/fixtures.js';

describe('matchesNodeSelector', () => {
  it('needs every key with the same value; an empty selector matches all', () => {
    expect(matchesNodeSelector({ a: '1', b: '2' }, { a: '1' })).toBe(true);
    expect(matchesNodeSelector({ a: '1' }, { a: '2' })).toBe(false);
    expect(matchesNodeSelector({}, { a: '1' })).toBe(false);
    expect(matchesNodeSelector(undefined, {})).toBe(true);
    expect(matchesNodeSelector(undefined, undefined)).toBe(true);
  });
});

describe('toleratesTaint', () => {
  const taint: Taint = { key: 'storage', value: 'lvm', effect: 'NoSchedule' };
  it.each([
    [{ key: 'storage', operator: 'Equal', value: 'lvm', effect: 'NoSchedule' }, true],
    [{ key: 'storage', value: 'lvm' }, true],
    [{ key: 'storage', operator: 'Exists' }, true],
    [{ operator: 'Exists' }, true],
    [{ operator: 'Exists', effect: 'NoExecute' }, false],
    [{ key: 'storage', operator: 'Equal', value: 'other' }, false],
    [{ key: 'other', operator: 'Exists' }, false],
    [{ value: 'lvm' }, false],
  ] as const)('%j tolerates it: %s', (toleration, expected) => {
    expect(toleratesTaint(toleration, taint)).toBe(expected);
  });
});

describe('toleratesNodeTaints', () => {
  it('ignores PreferNoSchedule and the taints every DaemonSet tolerates', () => {
    expect(
      toleratesNodeTaints(
        [],
        [
          { key: 'x', effect: 'PreferNoSchedule' },
          { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' },
          { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' },
        ],
      ),
    ).toBe(true);
    expect(toleratesNodeTaints([], [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }])).toBe(false);
  });
});

describe('nodeIsEligible', () => {
  const pool = thinPool('p', {
    nodeSelector: { 'thinpool.dev/enabled': 'true' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'storage', effect: 'NoSchedule' }],
  });
  it('requires the selector and tolerated taints, and skips nodes being deleted', () => {
    const labels = { 'thinpool.dev/enabled': 'true' };
    expect(nodeIsEligible(pool, node('a', labels))).toBe(true);
    expect(nodeIsEligible(pool, node('b', {}))).toBe(false);
    expect(
      nodeIsEligible(
        pool,
        node('c', labels, { taints: [{ key: 'dedicated', value: 'storage', effect: 'NoSchedule' }] }),
      ),
    ).toBe(true);
    expect(
      nodeIsEligible(
        pool,
        node('d', labels, { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }] }),
      ),
    ).toBe(false);
    const deleting = node('e', labels);
    deleting.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
    expect(nodeIsEligible(pool, deleting)).toBe(false);
  });
});
