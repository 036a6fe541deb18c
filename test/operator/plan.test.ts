import { describe, expect, it } from '@jest/globals';
import { CLEANUP_FINALIZER } from '../../api/v1alpha1/types.js';
import { desiredDaemonSet } from '../../operator/controller/daemon-set.js';
import type { DaemonSetObject } from '../../operator/controller/kube-types.js';
import {
  planThinPool,
  transitionEvents,
  type Action,
  type ObservedState,
} from '../../operator/controller/plan.js';
import {
  agentPod,
  failedStatus,
  node,
  readyStatus,
  TEST_SETTINGS,
  thinPool,
  thinPoolNode,
} from './support/fixtures.js';

const NOW = Date.parse('2025-01-01T01:00:00Z');
const selected = { 'thinpool.dev/enabled': 'true' };

function stored(ds: DaemonSetObject): DaemonSetObject {
  return { ...structuredClone(ds), metadata: { ...ds.metadata, resourceVersion: '9', uid: 'ds-uid' } };
}

function types(actions: Action[]): string[] {
  return actions.map((a) => a.type);
}

describe('planThinPool for a live ThinPool', () => {
  const pool = thinPool('p', { nodeSelector: selected });
  const nodes = [node('a', selected), node('b', selected), node('c', {})];

  it('adds the finalizer, creates the DaemonSet and one ThinPoolNode per matching node', () => {
    const fresh = thinPool('p', { nodeSelector: selected }, { finalizers: undefined });
    const plan = planThinPool(
      { thinPool: fresh, nodes, thinPoolNodes: [], agentPods: [] },
      TEST_SETTINGS,
      NOW,
    );
    expect(types(plan.actions)).toEqual(['addFinalizer', 'createDaemonSet', 'createThinPoolNodes']);
    const create = plan.actions[2] as Extract<Action, { type: 'createThinPoolNodes' }>;
    expect(create.objects.map((o) => o.metadata.name)).toEqual(['p.a', 'p.b']);
    expect(create.objects[0]).toMatchObject({
      spec: { thinPool: 'p', nodeName: 'a' },
      metadata: {
        labels: { 'thinpool.dev/pool': 'p', 'thinpool.dev/node': 'a' },
        ownerReferences: [{ kind: 'ThinPool', uid: 'uid-p', controller: true }],
      },
    });
    expect(plan.status?.nodes).toEqual({ desired: 2, ready: 0, failed: 0 });
  });

  it('does nothing but compute the status once everything exists', () => {
    const observed: ObservedState = {
      thinPool: pool,
      nodes,
      thinPoolNodes: [thinPoolNode(pool, 'a', readyStatus(100)), thinPoolNode(pool, 'b', readyStatus(300))],
      agentPods: [agentPod('p', 'a', true), agentPod('p', 'b', true)],
      daemonSet: stored(desiredDaemonSet(pool, TEST_SETTINGS)),
    };
    const plan = planThinPool(observed, TEST_SETTINGS, NOW);
    expect(plan.actions).toEqual([]);
    expect(plan.status?.nodes).toEqual({ desired: 2, ready: 2, failed: 0 });
    expect(plan.status?.capacity?.dataSizeBytes).toBe(400);
    expect(plan.events).toEqual([
      { type: 'Normal', reason: 'Ready', message: 'ThinPool is ready: 2/2 nodes ready' },
    ]);
    expect(
      planThinPool({ ...observed, thinPool: { ...pool, status: plan.status } }, TEST_SETTINGS, NOW).events,
    ).toEqual([]);
  });

  it('deletes the ThinPoolNodes of nodes that are gone, no longer match, or belong to an earlier ThinPool', () => {
    const earlier = thinPool('p', {}, { uid: 'uid-old' });
    const observed: ObservedState = {
      thinPool: pool,
      nodes: [node('a', selected), node('c', {}), node('d', selected)],
      thinPoolNodes: [
        thinPoolNode(pool, 'a'),
        thinPoolNode(pool, 'b'),
        thinPoolNode(pool, 'c'),
        thinPoolNode(earlier, 'd'),
      ],
      agentPods: [],
      daemonSet: stored(desiredDaemonSet(pool, TEST_SETTINGS)),
    };
    const plan = planThinPool(observed, TEST_SETTINGS, NOW);
    expect(plan.actions).toEqual([
      {
        type: 'deleteThinPoolNodes',
        removals: [
          { name: 'p.b', nodeName: 'b', uid: 'uid-tpn-b', reason: 'the node is gone' },
          { name: 'p.c', nodeName: 'c', uid: 'uid-tpn-c', reason: 'the node no longer matches' },
          { name: 'p.d', nodeName: 'd', uid: 'uid-tpn-d', reason: 'it belongs to an earlier ThinPool' },
        ],
      },
    ]);
    expect(plan.status?.nodes?.desired).toBe(2);
  });

  it('adopts a ThinPoolNode an agent created before the operator did, instead of replacing it', () => {
    const byAgent = thinPoolNode(pool, 'a', readyStatus(100));
    byAgent.metadata.ownerReferences = undefined;
    const plan = planThinPool(
      {
        thinPool: pool,
        nodes: [node('a', selected)],
        thinPoolNodes: [byAgent],
        agentPods: [agentPod('p', 'a', true)],
        daemonSet: stored(desiredDaemonSet(pool, TEST_SETTINGS)),
      },
      TEST_SETTINGS,
      NOW,
    );
    expect(plan.actions).toEqual([{ type: 'adoptThinPoolNodes', objects: [byAgent] }]);
    expect(plan.status?.nodes).toEqual({ desired: 1, ready: 1, failed: 0 });
  });

  it('updates the DaemonSet in place when a field that reaches the Pods changes', () => {
    const before = stored(desiredDaemonSet(pool, TEST_SETTINGS));
    const changed = thinPool(
      'p',
      { nodeSelector: selected, tolerations: [{ operator: 'Exists' }] },
      { generation: 2 },
    );
    const plan = planThinPool(
      { thinPool: changed, nodes, thinPoolNodes: [], agentPods: [], daemonSet: before },
      TEST_SETTINGS,
      NOW,
    );
    const update = plan.actions.find((a) => a.type === 'updateDaemonSet') as Extract<
      Action,
      { type: 'updateDaemonSet' }
    >;
    expect(update.reason).toBe('Pod template changed');
    expect(update.daemonSet.metadata.resourceVersion).toBe('9');
    expect(update.daemonSet.spec.template.spec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(plan.status?.observedGeneration).toBe(2);
  });

  it('refuses an unsafe loop directory: no DaemonSet, Degraded InvalidSpec', () => {
    const bad = thinPool('p', {
      loop: { directory: '/var/lib/../../etc', dataSize: '1Gi', metadataSize: '10Mi' },
    });
    const plan = planThinPool({ thinPool: bad, nodes, thinPoolNodes: [], agentPods: [] }, TEST_SETTINGS, NOW);
    expect(types(plan.actions)).toEqual(['createThinPoolNodes']);
    expect(plan.status?.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'InvalidSpec',
      message:
        'spec.loop.directory: Invalid value: "/var/lib/../../etc": must not contain "." or ".." segments',
    });
    expect(plan.events[0]).toMatchObject({ type: 'Warning', reason: 'InvalidSpec' });
  });

  it('asks to come back when an agent grace period ends', () => {
    const observed: ObservedState = {
      thinPool: pool,
      nodes: [node('a', selected)],
      thinPoolNodes: [thinPoolNode(pool, 'a', readyStatus(1))],
      agentPods: [agentPod('p', 'a', false, '2025-01-01T00:59:00Z')],
      daemonSet: stored(desiredDaemonSet(pool, TEST_SETTINGS)),
    };
    expect(planThinPool(observed, TEST_SETTINGS, NOW).requeueAfterMs).toBe(120_000);
  });

  it('reports a failing node as Degraded with its reason', () => {
    const observed: ObservedState = {
      thinPool: pool,
      nodes: [node('a', selected), node('b', selected)],
      thinPoolNodes: [
        thinPoolNode(pool, 'a', readyStatus(1)),
        thinPoolNode(pool, 'b', failedStatus('DeviceMounted', '/dev/sdc is mounted on /data')),
      ],
      agentPods: [agentPod('p', 'a', true), agentPod('p', 'b', true)],
      daemonSet: stored(desiredDaemonSet(pool, TEST_SETTINGS)),
    };
    const plan = planThinPool(observed, TEST_SETTINGS, NOW);
    expect(plan.status?.failingNodes).toEqual([
      { node: 'b', reason: 'DeviceMounted', message: '/dev/sdc is mounted on /data' },
    ]);
    expect(plan.events).toContainEqual({
      type: 'Warning',
      reason: 'NodesFailed',
      message: '1 node failed: b: DeviceMounted: /dev/sdc is mounted on /data',
    });
  });
});

