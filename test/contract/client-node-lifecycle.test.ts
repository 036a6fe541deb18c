/**
 * Contract: lifecycle behaviour that comes from kube-apiserver and the controllers beside it, through the
 * real client-node: owner-reference garbage collection (background, orphan, foreground), namespace and
 * CRD deletion, pod eviction against PodDisruptionBudgets, and strategic-merge patches of core types.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';
import { FIXTURE_CRDS, TP, WIDGET, eventually, statusOf, thinPool } from './helpers.js';

const smp = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

async function gone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return true;
    throw err;
  }
}

function pendingPod(name: string, labels: Record<string, string>): k8s.V1Pod {
  return {
    metadata: { name, labels },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] },
    status: {},
  };
}

describe('lifecycle semantics against the emulator', () => {
  let api: RunningApiServer;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let policy: k8s.PolicyV1Api;
  let custom: k8s.CustomObjectsApi;
  let ext: k8s.ApiextensionsV1Api;

  beforeAll(async () => {
    api = await startApiServer({ crdDir: FIXTURE_CRDS });
    const kc = api.kubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    policy = kc.makeApiClient(k8s.PolicyV1Api);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  });
  afterAll(() => api.stop());

  async function ownedConfigMap(
    name: string,
    owner: { metadata: { name: string; uid: string } },
  ): Promise<void> {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: {
        metadata: {
          name,
          ownerReferences: [
            {
              apiVersion: 'thinpool.dev/v1alpha1',
              kind: 'ThinPool',
              name: owner.metadata.name,
              uid: owner.metadata.uid,
              controller: true,
            },
          ],
        },
      },
    });
  }

  it('garbage-collects dependents in the background once their owner is gone', async () => {
    const owner = (await custom.createClusterCustomObject({ ...TP, body: thinPool('owner-bg') })) as {
      metadata: { name: string; uid: string };
    };
    await ownedConfigMap('dep-bg', owner);
    await custom.deleteClusterCustomObject({ ...TP, name: 'owner-bg' });
    await eventually(
      () => gone(() => core.readNamespacedConfigMap({ name: 'dep-bg', namespace: 'default' })),
      'dependent GC',
    );
  });

  it('settles: once settle() resolves, cascading garbage collection is complete', async () => {
    const owner = (await custom.createClusterCustomObject({ ...TP, body: thinPool('owner-chain') })) as {
      metadata: { name: string; uid: string };
    };
    await ownedConfigMap('chain-1', owner);
    const middle = await core.readNamespacedConfigMap({ name: 'chain-1', namespace: 'default' });
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: {
        metadata: {
          name: 'chain-2',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'chain-1', uid: middle.metadata?.uid ?? '' },
          ],
        },
      },
    });
    await custom.deleteClusterCustomObject({ ...TP, name: 'owner-chain' });
    await api.settle();
    // Read the store synchronously: no HTTP round trip gives the controllers extra turns.
    const configMaps = api.server.store.mustFind('', 'v1', 'configmaps');
    expect(api.server.store.find(configMaps, 'default', 'chain-1')).toBeUndefined();
    expect(api.server.store.find(configMaps, 'default', 'chain-2')).toBeUndefined();
  });

  it('orphans dependents with propagationPolicy=Orphan and waits for dependents with Foreground', async () => {
    const orphanOwner = (await custom.createClusterCustomObject({
      ...TP,
      body: thinPool('owner-orphan'),
    })) as { metadata: { name: string; uid: string } };
    await ownedConfigMap('dep-orphan', orphanOwner);
    await custom.deleteClusterCustomObject({ ...TP, name: 'owner-orphan', propagationPolicy: 'Orphan' });
    await eventually(
      () => gone(() => custom.getClusterCustomObject({ ...TP, name: 'owner-orphan' })),
      'orphaning owner deletion',
    );
    const orphan = await core.readNamespacedConfigMap({ name: 'dep-orphan', namespace: 'default' });
    expect(orphan.metadata?.ownerReferences).toBeUndefined();

    const fgOwner = (await custom.createClusterCustomObject({ ...TP, body: thinPool('owner-fg') })) as {
      metadata: { name: string; uid: string };
    };
    await ownedConfigMap('dep-fg', fgOwner);
    const marked = (await custom.deleteClusterCustomObject({
      ...TP,
      name: 'owner-fg',
      propagationPolicy: 'Foreground',
    })) as { metadata: { finalizers: string[] } };
    expect(marked.metadata.finalizers).toContain('foregroundDeletion');
    await eventually(
      () => gone(() => custom.getClusterCustomObject({ ...TP, name: 'owner-fg' })),
      'foreground deletion',
    );
    expect(await gone(() => core.readNamespacedConfigMap({ name: 'dep-fg', namespace: 'default' }))).toBe(
      true,
    );
  });

  it('drops a dangling owner reference but keeps a dependent that still has a live owner', async () => {
    const a = (await custom.createClusterCustomObject({ ...TP, body: thinPool('owner-a') })) as {
      metadata: { name: string; uid: string };
    };
    const b = (await custom.createClusterCustomObject({ ...TP, body: thinPool('owner-b') })) as {
      metadata: { name: string; uid: string };
    };
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: {
        metadata: {
          name: 'two-owners',
          ownerReferences: [a, b].map((o) => ({
            apiVersion: 'thinpool.dev/v1alpha1',
            kind: 'ThinPool',
            name: o.metadata.name,
            uid: o.metadata.uid,
          })),
        },
      },
    });
    await custom.deleteClusterCustomObject({ ...TP, name: 'owner-a' });
    const kept = await eventually(async () => {
      const cm = await core.readNamespacedConfigMap({ name: 'two-owners', namespace: 'default' });
      return cm.metadata?.ownerReferences?.length === 1 ? cm : undefined;
    }, 'the dangling reference to go');
    expect(kept.metadata?.ownerReferences?.[0].name).toBe('owner-b');
  });

  it('deletes a namespace after its content, and refuses new content while it terminates', async () => {
    await core.createNamespace({ body: { metadata: { name: 'scratch' } } });
    await core.createNamespacedConfigMap({
      namespace: 'scratch',
      body: { metadata: { name: 'c', finalizers: ['test.dev/hold'] } },
    });
    const terminating = await core.deleteNamespace({ name: 'scratch' });
    expect((terminating as k8s.V1Namespace).status?.phase).toBe('Terminating');
    const refused = await statusOf(
      core.createNamespacedConfigMap({ namespace: 'scratch', body: { metadata: { name: 'd' } } }),
    );
    expect(refused).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(refused.message).toContain('because it is being terminated');
    await eventually(
      async () =>
        (await core.readNamespacedConfigMap({ name: 'c', namespace: 'scratch' })).metadata?.deletionTimestamp,
      'content deletion',
    );
    await core.patchNamespacedConfigMap(
      { name: 'c', namespace: 'scratch', body: { metadata: { finalizers: null } } },
      smp,
    );
    await eventually(() => gone(() => core.readNamespace({ name: 'scratch' })), 'namespace deletion');
  });

  it('deletes a CRD only after its custom resources, and stops serving it', async () => {
    const crd = await ext.readCustomResourceDefinition({ name: 'widgets.test.thinpool.dev' });
    expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
    await custom.createNamespacedCustomObject({
      ...WIDGET,
      namespace: 'default',
      body: {
        apiVersion: 'test.thinpool.dev/v1',
        kind: 'Widget',
        metadata: { name: 'w', finalizers: ['test.dev/hold'] },
      },
    });
    await ext.deleteCustomResourceDefinition({ name: 'widgets.test.thinpool.dev' });
    const creating = await statusOf(
      custom.createNamespacedCustomObject({
        ...WIDGET,
        namespace: 'default',
        body: { apiVersion: 'test.thinpool.dev/v1', kind: 'Widget', metadata: { name: 'x' } },
      }),
    );
    expect(creating.code).toBe(405);
    await eventually(
      async () =>
        (
          (await custom.getNamespacedCustomObject({ ...WIDGET, namespace: 'default', name: 'w' })) as {
            metadata: { deletionTimestamp?: string };
          }
        ).metadata.deletionTimestamp,
      'CR deletion',
    );
    await custom.patchNamespacedCustomObject(
      { ...WIDGET, namespace: 'default', name: 'w', body: { metadata: { finalizers: null } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await eventually(
      () => gone(() => ext.readCustomResourceDefinition({ name: 'widgets.test.thinpool.dev' })),
      'CRD deletion',
    );
    const unserved = await statusOf(custom.listNamespacedCustomObject({ ...WIDGET, namespace: 'default' }));
    expect(unserved.code).toBe(404);
  });

  it('evicts a pod unless a PodDisruptionBudget would be violated (429), then deletes it', async () => {
    await core.createNamespace({ body: { metadata: { name: 'evict' } } });
    for (const name of ['e1', 'e2']) {
      await core.createNamespacedPod({ namespace: 'evict', body: pendingPod(name, { app: 'agent' }) });
      await core.patchNamespacedPodStatus(
        {
          name,
          namespace: 'evict',
          body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
        },
        smp,
      );
    }
    await policy.createNamespacedPodDisruptionBudget({
      namespace: 'evict',
      body: {
        metadata: { name: 'agents' },
        spec: { minAvailable: 1, selector: { matchLabels: { app: 'agent' } } },
      },
    });
    const pdb = await eventually(async () => {
      const p = await policy.readNamespacedPodDisruptionBudget({ name: 'agents', namespace: 'evict' });
      return p.status?.disruptionsAllowed === 1 ? p : undefined;
    }, 'the PDB status');
    expect(pdb.status).toMatchObject({
      currentHealthy: 2,
      desiredHealthy: 1,
      expectedPods: 2,
      observedGeneration: 1,
    });
    const eviction = (name: string) =>
      core.createNamespacedPodEviction({
        name,
        namespace: 'evict',
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'evict' } },
      });
    await eviction('e1');
    expect(await gone(() => core.readNamespacedPod({ name: 'e1', namespace: 'evict' }))).toBe(true);
    const blocked = await statusOf(eviction('e2'));
    expect(blocked).toMatchObject({
      code: 429,
      reason: 'TooManyRequests',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
    });
    expect(blocked.details?.causes?.[0]).toMatchObject({
      reason: 'DisruptionBudget',
      message: 'The disruption budget agents needs 1 healthy pods and has 1 currently',
    });
    expect((await core.readNamespacedPod({ name: 'e2', namespace: 'evict' })).metadata?.name).toBe('e2');
    expect((await statusOf(eviction('nope'))).code).toBe(404);
  });

  it('applies strategic merge patches: node cordon, pod status conditions by type, labels and finalizers', async () => {
    await core.createNode({
      body: {
        metadata: { name: 'smp-node', labels: { a: '1' } },
        status: {
          conditions: [
            { type: 'Ready', status: 'True' },
            { type: 'DiskPressure', status: 'False' },
          ],
        },
      },
    });
    const cordoned = await core.patchNode(
      {
        name: 'smp-node',
        body: { spec: { unschedulable: true }, metadata: { labels: { b: '2', a: null } } },
      },
      smp,
    );
    expect(cordoned.spec?.unschedulable).toBe(true);
    expect(cordoned.metadata?.labels).toEqual({ b: '2' });
    const unschedulable = await core.listNode({ fieldSelector: 'spec.unschedulable=true' });
    expect(unschedulable.items.map((n) => n.metadata?.name)).toEqual(['smp-node']);
    const status = await core.patchNodeStatus(
      {
        name: 'smp-node',
        body: { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletDown' }] } },
      },
      smp,
    );
    expect(status.status?.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual([
      'Ready=False',
      'DiskPressure=False',
    ]);
    await core.patchNode({ name: 'smp-node', body: { metadata: { finalizers: ['a.dev/x'] } } }, smp);
    const both = await core.patchNode(
      { name: 'smp-node', body: { metadata: { finalizers: ['b.dev/y'] } } },
      smp,
    );
    expect(both.metadata?.finalizers).toEqual(['a.dev/x', 'b.dev/y']);
    const removed = await core.patchNode(
      { name: 'smp-node', body: { metadata: { '$deleteFromPrimitiveList/finalizers': ['a.dev/x'] } } },
      smp,
    );
    expect(removed.metadata?.finalizers).toEqual(['b.dev/y']);
  });

  it('merges a DaemonSet pod template by container name and bumps generation on template changes', async () => {
    const ds = await apps.createNamespacedDaemonSet({
      namespace: 'default',
      body: {
        metadata: { name: 'agent' },
        spec: {
          selector: { matchLabels: { app: 'agent' } },
          template: {
            metadata: { labels: { app: 'agent' } },
            spec: {
              containers: [
                { name: 'agent', image: 'agent:1', env: [{ name: 'A', value: '1' }] },
                { name: 'sidecar', image: 's:1' },
              ],
            },
          },
        },
      },
    });
    expect(ds.metadata?.generation).toBe(1);
    expect(ds.status?.desiredNumberScheduled).toBe(0);
    const patched = await apps.patchNamespacedDaemonSet(
      {
        name: 'agent',
        namespace: 'default',
        body: {
          spec: {
            template: {
              spec: { containers: [{ name: 'agent', image: 'agent:2', env: [{ name: 'B', value: '2' }] }] },
            },
          },
        },
      },
      smp,
    );
    const containers = patched.spec?.template.spec?.containers ?? [];
    expect(containers.map((c) => `${c.name}:${c.image}`)).toEqual(['agent:agent:2', 'sidecar:s:1']);
    expect(containers[0].env?.map((e) => e.name)).toEqual(['A', 'B']);
    expect(patched.metadata?.generation).toBe(2);
    const bad = await statusOf(
      apps.createNamespacedDaemonSet({
        namespace: 'default',
        body: {
          metadata: { name: 'bad' },
          spec: {
            selector: { matchLabels: { app: 'x' } },
            template: {
              metadata: { labels: { app: 'y' } },
              spec: { containers: [{ name: 'c', image: 'i' }] },
            },
          },
        },
      }),
    );
    expect(bad.code).toBe(422);
    expect(bad.message).toContain('DaemonSet.apps "bad" is invalid: spec.template.metadata.labels');
  });
});
