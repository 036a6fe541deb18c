/**
 * The ThinPool reconciler end to end against the API emulator with the real client-node: nodes are Node
 * objects, the DaemonSet controller and the agents are played by the test (agent Pods with a Ready
 * condition, ThinPoolNode status written through the API).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execa } from 'execa';
import { CLEANUP_FINALIZER, type ThinPoolNode } from '../../api/v1alpha1/types.js';
import type { Operator } from '../../operator/operator.js';
import { failedStatus, readyStatus } from './support/fixtures.js';
import { TestCluster, conditionOf, eventually, readyOf } from './support/harness.js';

jest.setTimeout(60_000);

const ENABLED = { 'thinpool.dev/enabled': 'true' };
const GiB = 1024 ** 3;

let cluster: TestCluster;
let operator: Operator;
let workDir: string;

beforeAll(async () => {
  cluster = await TestCluster.start();
  workDir = await mkdtemp(path.join(tmpdir(), 'operator-lifecycle-'));
  for (const name of ['n1', 'n2']) await cluster.createNode(name, ENABLED);
  await cluster.createNode('n3', {});
  operator = await cluster.startOperator();
});

afterAll(async () => {
  await cluster?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** Plays a healthy agent on each node. */
async function agentsReady(pool: string, nodes: string[], size: number, generation = 1): Promise<void> {
  for (const n of nodes) {
    await cluster.runAgentPod(pool, n, true);
    await cluster.reportAgentStatus(pool, n, readyStatus(size, generation));
  }
}

type RecordedEvent = Awaited<ReturnType<TestCluster['listEvents']>>[number];

/** Waits for an Event (the operator records them after the writes they describe). */
function eventWith(match: (e: RecordedEvent) => boolean): Promise<RecordedEvent> {
  return eventually(async () => (await cluster.listEvents()).find(match), 'the Event');
}

/** Waits until the operator has nothing queued or running. */
async function operatorIdle(): Promise<void> {
  await eventually(() => operator.queue.length === 0 && operator.queue.inFlight === 0, 'an idle work queue');
}