describe('planThinPool for a ThinPool being deleted', () => {
  const deletedAt = { deletionTimestamp: '2025-01-01T00:30:00Z' };

  it('Retain: removes the DaemonSet and the ThinPoolNodes, then the finalizer, and writes no status', () => {
    const pool = thinPool('p', { deletionPolicy: 'Retain' }, deletedAt);
    const ds = stored(desiredDaemonSet(pool, TEST_SETTINGS));
    const plan = planThinPool(
      {
        thinPool: pool,
        nodes: [node('a')],
        thinPoolNodes: [thinPoolNode(pool, 'a', readyStatus(1))],
        agentPods: [],
        daemonSet: ds,
      },
      TEST_SETTINGS,
      NOW,
    );
    expect(plan.actions).toEqual([
      { type: 'deleteDaemonSet', name: 'thinpool-agent-p' },
      {
        type: 'deleteThinPoolNodes',
        removals: [{ name: 'p.a', nodeName: 'a', reason: 'the ThinPool is deleted', uid: 'uid-tpn-a' }],
      },
      { type: 'removeFinalizer', retained: true },
    ]);
    expect(plan.status).toBeUndefined();
  });

  it('Delete: keeps the agents until every node reports its pool Deleted', () => {
    const pool = thinPool('p', { deletionPolicy: 'Delete' }, deletedAt);
    const ds = stored(desiredDaemonSet(pool, TEST_SETTINGS));
    const base = {
      thinPool: pool,
      nodes: [node('a'), node('b')],
      agentPods: [agentPod('p', 'a', true), agentPod('p', 'b', true)],
      daemonSet: ds,
    };
    const waiting = planThinPool(
      {
        ...base,
        thinPoolNodes: [
          thinPoolNode(pool, 'a', { phase: 'Deleted' }),
          thinPoolNode(pool, 'b', { phase: 'Deleting' }),
        ],
      },
      TEST_SETTINGS,
      NOW,
    );
    expect(waiting.actions).toEqual([]);
    expect(waiting.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({
      reason: 'Deleting',
      message: 'Waiting for 1 node to delete the pool: b',
    });
    const done = planThinPool(
      {
        ...base,
        thinPoolNodes: [
          thinPoolNode(pool, 'a', { phase: 'Deleted' }),
          thinPoolNode(pool, 'b', { phase: 'Deleted' }),
        ],
      },
      TEST_SETTINGS,
      NOW,
    );
    expect(types(done.actions)).toEqual(['deleteDaemonSet', 'deleteThinPoolNodes', 'removeFinalizer']);
    expect(done.actions[2]).toEqual({ type: 'removeFinalizer', retained: false });
  });

  it('Delete: a node that is gone no longer holds the finalizer', () => {
    const pool = thinPool('p', { deletionPolicy: 'Delete' }, deletedAt);
    const plan = planThinPool(
      {
        thinPool: pool,
        nodes: [node('a')],
        thinPoolNodes: [
          thinPoolNode(pool, 'a', { phase: 'Deleted' }),
          thinPoolNode(pool, 'gone', readyStatus(1)),
        ],
        agentPods: [],
      },
      TEST_SETTINGS,
      NOW,
    );
    expect(types(plan.actions)).toEqual(['deleteThinPoolNodes', 'removeFinalizer']);
  });

  it('Delete: recreates a missing DaemonSet so the agents can tear the pools down', () => {
    const pool = thinPool('p', { deletionPolicy: 'Delete' }, deletedAt);
    const plan = planThinPool(
      {
        thinPool: pool,
        nodes: [node('a')],
        thinPoolNodes: [thinPoolNode(pool, 'a', readyStatus(1))],
        agentPods: [],
      },
      TEST_SETTINGS,
      NOW,
    );
    expect(types(plan.actions)).toEqual(['createDaemonSet']);
  });

  it('leaves a ThinPool without our finalizer alone', () => {
    const pool = thinPool('p', {}, { ...deletedAt, finalizers: ['someone.else/x'] });
    expect(
      planThinPool({ thinPool: pool, nodes: [], thinPoolNodes: [], agentPods: [] }, TEST_SETTINGS, NOW),
    ).toEqual({ actions: [], events: [], verdicts: [] });
  });

  it('never adds the finalizer back while deleting', () => {
    const pool = thinPool(
      'p',
      { deletionPolicy: 'Delete' },
      { ...deletedAt, finalizers: [CLEANUP_FINALIZER] },
    );
    const plan = planThinPool(
      { thinPool: pool, nodes: [], thinPoolNodes: [], agentPods: [] },
      TEST_SETTINGS,
      NOW,
    );
    expect(types(plan.actions)).not.toContain('addFinalizer');
  });
});

describe('transitionEvents', () => {
  const at = '2025-01-01T00:00:00Z';
  it('reports recovery from Degraded', () => {
    expect(
      transitionEvents(
        [{ type: 'Degraded', status: 'True', reason: 'NodesFailed', message: 'x', lastTransitionTime: at }],
        [
          {
            type: 'Degraded',
            status: 'False',
            reason: 'AsExpected',
            message: 'No node failed',
            lastTransitionTime: at,
          },
        ],
      ),
    ).toEqual([{ type: 'Normal', reason: 'Recovered', message: 'ThinPool is no longer degraded' }]);
  });
});

describe('planThinPool with a pool conflict or a runtime rollout', () => {
  const nodes = [node('a', selected), node('b', selected)];

  it('refuses a ThinPool in conflict: deletes its DaemonSet, creates no ThinPoolNodes, Ready False PoolConflict', () => {
    const pool = thinPool('young', { nodeSelector: selected });
    const plan = planThinPool(
      {
        thinPool: pool,
        nodes,
        thinPoolNodes: [],
        agentPods: [],
        daemonSet: stored(desiredDaemonSet(pool, TEST_SETTINGS)),
        conflict: { other: 'old', nodes: ['a', 'b'], claim: 'volume group docker' },
      },
      TEST_SETTINGS,
      NOW,
    );
    expect(plan.actions).toEqual([{ type: 'deleteDaemonSet', name: 'thinpool-agent-young' }]);
    expect(plan.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PoolConflict',
    });
    // One Warning, from Degraded turning True with the conflict as its reason.
    expect(plan.events).toEqual([
      {
        type: 'Warning',
        reason: 'PoolConflict',
        message: expect.stringMatching(
          /^ThinPool young claims volume group docker, like the older ThinPool old/,
        ),
      },
    ]);
  });

  it('plans the rollout after the ThinPoolNodes, with the RuntimeRollout condition and a drain recheck', () => {
    const pool = thinPool('p', {
      nodeSelector: selected,
      runtime: { type: 'docker', drain: { enabled: true, maxUnavailable: 1 } },
    });
    const awaiting = (name: string) => {
      const status = readyStatus(100);
      status.conditions = [
        ...(status.conditions ?? []),
        {
          type: 'RuntimeConfigured',
          status: 'False',
          reason: 'AwaitingRollout',
          message: 'waits',
          lastTransitionTime: '2025-01-01T00:00:00Z',
        },
      ];
      return thinPoolNode(pool, name, status);
    };
    const plan = planThinPool(
      {
        thinPool: pool,
        nodes,
        thinPoolNodes: [awaiting('a'), awaiting('b')],
        agentPods: [agentPod('p', 'a', true), agentPod('p', 'b', true)],
        daemonSet: stored(desiredDaemonSet(pool, TEST_SETTINGS)),
      },
      TEST_SETTINGS,
      NOW,
    );
    expect(plan.actions).toEqual([
      { type: 'setRuntimeSwitch', nodeName: 'a', thinPoolNode: 'p.a', value: 'Draining' },
      { type: 'cordon', nodeName: 'a' },
    ]);
    expect(plan.status?.conditions?.map((c) => c.type)).toEqual([
      'Ready',
      'Progressing',
      'Degraded',
      'RuntimeRollout',
    ]);
    expect(plan.requeueAfterMs).toBe(TEST_SETTINGS.drainRetryMs);
  });

  it('uncordons the nodes a ThinPool cordoned when it is deleted with Retain', () => {
    const pool = thinPool('p', {}, { deletionTimestamp: '2025-01-01T00:30:00Z' });
    const cordoned = {
      ...node('a'),
      metadata: { ...node('a').metadata, annotations: { 'thinpool.dev/cordoned-by': 'p' } },
      spec: { unschedulable: true },
    };
    const plan = planThinPool(
      { thinPool: pool, nodes: [cordoned, node('b')], thinPoolNodes: [], agentPods: [] },
      TEST_SETTINGS,
      NOW,
    );
    expect(plan.actions).toEqual([
      { type: 'uncordon', nodeName: 'a' },
      { type: 'removeFinalizer', retained: true },
    ]);
  });
});
