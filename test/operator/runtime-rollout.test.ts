/**
 * The operator's node-by-node runtime switch against the API emulator, with the real client-node: the test
 * plays the nodes, the kubelet (pod readiness) and the agents (their RuntimeConfigured reports), and reads
 * the order of the operator's API calls from the emulator's request log.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { ThinPoolNode } from '../../api/v1alpha1/types.js';
import type { EventObject, NodeObject } from '../../operator/controller/kube-types.js';
import { CORDONED_BY_ANNOTATION } from '../../operator/controller/rollout.js';
import { RUNTIME_ROLLOUT_REASONS } from '../../operator/metrics.js';
import { isNotFound } from '../../common/kube/kube-client.js';
import { conditionOf, eventually, TestCluster } from './support/harness.js';
import { readyStatus } from './support/fixtures.js';

jest.setTimeout(60_000);

const GiB = 1024 ** 3;
const POOL = 'rt';
const APPS = 'apps';
const TPN = '/apis/thinpool.dev/v1alpha1/thinpoolnodes';

let cluster: TestCluster;

beforeEach(async () => {
  cluster = await TestCluster.start();
  await cluster.client.create('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: APPS },
  });
});

afterEach(async () => {
  await cluster.stop();
});

/** Plays one node's agent: the pool is Ready, and the runtime stands as `reason` says. */
async function agentReports(nodeName: string, status: 'True' | 'False', reason: string, message = reason) {
  const base = readyStatus(GiB);
  await cluster.reportAgentStatus(POOL, nodeName, {
    ...base,
    runtime: { type: 'docker', configured: status === 'True', message },
    conditions: [
      ...(base.conditions ?? []),
      { type: 'RuntimeConfigured', status, reason, message, lastTransitionTime: '2026-01-01T00:00:00Z' },
    ],
  });
}

const VERIFIED = 'Verified: storage driver devicemapper, pool docker-thinpool';
const WAITING = 'Switching Docker to pool docker-thinpool waits for the operator';

/** Plays the agents of three nodes: running, their pool Ready, each waiting for its turn to switch. */
async function agentsAwaiting(): Promise<void> {
  for (const n of ['n1', 'n2', 'n3']) {
    await cluster.runAgentPod(POOL, n, true);
    await agentReports(n, 'False', 'AwaitingRollout', WAITING);
  }
}

/** Plays an agent whose switch is done. */
const switched = (nodeName: string) => agentReports(nodeName, 'True', 'Configured', VERIFIED);

/** Waits for the ThinPool's RuntimeRollout condition to have `reason`, and returns the ThinPool. */
async function rolloutReason(reason: string) {
  return eventually(async () => {
    const tp = await cluster.getThinPool(POOL);
    return conditionOf(tp, 'RuntimeRollout')?.reason === reason && tp;
  }, `RuntimeRollout ${reason}`);
}

