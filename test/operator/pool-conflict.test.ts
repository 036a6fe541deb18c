import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { conditionOf, eventually, readyOf, TestCluster } from './support/harness.js';

jest.setTimeout(60_000);

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start();
  await cluster.createNode('n1', { pool: 'a' });
  await cluster.createNode('n2', { pool: 'a' });
  await cluster.createNode('n3', {});
  await cluster.startOperator();
});

afterAll(async () => {
  await cluster.stop();
});

describe('two ThinPools claiming one volume group on the same nodes', () => {
  it('refuses the newer one (no agents, Ready False PoolConflict, a Warning Event) until the conflict goes', async () => {
    await cluster.createThinPool('old', {
      loop: { directory: '/var/lib/old', dataSize: '1Gi', metadataSize: '32Mi' },
    });
    await eventually(
      async () => (await cluster.listThinPoolNodes('old')).length === 3,
      'ThinPoolNodes of old',
    );
    expect(await cluster.getDaemonSet('old')).toBeDefined();

    await cluster.createThinPool('young', {
      thinPoolName: 'other',
      nodeSelector: { pool: 'a' },
      loop: { directory: '/var/lib/young', dataSize: '1Gi', metadataSize: '32Mi' },
    });
    const refused = await eventually(async () => {
      const tp = await cluster.getThinPool('young');
      return conditionOf(tp, 'Ready')?.reason === 'PoolConflict' && tp;
    }, 'young refused');
    const message =
      'ThinPool young claims volume group docker, like the older ThinPool old, on nodes n1, n2: refused (no agents run for it) so that two agents never manage one volume group or runtime; change its volumeGroup, runtime or nodeSelector, or delete one of the two';
    expect(conditionOf(refused, 'Ready')).toMatchObject({ status: 'False', message });
    expect(conditionOf(refused, 'Degraded')).toMatchObject({ status: 'True', reason: 'PoolConflict' });
    expect(await cluster.getDaemonSet('young')).toBeUndefined();
    expect(await cluster.listThinPoolNodes('young')).toEqual([]);
    const warning = (await cluster.listEvents()).find(
      (e) => e.involvedObject.name === 'young' && e.reason === 'PoolConflict',
    );
    expect(warning).toMatchObject({ type: 'Warning', message });
    // The older ThinPool is untouched.
    expect(conditionOf(await cluster.getThinPool('old'), 'Ready')?.reason).not.toBe('PoolConflict');
    expect(await cluster.getDaemonSet('old')).toBeDefined();

    await cluster.deleteThinPool('old');
    await eventually(async () => !(await cluster.getThinPool('old')), 'old to be gone');
    await eventually(
      async () => (await cluster.getDaemonSet('young')) !== undefined,
      'the DaemonSet of young',
    );
    await eventually(
      async () => (await cluster.listThinPoolNodes('young')).length === 2,
      'ThinPoolNodes of young',
    );
    const accepted = await eventually(async () => {
      const tp = await cluster.getThinPool('young');
      return conditionOf(tp, 'Ready')?.reason !== 'PoolConflict' && tp;
    }, 'young accepted');
    expect(readyOf(accepted)).toBe('False');
    expect(conditionOf(accepted, 'Degraded')?.status).toBe('False');
  });

  it('refuses a ThinPool whose older neighbour only starts to overlap it later, and deletes its agents', async () => {
    await cluster.createThinPool('left', {
      volumeGroup: 'shared',
      nodeSelector: { pool: 'a' },
      loop: { directory: '/var/lib/left', dataSize: '1Gi', metadataSize: '32Mi' },
    });
    await cluster.createThinPool('right', {
      volumeGroup: 'shared',
      nodeSelector: { side: 'right' },
      loop: { directory: '/var/lib/right', dataSize: '1Gi', metadataSize: '32Mi' },
    });
    await cluster.labelNode('n3', { side: 'right' });
    await eventually(
      async () => (await cluster.getDaemonSet('right')) !== undefined,
      'the DaemonSet of right',
    );
    // n2 joins right too: left (older) already holds volume group "shared" there.
    await cluster.labelNode('n2', { side: 'right' });
    const refused = await eventually(async () => {
      const tp = await cluster.getThinPool('right');
      return conditionOf(tp, 'Ready')?.reason === 'PoolConflict' && tp;
    }, 'right refused');
    expect(conditionOf(refused, 'Ready')?.message).toMatch(
      /^ThinPool right claims thin pool shared\/thinpool, like the older ThinPool left, on node n2: /,
    );
    await eventually(
      async () => (await cluster.getDaemonSet('right')) === undefined,
      'the agents of right gone',
    );
    await cluster.labelNode('n2', { side: null });
    await eventually(
      async () => (await cluster.getDaemonSet('right')) !== undefined,
      'the agents of right back',
    );
  });
});
