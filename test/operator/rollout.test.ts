import { describe, expect, it } from '@jest/globals';
import type { RuntimeSwitch, ThinPool, ThinPoolNode, ThinPoolSpec } from '../../api/v1alpha1/types.js';
import type { NodeObject, PodObject } from '../../operator/controller/kube-types.js';
import {
  CORDONED_BY_ANNOTATION,
  isEvictable,
  nodeRuntimeState,
  nodesToDrain,
  planRollout,
  type RolloutInput,
} from '../../operator/controller/rollout.js';
import { node, thinPool, thinPoolNode } from './support/fixtures.js';

const DOCKER: Partial<ThinPoolSpec> = {
  runtime: { type: 'docker', drain: { enabled: true, maxUnavailable: 1 } },
};

function runtimeCondition(status: 'True' | 'False', reason: string, message = reason) {
  return { type: 'RuntimeConfigured', status, reason, message, lastTransitionTime: '2025-01-01T00:00:00Z' };
}

/** A ThinPoolNode whose agent reports `RuntimeConfigured` (or nothing), with the operator's permission. */
function tpn(
  pool: ThinPool,
  nodeName: string,
  runtime?: ['True' | 'False', string],
  runtimeSwitch?: RuntimeSwitch,
): ThinPoolNode {
  const obj = thinPoolNode(
    pool,
    nodeName,
    runtime ? { phase: 'Ready', conditions: [runtimeCondition(runtime[0], runtime[1])] } : undefined,
  );
  if (runtimeSwitch) obj.spec.runtimeSwitch = runtimeSwitch;
  return obj;
}

function cordoned(name: string, by?: string): NodeObject {
  return {
    ...node(name, {}, { unschedulable: true }),
    metadata: {
      ...node(name).metadata,
      ...(by ? { annotations: { [CORDONED_BY_ANNOTATION]: by } } : {}),
    },
  };
}

function pod(name: string, nodeName: string, extra: Partial<PodObject['metadata']> = {}): PodObject {
  return {
    metadata: { name, namespace: 'apps', uid: `uid-${name}`, ...extra },
    spec: { nodeName },
    status: { phase: 'Running' },
  };
}

function input(
  pool: ThinPool,
  tpns: ThinPoolNode[],
  nodes: NodeObject[] = tpns.map((t) => node(t.spec.nodeName)),
  pods: Record<string, PodObject[]> = {},
): RolloutInput {
  return {
    thinPool: pool,
    desiredNodes: tpns.map((t) => t.spec.nodeName),
    nodes: new Map(nodes.map((n) => [n.metadata.name ?? '', n])),
    thinPoolNodes: new Map(tpns.map((t) => [t.spec.nodeName, t])),
    podsOnNodes: new Map(Object.entries(pods)),
    allowed: true,
  };
}

describe('nodeRuntimeState', () => {
  it("reads the agent's RuntimeConfigured condition", () => {
    const pool = thinPool('p', DOCKER);
    expect(nodeRuntimeState(tpn(pool, 'n1')).state).toBe('unknown');
    expect(nodeRuntimeState(tpn(pool, 'n1', ['True', 'Configured'])).state).toBe('configured');
    expect(nodeRuntimeState(tpn(pool, 'n1', ['False', 'AwaitingRollout'])).state).toBe('awaiting');
    expect(nodeRuntimeState(tpn(pool, 'n1', ['False', 'Switching'])).state).toBe('switching');
    for (const reason of [
      'RolledBack',
      'RollbackFailed',
      'MalformedDaemonJson',
      'RuntimeFailed',
      'NotVerified',
    ])
      expect(nodeRuntimeState(tpn(pool, 'n1', ['False', reason])).state).toBe('failed');
  });
});

