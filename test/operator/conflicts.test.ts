import { describe, expect, it } from '@jest/globals';
import { conflictMessage, findPoolConflicts } from '../../operator/controller/conflicts.js';
import { node, thinPool } from './support/fixtures.js';

const nodes = [node('n1', { pool: 'a' }), node('n2', { pool: 'a' }), node('n3', { pool: 'b' })];
const at = (creationTimestamp: string) => ({ creationTimestamp });

describe('findPoolConflicts', () => {
  it('refuses the newer of two ThinPools naming the same volume group on overlapping nodes', () => {
    const old = thinPool('old', {}, at('2025-01-01T00:00:00Z'));
    const young = thinPool('young', { thinPoolName: 'other' }, at('2025-01-02T00:00:00Z'));
    expect(findPoolConflicts([young, old], nodes)).toEqual(
      new Map([['young', { other: 'old', nodes: ['n1', 'n2', 'n3'], claim: 'volume group docker' }]]),
    );
  });

  it('names the thin pool when both name the same one, and orders by name on equal timestamps', () => {
    const a = thinPool('a');
    const b = thinPool('b');
    expect(findPoolConflicts([b, a], nodes).get('b')?.claim).toBe('thin pool docker/thinpool');
    expect(findPoolConflicts([b, a], nodes).has('a')).toBe(false);
  });

  it('accepts the same volume group on disjoint nodes, and different volume groups on the same nodes', () => {
    const onA = thinPool('on-a', { nodeSelector: { pool: 'a' } });
    const onB = thinPool('on-b', { nodeSelector: { pool: 'b' } });
    const other = thinPool('other', { volumeGroup: 'other' });
    expect(findPoolConflicts([onA, onB, other], nodes)).toEqual(new Map());
  });

  it('refuses two ThinPools that would configure the same container runtime on one node', () => {
    const docker = { type: 'docker' as const, drain: { enabled: false, maxUnavailable: 1 } };
    const a = thinPool('a', { runtime: docker }, at('2025-01-01T00:00:00Z'));
    const b = thinPool('b', { volumeGroup: 'vg2', runtime: docker, nodeSelector: { pool: 'b' } });
    expect(findPoolConflicts([a, b], nodes).get('b')).toEqual({
      other: 'a',
      nodes: ['n3'],
      claim: 'the docker runtime',
    });
    const containerd = thinPool('c', {
      volumeGroup: 'vg3',
      runtime: { type: 'containerd', drain: { enabled: false, maxUnavailable: 1 } },
    });
    expect(findPoolConflicts([a, containerd], nodes)).toEqual(new Map());
  });

  it('judges each ThinPool against the accepted ones only: a refused one blocks nobody', () => {
    const first = thinPool('first', { nodeSelector: { pool: 'a' } }, at('2025-01-01T00:00:00Z'));
    const second = thinPool('second', {}, at('2025-01-02T00:00:00Z'));
    const third = thinPool('third', { nodeSelector: { pool: 'b' } }, at('2025-01-03T00:00:00Z'));
    const refused = findPoolConflicts([third, second, first], nodes);
    expect([...refused.keys()]).toEqual(['second']);
  });

  it('explains the refusal with both ThinPools and the shared nodes', () => {
    expect(
      conflictMessage('young', { other: 'old', nodes: ['n1', 'n2'], claim: 'volume group docker' }),
    ).toBe(
      'ThinPool young claims volume group docker, like the older ThinPool old, on nodes n1, n2: refused (no agents run for it) so that two agents never manage one volume group or runtime; change its volumeGroup, runtime or nodeSelector, or delete one of the two',
    );
  });
});