describe('a ThinPool on selected nodes', () => {
  it('gets a DaemonSet and ThinPoolNodes, turns Ready with the summed capacity, and kubectl shows it', async () => {
    await cluster.createThinPool('loop', {
      nodeSelector: ENABLED,
      loop: { directory: '/var/lib/thinpool', dataSize: '2Gi', metadataSize: '64Mi' },
    });
    const ds = await eventually(() => cluster.getDaemonSet('loop'), 'the agent DaemonSet');
    expect(ds.spec.template.spec.nodeSelector).toEqual(ENABLED);
    expect(ds.spec.template.spec.containers[0].image).toBe('registry.example/thinpool-operator:test');
    expect(ds.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'ThinPool',
      name: 'loop',
      controller: true,
    });
    const tpns = await eventually(async () => {
      const list = await cluster.listThinPoolNodes('loop');
      return list.length === 2 && list;
    }, 'two ThinPoolNodes');
    expect(tpns.map((t) => t.metadata.name).sort()).toEqual(['loop.n1', 'loop.n2']);
    expect((await cluster.getThinPool('loop'))?.metadata.finalizers).toContain(CLEANUP_FINALIZER);

    const pending = await eventually(async () => {
      const tp = await cluster.getThinPool('loop');
      return tp?.status?.nodes?.desired === 2 && tp;
    }, 'status with 2 desired nodes');
    expect(readyOf(pending)).toBe('False');

    await agentsReady('loop', ['n1', 'n2'], 2 * GiB);
    const ready = await eventually(async () => {
      const tp = await cluster.getThinPool('loop');
      return readyOf(tp) === 'True' && tp;
    }, 'the ThinPool to turn Ready');
    expect(ready.status?.nodes).toEqual({ desired: 2, ready: 2, failed: 0 });
    expect(ready.status?.capacity).toMatchObject({
      dataSizeBytes: 4 * GiB,
      dataUsedBytes: GiB,
      dataUsedPercent: 25,
    });
    expect(ready.status?.observedGeneration).toBe(ready.metadata.generation);
    expect(conditionOf(ready, 'Ready')).toMatchObject({ reason: 'AllNodesReady', observedGeneration: 1 });

    const kubeconfig = path.join(workDir, 'kubeconfig');
    await cluster.api.writeKubeconfig(kubeconfig);
    const { stdout } = await execa('kubectl', ['--kubeconfig', kubeconfig, 'get', 'thinpools']);
    const row = stdout.split('\n').find((line) => line.startsWith('loop '));
    expect(stdout.split('\n')[0]).toMatch(/^NAME\s+DESIRED\s+READY NODES/);
    expect(row?.split(/\s+/).slice(0, 3)).toEqual(['loop', '2', '2']);
    expect(row).toContain('True');

    // Events follow the status write.
    await eventWith((e) => e.reason === 'Ready' && e.involvedObject.name === 'loop');
    const events = await cluster.listEvents();
    expect(events.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['CreatedDaemonSet', 'CreatedThinPoolNodes', 'Ready']),
    );
  });

  it('writes no status and nothing else when nothing changed, even after a full resync', async () => {
    await operatorIdle();
    cluster.api.requestLog.reset();
    const before = (await operator.metrics.reconciles.get()).values.reduce((sum, v) => sum + v.value, 0);
    operator.resyncAll();
    await cluster.reportAgentStatus('loop', 'n1', readyStatus(2 * GiB));
    await cluster.labelNode('n3', { team: 'storage' });
    await eventually(async () => {
      const after = (await operator.metrics.reconciles.get()).values.reduce((sum, v) => sum + v.value, 0);
      return after > before && operator.queue.length === 0 && operator.queue.inFlight === 0;
    }, 'the operator to reconcile after the resync');
    await eventually(() => Object.values(operator.caches).every((c) => c.hasSynced), 'caches to re-list');
    const writes = cluster.api.requestLog
      .entries()
      .filter((e) => ['create', 'update', 'patch', 'delete'].includes(e.verb))
      .filter(
        (e) => !(e.resource === 'thinpoolnodes' && e.subresource === 'status') && e.resource !== 'nodes',
      );
    expect(writes).toEqual([]);
    expect(
      cluster.api.requestLog.count({ verb: 'patch', resource: 'thinpools', subresource: 'status' }),
    ).toBe(0);
    expect(cluster.api.requestLog.count({ verb: 'list', resource: 'nodes' })).toBeGreaterThan(0);
  });

  it('rolls the DaemonSet when the spec reaches the Pods; observedGeneration follows every spec change', async () => {
    const before = await cluster.getDaemonSet('loop');
    await cluster.patchThinPoolSpec('loop', {
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'storage', effect: 'NoSchedule' }],
    });
    const rolled = await eventually(async () => {
      const ds = await cluster.getDaemonSet('loop');
      return ds?.spec.template.spec.tolerations?.length === 1 && ds;
    }, 'the DaemonSet Pod template to carry the toleration');
    expect(rolled.metadata.uid).toBe(before?.metadata.uid);
    expect(rolled.metadata.generation).toBeGreaterThan(before?.metadata.generation ?? 0);
    const updating = await eventually(async () => {
      const tp = await cluster.getThinPool('loop');
      return tp?.status?.observedGeneration === 2 && tp;
    }, 'observedGeneration 2');
    expect(conditionOf(updating, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'Updating',
      observedGeneration: 2,
    });

    await agentsReady('loop', ['n1', 'n2'], 2 * GiB, 2);
    await eventually(
      async () => conditionOf(await cluster.getThinPool('loop'), 'Progressing')?.status === 'False',
      'Progressing False',
    );

    const dsVersion = rolled.metadata.resourceVersion;
    await cluster.patchThinPoolSpec('loop', { dataPercent: 80 });
    await eventually(
      async () => (await cluster.getThinPool('loop'))?.status?.observedGeneration === 3,
      'observedGeneration 3',
    );
    await operatorIdle();
    expect((await cluster.getDaemonSet('loop'))?.metadata.resourceVersion).toBe(dsVersion);
    await agentsReady('loop', ['n1', 'n2'], 2 * GiB, 3);
  });

  it('follows nodes: a new matching node gets a ThinPoolNode, a node that leaves or stops matching loses it', async () => {
    await cluster.labelNode('n3', ENABLED);
    await eventually(
      async () => (await cluster.listThinPoolNodes('loop')).length === 3,
      'a ThinPoolNode for n3',
    );
    await eventually(
      async () => (await cluster.getThinPool('loop'))?.status?.nodes?.desired === 3,
      '3 desired nodes',
    );
    await agentsReady('loop', ['n3'], GiB, 3);
    await eventually(
      async () => (await cluster.getThinPool('loop'))?.status?.nodes?.ready === 3,
      '3 ready nodes',
    );

    await cluster.deleteNode('n2');
    const afterLeave = await eventually(async () => {
      const tp = await cluster.getThinPool('loop');
      return tp?.status?.nodes?.desired === 2 && tp;
    }, 'the counts to drop when n2 leaves');
    expect(afterLeave.status?.nodes).toEqual({ desired: 2, ready: 2, failed: 0 });
    expect(afterLeave.status?.capacity?.dataSizeBytes).toBe(3 * GiB);
    expect((await cluster.listThinPoolNodes('loop')).map((t) => t.spec.nodeName).sort()).toEqual([
      'n1',
      'n3',
    ]);

    await cluster.labelNode('n3', { 'thinpool.dev/enabled': null });
    await eventually(
      async () => (await cluster.listThinPoolNodes('loop')).length === 1,
      'the ThinPoolNode of n3 to go',
    );
    await eventually(
      async () => (await cluster.getThinPool('loop'))?.status?.nodes?.desired === 1,
      '1 desired node',
    );
    const events = await cluster.listEvents();
    expect(events.filter((e) => e.reason === 'DeletedThinPoolNodes').map((e) => e.message)).toEqual(
      expect.arrayContaining([
        'Deleted 1 ThinPoolNode because the node is gone: n2',
        'Deleted 1 ThinPoolNode because the node no longer matches: n3',
      ]),
    );
  });

  it('reports a failing node as Degraded with its reason, and an agent that is not Ready as not ready', async () => {
    await cluster.createNode('n4', ENABLED);
    await eventually(
      async () => (await cluster.listThinPoolNodes('loop')).length === 2,
      'a ThinPoolNode for n4',
    );
    await cluster.runAgentPod('loop', 'n4', true);
    await cluster.reportAgentStatus(
      'loop',
      'n4',
      failedStatus('DeviceHasFilesystem', 'Refused /dev/vdb: ext4 signature'),
    );
    const degraded = await eventually(async () => {
      const tp = await cluster.getThinPool('loop');
      return conditionOf(tp, 'Degraded')?.status === 'True' && tp;
    }, 'Degraded');
    expect(conditionOf(degraded, 'Degraded')).toMatchObject({
      reason: 'NodesFailed',
      message: '1 node failed: n4: DeviceHasFilesystem: Refused /dev/vdb: ext4 signature',
    });
    expect(degraded.status?.failingNodes).toEqual([
      { node: 'n4', reason: 'DeviceHasFilesystem', message: 'Refused /dev/vdb: ext4 signature' },
    ]);
    expect(degraded.status?.nodes).toEqual({ desired: 2, ready: 1, failed: 1 });
    expect(readyOf(degraded)).toBe('False');

    await cluster.setAgentPodReady('loop', 'n1', false);
    const notReady = await eventually(async () => {
      const tp = await cluster.getThinPool('loop');
      return tp?.status?.nodes?.ready === 0 && tp;
    }, 'n1 to count as not ready');
    expect(notReady.status?.failingNodes?.map((f) => [f.node, f.reason])).toEqual([
      ['n4', 'DeviceHasFilesystem'],
      ['n1', 'AgentNotReady'],
    ]);
    await cluster.setAgentPodReady('loop', 'n1', true);
    await cluster.reportAgentStatus('loop', 'n4', readyStatus(GiB, 3));
    await eventually(async () => readyOf(await cluster.getThinPool('loop')) === 'True', 'Ready again');
    // Events follow the status write.
    const events = await eventually(async () => {
      const list = await cluster.listEvents();
      return list.some((e) => e.reason === 'Recovered') && list;
    }, 'the Recovered event');
    expect(events.find((e) => e.reason === 'NodesFailed')?.type).toBe('Warning');
  });

  it('adopts a ThinPoolNode an agent created while the operator was down, keeping the object', async () => {
    await operator.stop();
    await cluster.createNode('n5', ENABLED);
    const created = await cluster.client.create<ThinPoolNode>('/apis/thinpool.dev/v1alpha1/thinpoolnodes', {
      apiVersion: 'thinpool.dev/v1alpha1',
      kind: 'ThinPoolNode',
      metadata: { name: 'loop.n5' },
      spec: { thinPool: 'loop', nodeName: 'n5' },
    });
    operator = await cluster.startOperator();
    const adopted = await eventually(async () => {
      const tpn = (await cluster.listThinPoolNodes('loop')).find((t) => t.spec.nodeName === 'n5');
      return (tpn?.metadata.ownerReferences?.length ?? 0) > 0 && tpn;
    }, 'the ThinPoolNode of n5 to be adopted');
    const pool = await cluster.getThinPool('loop');
    expect(adopted.metadata.uid).toBe(created.metadata.uid);
    expect(adopted.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'thinpool.dev/v1alpha1',
        kind: 'ThinPool',
        name: 'loop',
        uid: pool?.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    await cluster.deleteNode('n5');
    await eventually(
      async () => !(await cluster.listThinPoolNodes('loop')).some((t) => t.spec.nodeName === 'n5'),
      'the ThinPoolNode of n5 to go with its node',
    );
  });

  it('refuses a loop directory the agent cannot mount safely: Degraded InvalidSpec and no DaemonSet', async () => {
    await cluster.createThinPool('badpath', {
      nodeSelector: ENABLED,
      loop: { directory: '/etc/lvm/loop', dataSize: '1Gi', metadataSize: '32Mi' },
    });
    const refused = await eventually(async () => {
      const tp = await cluster.getThinPool('badpath');
      return conditionOf(tp, 'Degraded')?.reason === 'InvalidSpec' && tp;
    }, 'Degraded InvalidSpec');
    expect(conditionOf(refused, 'Degraded')?.message).toBe(
      'spec.loop.directory: Invalid value: "/etc/lvm/loop": must not overlap /etc/lvm, where the agent mounts something else',
    );
    expect(readyOf(refused)).toBe('False');
    expect(await cluster.getDaemonSet('badpath')).toBeUndefined();
    const warning = await eventWith((e) => e.involvedObject.name === 'badpath' && e.reason === 'InvalidSpec');
    expect(warning?.type).toBe('Warning');
    await cluster.deleteThinPool('badpath');
    await eventually(async () => !(await cluster.getThinPool('badpath')), 'badpath to be gone');
    expect(await cluster.listThinPoolNodes('badpath')).toEqual([]);
  });
});