describe('isEvictable', () => {
  it('skips DaemonSet, mirror and agent Pods, and Pods already terminating', () => {
    expect(isEvictable(pod('web', 'n1'))).toBe(true);
    const owner = { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds', uid: 'u', controller: true };
    expect(isEvictable(pod('ds', 'n1', { ownerReferences: [owner] }))).toBe(false);
    expect(isEvictable(pod('rs', 'n1', { ownerReferences: [{ ...owner, kind: 'ReplicaSet' }] }))).toBe(true);
    expect(isEvictable(pod('static', 'n1', { annotations: { 'kubernetes.io/config.mirror': 'abc' } }))).toBe(
      false,
    );
    expect(isEvictable(pod('agent', 'n1', { labels: { 'app.kubernetes.io/name': 'thinpool-agent' } }))).toBe(
      false,
    );
    expect(isEvictable(pod('leaving', 'n1', { deletionTimestamp: '2025-01-01T00:00:00Z' }))).toBe(false);
  });
});

describe('planRollout', () => {
  const pool = thinPool('p', DOCKER);

  it('does nothing and sets no condition with runtime.type none, and releases what it held', () => {
    const none = thinPool('p');
    expect(planRollout(input(none, [tpn(none, 'n1', ['True', 'NotRequested'])]))).toEqual({
      actions: [],
      condition: undefined,
      draining: [],
    });
    const held = planRollout(input(none, [tpn(none, 'n1', undefined, 'Allowed')], [cordoned('n1', 'p')]));
    expect(held.actions).toEqual([
      { type: 'uncordon', nodeName: 'n1' },
      { type: 'setRuntimeSwitch', nodeName: 'n1', thinPoolNode: 'p.n1', value: null },
    ]);
  });

  it('starts the first awaiting node only (maxUnavailable 1): Draining and a cordon', () => {
    const plan = planRollout(
      input(pool, [
        tpn(pool, 'n1', ['False', 'AwaitingRollout']),
        tpn(pool, 'n2', ['False', 'AwaitingRollout']),
        tpn(pool, 'n3'),
      ]),
    );
    expect(plan.actions).toEqual([
      { type: 'setRuntimeSwitch', nodeName: 'n1', thinPoolNode: 'p.n1', value: 'Draining' },
      { type: 'cordon', nodeName: 'n1' },
    ]);
    expect(plan.draining).toEqual(['n1']);
    expect(plan.condition).toMatchObject({ status: 'True', reason: 'RollingOut' });
    expect(plan.condition?.message).toBe(
      '0/3 nodes have the runtime configured; switching n1 (at most 1 at a time)',
    );
  });

  it('starts as many nodes as maxUnavailable allows, counting those in progress', () => {
    const two = thinPool('p', { runtime: { type: 'docker', drain: { enabled: true, maxUnavailable: 2 } } });
    const plan = planRollout(
      input(
        two,
        [
          tpn(two, 'n1', ['False', 'Switching'], 'Allowed'),
          tpn(two, 'n2', ['False', 'AwaitingRollout']),
          tpn(two, 'n3', ['False', 'AwaitingRollout']),
        ],
        [cordoned('n1', 'p'), node('n2'), node('n3')],
      ),
    );
    expect(plan.actions).toEqual([
      { type: 'setRuntimeSwitch', nodeName: 'n2', thinPoolNode: 'p.n2', value: 'Draining' },
      { type: 'cordon', nodeName: 'n2' },
    ]);
  });

  it('leaves a node an admin had cordoned as it is: no cordon, and never an uncordon', () => {
    const start = planRollout(input(pool, [tpn(pool, 'n1', ['False', 'AwaitingRollout'])], [cordoned('n1')]));
    expect(start.actions).toEqual([
      { type: 'setRuntimeSwitch', nodeName: 'n1', thinPoolNode: 'p.n1', value: 'Draining' },
    ]);
    const done = planRollout(
      input(pool, [tpn(pool, 'n1', ['True', 'Configured'], 'Allowed')], [cordoned('n1')]),
    );
    expect(done.actions).toEqual([
      { type: 'setRuntimeSwitch', nodeName: 'n1', thinPoolNode: 'p.n1', value: null },
    ]);
  });

  it('evicts the evictable Pods of a draining node, and allows the agent only when none is left', () => {
    const draining = [tpn(pool, 'n1', ['False', 'AwaitingRollout'], 'Draining')];
    const daemon = pod('logs', 'n1', {
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'logs', uid: 'u', controller: true },
      ],
    });
    const evict = planRollout(
      input(pool, draining, [cordoned('n1', 'p')], { n1: [pod('web-1', 'n1'), daemon, pod('db-0', 'n1')] }),
    );
    expect(evict.actions).toEqual([
      {
        type: 'evict',
        nodeName: 'n1',
        pods: [
          { namespace: 'apps', name: 'web-1' },
          { namespace: 'apps', name: 'db-0' },
        ],
      },
    ]);
    expect(evict.draining).toEqual(['n1']);
    const terminating = pod('web-1', 'n1', { deletionTimestamp: '2025-01-01T00:00:00Z' });
    const waiting = planRollout(input(pool, draining, [cordoned('n1', 'p')], { n1: [terminating, daemon] }));
    expect(waiting.actions).toEqual([]);
    const allow = planRollout(input(pool, draining, [cordoned('n1', 'p')], { n1: [daemon] }));
    expect(allow.actions).toEqual([
      { type: 'setRuntimeSwitch', nodeName: 'n1', thinPoolNode: 'p.n1', value: 'Allowed' },
    ]);
  });

  it('waits for Pods it has not observed yet rather than allowing the switch', () => {
    const draining = [tpn(pool, 'n1', ['False', 'AwaitingRollout'], 'Draining')];
    expect(planRollout(input(pool, draining, [cordoned('n1', 'p')])).actions).toEqual([]);
  });

  it('allows the agent at once without drain', () => {
    const noDrain = thinPool('p', {
      runtime: { type: 'containerd', drain: { enabled: false, maxUnavailable: 1 } },
    });
    const plan = planRollout(input(noDrain, [tpn(noDrain, 'n1', ['False', 'AwaitingRollout'])]));
    expect(plan.actions).toEqual([
      { type: 'setRuntimeSwitch', nodeName: 'n1', thinPoolNode: 'p.n1', value: 'Allowed' },
    ]);
  });

  it('uncordons and clears a configured node, and starts the next one in the same step', () => {
    const plan = planRollout(
      input(
        pool,
        [tpn(pool, 'n1', ['True', 'Configured'], 'Allowed'), tpn(pool, 'n2', ['False', 'AwaitingRollout'])],
        [cordoned('n1', 'p'), node('n2')],
      ),
    );
    expect(plan.actions).toEqual([
      { type: 'uncordon', nodeName: 'n1' },
      { type: 'setRuntimeSwitch', nodeName: 'n1', thinPoolNode: 'p.n1', value: null },
      { type: 'setRuntimeSwitch', nodeName: 'n2', thinPoolNode: 'p.n2', value: 'Draining' },
      { type: 'cordon', nodeName: 'n2' },
    ]);
  });

  it('halts at a failed node: it stays cordoned, nothing else starts, and the condition names it', () => {
    const plan = planRollout(
      input(
        pool,
        [
          tpn(pool, 'n1', ['True', 'Configured']),
          tpn(pool, 'n2', ['False', 'RolledBack'], 'Allowed'),
          tpn(pool, 'n3', ['False', 'AwaitingRollout']),
        ],
        [node('n1'), cordoned('n2', 'p'), node('n3')],
      ),
    );
    expect(plan.actions).toEqual([]);
    expect(plan.condition).toEqual({
      type: 'RuntimeRollout',
      status: 'False',
      reason: 'Halted',
      message:
        "Runtime rollout halted at node n2 (stays cordoned): RolledBack: RolledBack. No further node is started until the node's agent reports RuntimeConfigured True",
    });
  });

  it('resumes when the failed node reports configured', () => {
    const plan = planRollout(
      input(
        pool,
        [tpn(pool, 'n2', ['True', 'Configured'], 'Allowed'), tpn(pool, 'n3', ['False', 'AwaitingRollout'])],
        [cordoned('n2', 'p'), node('n3')],
      ),
    );
    expect(plan.actions.map((a) => `${a.type} ${a.nodeName}`)).toEqual([
      'uncordon n2',
      'setRuntimeSwitch n2',
      'setRuntimeSwitch n3',
      'cordon n3',
    ]);
    expect(plan.condition).toMatchObject({ status: 'True', reason: 'RollingOut' });
  });

  it('reports Complete when every node is configured, and then holds nothing', () => {
    const plan = planRollout(
      input(pool, [tpn(pool, 'n1', ['True', 'Configured']), tpn(pool, 'n2', ['True', 'Configured'])]),
    );
    expect(plan).toEqual({
      actions: [],
      condition: {
        type: 'RuntimeRollout',
        status: 'True',
        reason: 'Complete',
        message: '2/2 nodes have the runtime configured',
      },
      draining: [],
    });
  });

  it('gives back a node it cordoned that left the pool', () => {
    const plan = planRollout(
      input(pool, [tpn(pool, 'n1', ['True', 'Configured'])], [node('n1'), cordoned('n9', 'p')]),
    );
    expect(plan.actions).toEqual([{ type: 'uncordon', nodeName: 'n9' }]);
  });

  it('starts nothing and releases its nodes when the ThinPool is refused, paused holds everything', () => {
    const held = [tpn(pool, 'n1', ['False', 'AwaitingRollout'], 'Draining')];
    const refused = planRollout({ ...input(pool, held, [cordoned('n1', 'p')]), allowed: false });
    expect(refused.actions.map((a) => a.type)).toEqual(['uncordon', 'setRuntimeSwitch']);
    expect(refused.condition).toMatchObject({ status: 'False', reason: 'Blocked' });
    const paused = thinPool('p', { ...DOCKER, paused: true });
    const still = planRollout(
      input(paused, [tpn(paused, 'n1', ['False', 'AwaitingRollout'], 'Draining')], [cordoned('n1', 'p')]),
    );
    expect(still.actions).toEqual([]);
    expect(still.condition).toMatchObject({ status: 'False', reason: 'Paused' });
  });

  it('never switches in Plan mode', () => {
    const plan = thinPool('p', { ...DOCKER, mode: 'Plan' });
    const result = planRollout(input(plan, [tpn(plan, 'n1', ['False', 'SwitchPlanned'])]));
    expect(result.actions).toEqual([]);
    expect(result.condition).toMatchObject({ status: 'False', reason: 'PlanMode' });
  });

  it('names the nodes whose Pods the next reconcile lists', () => {
    expect(
      nodesToDrain([
        tpn(pool, 'n1', undefined, 'Draining'),
        tpn(pool, 'n2', undefined, 'Allowed'),
        tpn(pool, 'n3'),
      ]),
    ).toEqual(['n1']);
  });
});