/** Plays the kubelet: a Running, Ready Pod on a node. */
async function runPod(
  name: string,
  nodeName: string,
  labels: Record<string, string>,
  metadata: Record<string, unknown> = {},
): Promise<void> {
  await cluster.client.create(`/api/v1/namespaces/${APPS}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: APPS, labels, ...metadata },
    spec: { nodeName, containers: [{ name: 'main', image: 'registry.example/app:1' }] },
  });
  await cluster.client.patch(`/api/v1/namespaces/${APPS}/pods/${name}/status`, {
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    },
  });
}

async function podExists(name: string): Promise<boolean> {
  try {
    await cluster.client.get(`/api/v1/namespaces/${APPS}/pods/${name}`);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function getNode(name: string): Promise<NodeObject> {
  return cluster.client.get<NodeObject>(`/api/v1/nodes/${name}`);
}

async function runtimeSwitchOf(nodeName: string): Promise<string | undefined> {
  return (await cluster.client.get<ThinPoolNode>(`${TPN}/${POOL}.${nodeName}`)).spec.runtimeSwitch;
}

async function waitForSwitch(nodeName: string, value: string | undefined): Promise<void> {
  await eventually(
    async () => (await runtimeSwitchOf(nodeName)) === value,
    `${nodeName} runtimeSwitch ${value}`,
  );
}

/** The Events on the ThinPool in the order they were first recorded, as `Reason: message`. */
async function poolEvents(): Promise<string[]> {
  const events = (await cluster.client.list<EventObject>('/api/v1/namespaces/default/events')).items.filter(
    (e) => e.involvedObject.name === POOL,
  );
  const order = (e: EventObject) => parseInt((e.metadata.name ?? '').split('.').pop() ?? '0', 16);
  return events.sort((a, b) => order(a) - order(b)).map((e) => `${e.reason}: ${e.message}`);
}

/**
 * The operator's rollout calls in order: ThinPoolNode spec patches, Node patches (cordon, uncordon) and
 * evictions with their answer; consecutive repeats (a PodDisruptionBudget refusing again) folded.
 */
function rolloutCalls(): string[] {
  const calls = cluster.api.requestLog
    .entries()
    .filter(
      (e) =>
        (e.verb === 'patch' && e.resource === 'thinpoolnodes' && !e.subresource) ||
        (e.verb === 'patch' && e.resource === 'nodes') ||
        (e.verb === 'create' && e.subresource === 'eviction'),
    )
    .map((e) =>
      e.resource === 'thinpoolnodes'
        ? `switch ${e.name?.split('.')[1]}`
        : e.resource === 'nodes'
          ? `node ${e.name}`
          : `evict ${e.name} ${e.status}`,
    );
  return calls.filter((call, i) => call !== calls[i - 1]);
}

async function createPool(maxUnavailable: number): Promise<void> {
  await cluster.createThinPool(POOL, {
    loop: { directory: '/var/lib/rt', dataSize: '1Gi', metadataSize: '32Mi' },
    runtime: { type: 'docker', drain: { enabled: true, maxUnavailable } },
  });
  await eventually(async () => (await cluster.listThinPoolNodes(POOL)).length === 3, 'three ThinPoolNodes');
}

describe('the runtime rollout', () => {
  it('cordons, evicts (the PodDisruptionBudget respected), allows, uncordons one node at a time, and halts at a failing node', async () => {
    for (const n of ['n1', 'n2', 'n3']) await cluster.createNode(n);
    const operator = await cluster.startOperator({ settings: { drainRetryMs: 300 } });
    await createPool(1);
    const logs = await cluster.client.create<{ metadata: { uid: string } }>(
      `/apis/apps/v1/namespaces/${APPS}/daemonsets`,
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'logs', namespace: APPS },
        spec: {
          selector: { matchLabels: { app: 'logs' } },
          template: {
            metadata: { labels: { app: 'logs' } },
            spec: { containers: [{ name: 'main', image: 'registry.example/logs:1' }] },
          },
        },
      },
    );
    const daemonSetOwner = { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'logs', uid: logs.metadata.uid };
    await runPod('web-0', 'n1', { app: 'web' });
    await runPod(
      'logs-n1',
      'n1',
      { app: 'logs' },
      { ownerReferences: [{ ...daemonSetOwner, controller: true }] },
    );
    await runPod(
      'static-n1',
      'n1',
      { app: 'static' },
      { annotations: { 'kubernetes.io/config.mirror': 'x' } },
    );
    await runPod('db-0', 'n2', { app: 'db' });
    await runPod('web-1', 'n3', { app: 'web' });
    await cluster.client.create(`/apis/policy/v1/namespaces/${APPS}/poddisruptionbudgets`, {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'db', namespace: APPS },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'db' } } },
    });
    await agentsAwaiting();

    // n1 first, alone: cordoned, its Pod evicted (not the DaemonSet's, not the mirror Pod), then allowed.
    await waitForSwitch('n1', 'Allowed');
    expect((await getNode('n1')).spec?.unschedulable).toBe(true);
    expect((await getNode('n1')).metadata.annotations?.[CORDONED_BY_ANNOTATION]).toBe(POOL);
    expect(await podExists('web-0')).toBe(false);
    expect(await podExists('logs-n1')).toBe(true);
    expect(await podExists('static-n1')).toBe(true);
    expect(await runtimeSwitchOf('n2')).toBeUndefined();
    expect((await getNode('n2')).spec?.unschedulable).toBeUndefined();

    // n1 switched: uncordoned and released; n2 starts, and its PodDisruptionBudget holds the eviction.
    await switched('n1');
    await eventually(async () => !(await getNode('n1')).spec?.unschedulable, 'n1 uncordoned');
    await waitForSwitch('n1', undefined);
    expect((await getNode('n1')).metadata.annotations?.[CORDONED_BY_ANNOTATION]).toBeUndefined();
    await eventually(
      () => cluster.api.requestLog.count({ subresource: 'eviction', name: 'db-0', status: 429 }) >= 2,
      'the eviction of db-0 refused (and retried)',
    );
    expect(await runtimeSwitchOf('n2')).toBe('Draining');
    expect((await getNode('n2')).spec?.unschedulable).toBe(true);
    expect(await podExists('db-0')).toBe(true);
    expect(await runtimeSwitchOf('n3')).toBeUndefined();
    const evictions = async (result: string) =>
      (await operator.metrics.evictions.get()).values.find(
        (v) => v.labels.thinpool === POOL && v.labels.result === result,
      )?.value;
    expect(await evictions('evicted')).toBe(1);
    expect(await evictions('deferred')).toBeGreaterThanOrEqual(2);

    // A second replica elsewhere: the budget allows the eviction.
    await runPod('db-1', 'n1', { app: 'db' });
    await waitForSwitch('n2', 'Allowed');
    expect(await podExists('db-0')).toBe(false);

    // n2's switch fails: it stays cordoned, the rollout halts there, n3 is never started.
    await agentReports(
      'n2',
      'False',
      'RolledBack',
      'Docker switch 0123abcd rolled-back: dockerd rejected dm.bogus',
    );
    const halted = await rolloutReason('Halted');
    expect(conditionOf(halted, 'RuntimeRollout')).toMatchObject({
      status: 'False',
      message:
        "Runtime rollout halted at node n2 (stays cordoned): RolledBack: Docker switch 0123abcd rolled-back: dockerd rejected dm.bogus. No further node is started until the node's agent reports RuntimeConfigured True",
    });
    // The reconcile that wrote the halt saw n3 awaiting its turn and started nothing.
    expect(await runtimeSwitchOf('n3')).toBeUndefined();
    expect((await getNode('n3')).spec?.unschedulable).toBeUndefined();
    expect((await getNode('n2')).spec?.unschedulable).toBe(true);
    expect(await podExists('web-1')).toBe(true);

    // The admin fixes n2; its agent reports the runtime configured: the rollout resumes with n3.
    await switched('n2');
    await waitForSwitch('n3', 'Allowed');
    expect((await getNode('n2')).spec?.unschedulable).toBeUndefined();
    await switched('n3');
    const done = await rolloutReason('Complete');
    expect(conditionOf(done, 'RuntimeRollout')?.status).toBe('True');
    await eventually(async () => !(await getNode('n3')).spec?.unschedulable, 'n3 uncordoned');
    await waitForSwitch('n3', undefined);

    expect(rolloutCalls()).toEqual([
      'switch n1', // Draining
      'node n1', // cordon
      'evict web-0 201',
      'switch n1', // Allowed
      'node n1', // uncordon
      'switch n1', // cleared
      'switch n2', // Draining
      'node n2', // cordon
      'evict db-0 429',
      'evict db-0 201',
      'switch n2', // Allowed
      'node n2', // uncordon, after the fix
      'switch n2', // cleared
      'switch n3', // Draining
      'node n3', // cordon
      'evict web-1 201',
      'switch n3', // Allowed
      'node n3', // uncordon
      'switch n3', // cleared
    ]);
    expect(await poolEvents()).toEqual(
      expect.arrayContaining([
        'Cordoned: Cordoned node n1 to switch its container runtime to the pool',
        'Evicted: Evicted pod apps/web-0 from node n1',
        'RuntimeSwitchAllowed: Allowed the agent on node n1 to switch its container runtime to the pool',
        'Uncordoned: Uncordoned node n1',
        expect.stringMatching(
          /^EvictionDeferred: Eviction of pod apps\/db-0 from node n2 deferred: .*Cannot evict pod as it would violate the pod's disruption budget/,
        ),
        'Evicted: Evicted pod apps/db-0 from node n2',
        expect.stringMatching(
          /^RuntimeRolloutHalted: Runtime rollout halted at node n2 \(stays cordoned\): RolledBack/,
        ),
        expect.stringMatching(/^RuntimeRolloutResumed: 2\/3 nodes have the runtime configured; switching n3/),
        'RuntimeRolloutComplete: 3/3 nodes have the runtime configured',
      ]),
    );
    const rolloutEvents = (await poolEvents()).filter((e) =>
      /^(Cordoned|Evicted|Uncordoned|RuntimeSwitchAllowed|RuntimeRollout\w+):/.test(e),
    );
    expect(rolloutEvents.map((e) => e.replace(/:.*? node (n\d).*$/, ' $1').replace(/:.*$/, ''))).toEqual([
      'Cordoned n1',
      'Evicted n1',
      'RuntimeSwitchAllowed n1',
      'Uncordoned n1',
      'Cordoned n2',
      'Evicted n2',
      'RuntimeSwitchAllowed n2',
      'RuntimeRolloutHalted n2',
      'Uncordoned n2',
      'Cordoned n3',
      'RuntimeRolloutResumed',
      'Evicted n3',
      'RuntimeSwitchAllowed n3',
      'Uncordoned n3',
      'RuntimeRolloutComplete',
    ]);
    const warning = (await cluster.client.list<EventObject>('/api/v1/namespaces/default/events')).items.find(
      (e) => e.reason === 'RuntimeRolloutHalted',
    );
    expect(warning?.type).toBe('Warning');
  });

  it('switches two nodes at a time with maxUnavailable 2, and never uncordons a node an admin had cordoned', async () => {
    for (const n of ['n1', 'n2', 'n3']) await cluster.createNode(n);
    await cluster.client.patch('/api/v1/nodes/n3', { spec: { unschedulable: true } });
    cluster.api.requestLog.reset();
    await cluster.startOperator({ settings: { drainRetryMs: 300 } });
    await createPool(2);
    for (const n of ['n1', 'n2', 'n3']) await runPod(`web-${n}`, n, { app: 'web' });
    await agentsAwaiting();

    await waitForSwitch('n1', 'Allowed');
    await waitForSwitch('n2', 'Allowed');
    expect(await runtimeSwitchOf('n3')).toBeUndefined();
    expect(await podExists('web-n3')).toBe(true);

    await switched('n1');
    await waitForSwitch('n3', 'Allowed');
    // n2 is still switching while n3 started: two at a time, never three.
    expect(await runtimeSwitchOf('n2')).toBe('Allowed');
    expect(await podExists('web-n3')).toBe(false);
    await switched('n2');
    await switched('n3');
    await rolloutReason('Complete');
    await waitForSwitch('n3', undefined);
    for (const n of ['n1', 'n2']) expect((await getNode(n)).spec?.unschedulable).toBeUndefined();
    // The admin's cordon stays: the operator neither cordoned n3 nor uncordoned it.
    expect((await getNode('n3')).spec?.unschedulable).toBe(true);
    expect(cluster.api.requestLog.count({ verb: 'patch', resource: 'nodes', name: 'n3' })).toBe(0);

    const calls = rolloutCalls();
    const started = (n: string) => calls.indexOf(`switch ${n}`);
    expect(started('n1')).toBeLessThan(calls.indexOf('evict web-n1 201'));
    // n3 starts only after n1 is released (uncordon, then the permission cleared).
    const n1Released = calls.lastIndexOf('switch n1');
    expect(started('n3')).toBeGreaterThan(n1Released);
    expect(started('n2')).toBeLessThan(n1Released);
  });

  it('exports where the rollout stands as thinpool_operator_runtime_rollout, one reason at 1 per ThinPool', async () => {
    for (const n of ['n1', 'n2', 'n3']) await cluster.createNode(n);
    const operator = await cluster.startOperator({ settings: { drainRetryMs: 300 } });
    /** The pool's series in the operator's exposition text, by reason. */
    const series = async () => {
      const text = await operator.metrics.registry.metrics();
      const lines = [
        ...text.matchAll(/^thinpool_operator_runtime_rollout\{thinpool="rt",reason="(\w+)"\} (\S+)$/gm),
      ];
      return Object.fromEntries(lines.map(([, reason, value]) => [reason, Number(value)]));
    };
    const standsAt = (reason: string) =>
      eventually(async () => {
        const now = await series();
        return now[reason] === 1 && now;
      }, `thinpool_operator_runtime_rollout reason ${reason} at 1`);
    const zeroExcept = (reason: string) =>
      Object.fromEntries(RUNTIME_ROLLOUT_REASONS.map((r) => [r, r === reason ? 1 : 0]));

    await createPool(1);
    await agentsAwaiting();
    expect(await standsAt('RollingOut')).toEqual(zeroExcept('RollingOut'));

    await waitForSwitch('n1', 'Allowed');
    await agentReports(
      'n1',
      'False',
      'RolledBack',
      'Docker switch 0123abcd rolled-back: dockerd rejected dm.bogus',
    );
    await rolloutReason('Halted');
    expect(await standsAt('Halted')).toEqual(zeroExcept('Halted'));

    for (const n of ['n1', 'n2', 'n3']) await switched(n);
    await rolloutReason('Complete');
    expect(await standsAt('Complete')).toEqual(zeroExcept('Complete'));

    await cluster.deleteThinPool(POOL);
    await eventually(async () => Object.keys(await series()).length === 0, 'the series to be removed');
  });

  it('uncordons what it cordoned when the ThinPool is deleted mid-rollout', async () => {
    for (const n of ['n1', 'n2', 'n3']) await cluster.createNode(n);
    await cluster.startOperator({ settings: { drainRetryMs: 300 } });
    await createPool(1);
    await agentsAwaiting();
    await waitForSwitch('n1', 'Allowed');
    expect((await getNode('n1')).spec?.unschedulable).toBe(true);
    await cluster.deleteThinPool(POOL);
    await eventually(async () => !(await cluster.getThinPool(POOL)), 'the ThinPool to be gone');
    const n1 = await getNode('n1');
    expect(n1.spec?.unschedulable).toBeUndefined();
    expect(n1.metadata.annotations?.[CORDONED_BY_ANNOTATION]).toBeUndefined();
  });
});