describe('deleting a ThinPool', () => {
  it('with Retain removes the DaemonSet and the ThinPoolNodes, releases the finalizer, and leaves nothing behind', async () => {
    await cluster.createThinPool('keep', {
      // Its own volume group: the ThinPool 'loop' of the first tests still holds 'docker' on these nodes.
      volumeGroup: 'keep',
      nodeSelector: ENABLED,
      loop: { directory: '/var/lib/keep', dataSize: '1Gi', metadataSize: '32Mi' },
    });
    await eventually(
      async () => (await cluster.listThinPoolNodes('keep')).length === 2,
      'ThinPoolNodes of keep',
    );
    await agentsReady('keep', ['n1', 'n4'], GiB);
    await eventually(async () => readyOf(await cluster.getThinPool('keep')) === 'True', 'keep Ready');
    await cluster.deleteThinPool('keep');
    await eventually(async () => !(await cluster.getThinPool('keep')), 'the ThinPool to be gone');
    expect(await cluster.getDaemonSet('keep')).toBeUndefined();
    expect(await cluster.listThinPoolNodes('keep')).toEqual([]);
    const finalized = await eventWith((e) => e.involvedObject.name === 'keep' && e.reason === 'Finalized');
    expect(finalized?.message).toBe(
      'Removed the agents; the pools stay on the hosts (deletionPolicy Retain)',
    );
  });

  it('with Delete waits until every node reports its pool deleted (or the node is gone), then removes everything', async () => {
    await cluster.createThinPool('wipe', {
      // Its own volume group: the ThinPool 'loop' of the first tests still holds 'docker' on these nodes.
      volumeGroup: 'wipe',
      nodeSelector: ENABLED,
      deletionPolicy: 'Delete',
      loop: { directory: '/var/lib/wipe', dataSize: '1Gi', metadataSize: '32Mi' },
    });
    await eventually(
      async () => (await cluster.listThinPoolNodes('wipe')).length === 2,
      'ThinPoolNodes of wipe',
    );
    await agentsReady('wipe', ['n1', 'n4'], GiB);
    await eventually(async () => readyOf(await cluster.getThinPool('wipe')) === 'True', 'wipe Ready');

    await cluster.deleteThinPool('wipe');
    const deleting = await eventually(async () => {
      const tp = await cluster.getThinPool('wipe');
      return conditionOf(tp, 'Progressing')?.reason === 'Deleting' && tp;
    }, 'Progressing Deleting');
    expect(deleting.metadata.deletionTimestamp).toBeDefined();
    expect(conditionOf(deleting, 'Progressing')?.message).toBe(
      'Waiting for 2 nodes to delete the pool: n1, n4',
    );
    expect(await cluster.getDaemonSet('wipe')).toBeDefined();

    await cluster.reportAgentStatus('wipe', 'n1', { phase: 'Deleted', observedGeneration: 1 });
    await eventually(
      async () =>
        conditionOf(await cluster.getThinPool('wipe'), 'Progressing')?.message ===
        'Waiting for 1 node to delete the pool: n4',
      'one node left',
    );
    expect(await cluster.getDaemonSet('wipe')).toBeDefined();
    await cluster.deleteNode('n4');
    await eventually(async () => !(await cluster.getThinPool('wipe')), 'the ThinPool to be gone');
    expect(await cluster.getDaemonSet('wipe')).toBeUndefined();
    expect(await cluster.listThinPoolNodes('wipe')).toEqual([]);
    const finalized = await eventWith((e) => e.involvedObject.name === 'wipe' && e.reason === 'Finalized');
    expect(finalized?.message).toBe(
      'Every node deleted its pool; removed the agents (deletionPolicy Delete)',
    );
  });
});
