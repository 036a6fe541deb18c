import { describe, expect, it } from '@jest/globals';
import {
  nodeChangeMatters,
  podChangeMatters,
  thinPoolChangeMatters,
} from '../../operator/controller/predicates.js';
import { agentPod, node, thinPool } from './support/fixtures.js';

describe('thinPoolChangeMatters', () => {
  const base = thinPool('p');
  it('ignores the operator’s own status write coming back', () => {
    const withStatus = {
      ...base,
      metadata: { ...base.metadata, resourceVersion: '11' },
      status: { observedGeneration: 1 },
    };
    expect(thinPoolChangeMatters(withStatus, base)).toBe(false);
  });

  it('reacts to a resync, a spec change, deletion, finalizers and a recreated object', () => {
    expect(thinPoolChangeMatters(base, base)).toBe(true);
    expect(thinPoolChangeMatters({ ...base, metadata: { ...base.metadata, generation: 2 } }, base)).toBe(
      true,
    );
    expect(
      thinPoolChangeMatters(
        { ...base, metadata: { ...base.metadata, deletionTimestamp: '2025-01-01T00:00:00Z' } },
        base,
      ),
    ).toBe(true);
    expect(thinPoolChangeMatters({ ...base, metadata: { ...base.metadata, finalizers: [] } }, base)).toBe(
      true,
    );
    expect(thinPoolChangeMatters({ ...base, metadata: { ...base.metadata, uid: 'other' } }, base)).toBe(true);
  });
});

describe('nodeChangeMatters and podChangeMatters', () => {
  it('react only to what changes a verdict', () => {
    const n = node('a', { zone: 'x' });
    expect(nodeChangeMatters({ ...n, metadata: { ...n.metadata, resourceVersion: '9' } }, n)).toBe(false);
    expect(nodeChangeMatters(node('a', { zone: 'y' }), n)).toBe(true);
    expect(
      nodeChangeMatters(node('a', { zone: 'x' }, { taints: [{ key: 'k', effect: 'NoSchedule' }] }), n),
    ).toBe(true);
    const ready = agentPod('p', 'a', true);
    expect(podChangeMatters({ ...ready, metadata: { ...ready.metadata, resourceVersion: '9' } }, ready)).toBe(
      false,
    );
    expect(podChangeMatters(agentPod('p', 'a', false), ready)).toBe(true);
  });
});
