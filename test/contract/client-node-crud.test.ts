/**
 * Contract: the real client-node (typed APIs, CustomObjectsApi, KubernetesObjectApi) against the emulator
 * over HTTP, for the write semantics our code relies on: resourceVersion, generation, status subresource,
 * optimistic concurrency, generateName, finalizers and the Status bodies of errors.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';
import { FIXTURE_CRDS, TP, WIDGET, statusOf, thinPool } from './helpers.js';

const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const jsonPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);

type Obj = {
  metadata: {
    name: string;
    resourceVersion: string;
    generation?: number;
    uid: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    namespace?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

describe('client-node CRUD against the emulator', () => {
  let api: RunningApiServer;
  let custom: k8s.CustomObjectsApi;
  let core: k8s.CoreV1Api;
  let objects: k8s.KubernetesObjectApi;

  beforeAll(async () => {
    api = await startApiServer({ crdDir: FIXTURE_CRDS });
    const kc = api.kubeConfig();
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    core = kc.makeApiClient(k8s.CoreV1Api);
    objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  });
  afterAll(() => api.stop());

  it('serves typed core objects: namespaces, nodes with status, pods with defaults and Pending status', async () => {
    const namespaces = await core.listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toEqual([
      'default',
      'kube-node-lease',
      'kube-public',
      'kube-system',
    ]);
    const node = await core.createNode({
      body: {
        metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      },
    });
    expect(node.status?.conditions?.[0].type).toBe('Ready');
    const pod = await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'p1' },
        spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'busybox:1.36' }] },
        status: { phase: 'Running' },
      },
    });
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.spec?.restartPolicy).toBe('Always');
    expect(pod.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    const read = await core.readNamespacedPod({ name: 'p1', namespace: 'default' });
    expect(read.metadata?.resourceVersion).toBe(pod.metadata?.resourceVersion);
  });

  it('answers 404, 409 AlreadyExists and 404 for a missing namespace with kube-apiserver Status bodies', async () => {
    const missing = await statusOf(custom.getClusterCustomObject({ ...TP, name: 'nope' }));
    expect(missing).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'thinpools.thinpool.dev "nope" not found',
    });
    await custom.createClusterCustomObject({ ...TP, body: thinPool('dup') });
    const dup = await statusOf(custom.createClusterCustomObject({ ...TP, body: thinPool('dup') }));
    expect(dup).toMatchObject({
      code: 409,
      reason: 'AlreadyExists',
      message: 'thinpools.thinpool.dev "dup" already exists',
    });
    const noNs = await statusOf(
      core.createNamespacedConfigMap({ namespace: 'ghost', body: { metadata: { name: 'c' } } }),
    );
    expect(noNs).toMatchObject({ code: 404, reason: 'NotFound', message: 'namespaces "ghost" not found' });
  });

  it('keeps one global resourceVersion counter and does not bump it on a no-op write', async () => {
    const a = (await custom.createClusterCustomObject({ ...TP, body: thinPool('rv-a') })) as Obj;
    const cm = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'rv-b' }, data: { k: 'v' } },
    });
    expect(Number(cm.metadata?.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
    const same = (await custom.patchClusterCustomObject(
      { ...TP, name: 'rv-a', body: { spec: {} } },
      merge,
    )) as Obj;
    expect(same.metadata.resourceVersion).toBe(a.metadata.resourceVersion);
    const list = await custom.listClusterCustomObject({ ...TP });
    expect(
      Number((list as { metadata: { resourceVersion: string } }).metadata.resourceVersion),
    ).toBeGreaterThanOrEqual(Number(cm.metadata?.resourceVersion));
  });

  it('bumps generation on spec changes only, and /status writes change only status', async () => {
    const created = (await custom.createClusterCustomObject({
      ...TP,
      body: { ...thinPool('gen', { dataPercent: 90 }), status: { observedGeneration: 99 } },
    })) as Obj;
    expect(created.metadata.generation).toBe(1);
    expect(created.status).toBeUndefined();
    const labelled = (await custom.patchClusterCustomObject(
      { ...TP, name: 'gen', body: { metadata: { labels: { a: 'b' } }, status: { observedGeneration: 5 } } },
      merge,
    )) as Obj;
    expect(labelled.metadata.generation).toBe(1);
    expect(labelled.status).toBeUndefined();
    const changed = (await custom.patchClusterCustomObject(
      { ...TP, name: 'gen', body: { spec: { dataPercent: 80 } } },
      merge,
    )) as Obj;
    expect(changed.metadata.generation).toBe(2);
    const status = (await custom.patchClusterCustomObjectStatus(
      {
        ...TP,
        name: 'gen',
        body: {
          spec: { dataPercent: 10 },
          metadata: { labels: { x: 'y' } },
          status: { observedGeneration: 2 },
        },
      },
      merge,
    )) as Obj & { metadata: { labels: Record<string, string> } };
    expect(status.status).toEqual({ observedGeneration: 2 });
    expect(status.spec?.dataPercent).toBe(80);
    expect(status.metadata.labels).toEqual({ a: 'b' });
    expect(status.metadata.generation).toBe(2);
    const again = (await custom.patchClusterCustomObjectStatus(
      { ...TP, name: 'gen', body: { status: { observedGeneration: 2 } } },
      merge,
    )) as Obj;
    expect(again.metadata.resourceVersion).toBe(status.metadata.resourceVersion);
  });

  it('rejects a stale resourceVersion with 409 Conflict on update and patch, and a PUT without one for custom resources', async () => {
    const v1 = (await custom.createClusterCustomObject({ ...TP, body: thinPool('occ') })) as Obj;
    const v2 = (await custom.replaceClusterCustomObject({
      ...TP,
      name: 'occ',
      body: { ...v1, spec: { dataPercent: 50 } },
    })) as Obj;
    expect(v2.metadata.generation).toBe(2);
    const stale = await statusOf(
      custom.replaceClusterCustomObject({ ...TP, name: 'occ', body: { ...v1, spec: { dataPercent: 60 } } }),
    );
    expect(stale).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on thinpools.thinpool.dev "occ": the object has been modified; please apply your changes to the latest version and try again',
    });
    const stalePatch = await statusOf(
      custom.patchClusterCustomObject(
        {
          ...TP,
          name: 'occ',
          body: { metadata: { resourceVersion: v1.metadata.resourceVersion }, spec: { dataPercent: 1 } },
        },
        merge,
      ),
    );
    expect(stalePatch.code).toBe(409);
    const staleStatus = await statusOf(
      custom.replaceClusterCustomObjectStatus({
        ...TP,
        name: 'occ',
        body: { ...v1, status: { observedGeneration: 1 } },
      }),
    );
    expect(staleStatus.code).toBe(409);
    const unconditional = await statusOf(
      custom.replaceClusterCustomObject({
        ...TP,
        name: 'occ',
        body: { ...thinPool('occ'), spec: { dataPercent: 70 } },
      }),
    );
    expect(unconditional).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(unconditional.message).toContain(
      'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
    );
  });

  it('applies JSON patch (with test) and refuses strategic merge for custom resources with 415', async () => {
    await custom.createClusterCustomObject({
      ...TP,
      body: thinPool('jp', { devices: [{ path: '/dev/sdb' }] }),
    });
    const patched = (await custom.patchClusterCustomObject(
      {
        ...TP,
        name: 'jp',
        body: [
          { op: 'test', path: '/spec/devices/0/path', value: '/dev/sdb' },
          { op: 'add', path: '/spec/devices/-', value: { path: '/dev/sdc' } },
        ],
      },
      jsonPatch,
    )) as Obj;
    expect(patched.spec?.devices).toEqual([{ path: '/dev/sdb' }, { path: '/dev/sdc' }]);
    const failedTest = await statusOf(
      custom.patchClusterCustomObject(
        { ...TP, name: 'jp', body: [{ op: 'test', path: '/spec/devices/0/path', value: '/dev/x' }] },
        jsonPatch,
      ),
    );
    expect(failedTest.code).toBe(422);
    const smp = await statusOf(
      custom.patchClusterCustomObject(
        { ...TP, name: 'jp', body: { spec: {} } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      ),
    );
    expect(smp).toMatchObject({ code: 415, reason: 'UnsupportedMediaType' });
  });

  it('fills generateName with a random suffix', async () => {
    const created = (await custom.createNamespacedCustomObject({
      ...WIDGET,
      namespace: 'default',
      body: {
        apiVersion: 'test.thinpool.dev/v1',
        kind: 'Widget',
        metadata: { generateName: 'w-' },
        spec: { color: 'red' },
      },
    })) as Obj;
    expect(created.metadata.name).toMatch(/^w-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(created.metadata.namespace).toBe('default');
  });

  it('marks an object with finalizers as deleting and removes it when the last finalizer goes', async () => {
    await custom.createClusterCustomObject({
      ...TP,
      body: { ...thinPool('fin'), metadata: { name: 'fin', finalizers: ['thinpool.dev/cleanup'] } },
    });
    const marked = (await custom.deleteClusterCustomObject({ ...TP, name: 'fin' })) as Obj;
    expect(marked.metadata.deletionTimestamp).toBeDefined();
    expect(marked.metadata.generation).toBe(2);
    const still = (await custom.getClusterCustomObject({ ...TP, name: 'fin' })) as Obj;
    expect(still.metadata.finalizers).toEqual(['thinpool.dev/cleanup']);
    const added = await statusOf(
      custom.patchClusterCustomObject(
        { ...TP, name: 'fin', body: { metadata: { finalizers: ['thinpool.dev/cleanup', 'x.dev/more'] } } },
        merge,
      ),
    );
    expect(added.code).toBe(422);
    expect(added.message).toContain('no new finalizers can be added if the object is being deleted');
    await custom.patchClusterCustomObject(
      { ...TP, name: 'fin', body: { metadata: { finalizers: null } } },
      merge,
    );
    expect((await statusOf(custom.getClusterCustomObject({ ...TP, name: 'fin' }))).code).toBe(404);
  });

  it('honours delete preconditions and dryRun', async () => {
    const cm = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'pre' } },
    });
    const wrong = await statusOf(
      core.deleteNamespacedConfigMap({
        name: 'pre',
        namespace: 'default',
        body: { preconditions: { uid: 'not-the-uid' } },
      }),
    );
    expect(wrong.code).toBe(409);
    await core.deleteNamespacedConfigMap({ name: 'pre', namespace: 'default', dryRun: 'All' });
    expect((await core.readNamespacedConfigMap({ name: 'pre', namespace: 'default' })).metadata?.uid).toBe(
      cm.metadata?.uid,
    );
    const status = await core.deleteNamespacedConfigMap({
      name: 'pre',
      namespace: 'default',
      body: { preconditions: { uid: cm.metadata?.uid } },
    });
    expect(status.status).toBe('Success');
  });

  it('stores metav1.Time of built-in kinds at second precision, so rewriting the same second is a no-op', async () => {
    // Raw HTTP: client-node turns these strings into Date objects on both sides.
    const condition = (time: string) => ({
      type: 'Ready',
      status: 'True',
      lastHeartbeatTime: time,
      lastTransitionTime: time,
    });
    const send = async (method: string, path: string, body: unknown, contentType = 'application/json') => {
      const response = await fetch(`${api.url}${path}`, {
        method,
        headers: { 'Content-Type': contentType },
        body: JSON.stringify(body),
      });
      return {
        code: response.status,
        body: (await response.json()) as {
          metadata: { resourceVersion: string };
          status: { conditions: Record<string, string>[] };
        },
      };
    };
    const created = await send('POST', '/api/v1/nodes', {
      metadata: { name: 'times' },
      status: { conditions: [condition('2026-01-02T03:04:05.123Z')] },
    });
    expect(created.body.status.conditions[0]).toMatchObject({ lastHeartbeatTime: '2026-01-02T03:04:05Z' });
    const again = await send(
      'PATCH',
      '/api/v1/nodes/times/status',
      { status: { conditions: [condition('2026-01-02T05:04:05.987+02:00')] } },
      'application/strategic-merge-patch+json',
    );
    expect(again.body.metadata.resourceVersion).toBe(created.body.metadata.resourceVersion);
    const bad = await send(
      'PATCH',
      '/api/v1/nodes/times/status',
      { status: { conditions: [condition('yesterday')] } },
      'application/merge-patch+json',
    );
    expect(bad.code).toBe(400);
  });

  it("refuses a PUT whose uid is not the stored object's (the object was recreated)", async () => {
    const first = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'recreated' } },
    });
    await core.deleteNamespacedConfigMap({ name: 'recreated', namespace: 'default' });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'recreated' } } });
    const stale = await statusOf(
      core.replaceNamespacedConfigMap({
        name: 'recreated',
        namespace: 'default',
        body: { metadata: { name: 'recreated', uid: first.metadata?.uid }, data: { a: 'b' } },
      }),
    );
    expect(stale.code).toBe(409);
    expect(stale.message).toContain('Precondition failed: UID in precondition');
  });

  it('works with KubernetesObjectApi, which resolves plurals through discovery', async () => {
    const spec = {
      apiVersion: 'thinpool.dev/v1alpha1',
      kind: 'ThinPool',
      metadata: { name: 'koa' },
      spec: { dataPercent: 42 },
    };
    const created: k8s.KubernetesObject = await objects.create(spec);
    expect(created.metadata?.uid).toBeDefined();
    const read = (await objects.read({
      apiVersion: 'thinpool.dev/v1alpha1',
      kind: 'ThinPool',
      metadata: { name: 'koa' },
    })) as unknown as Obj;
    expect(read.spec?.dataPercent).toBe(42);
    const patched = (await objects.patch(
      {
        apiVersion: 'thinpool.dev/v1alpha1',
        kind: 'ThinPool',
        metadata: { name: 'koa' },
        spec: { dataPercent: 43 },
      } as k8s.KubernetesObject,
      undefined,
      undefined,
      undefined,
      undefined,
      k8s.PatchStrategy.MergePatch,
    )) as unknown as Obj;
    expect(patched.spec?.dataPercent).toBe(43);
    const cm = await objects.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'koa-cm', namespace: 'default' },
    });
    expect(cm.metadata?.namespace).toBe('default');
    const list = await objects.list('thinpool.dev/v1alpha1', 'ThinPool');
    expect(list.items.map((i) => i.metadata?.name)).toContain('koa');
    await objects.delete({
      apiVersion: 'thinpool.dev/v1alpha1',
      kind: 'ThinPool',
      metadata: { name: 'koa' },
    });
    expect(
      (
        await statusOf(
          objects.read({ apiVersion: 'thinpool.dev/v1alpha1', kind: 'ThinPool', metadata: { name: 'koa' } }),
        )
      ).code,
    ).toBe(404);
  });

  it('validates names with a 422 Invalid Status listing the causes', async () => {
    const bad = await statusOf(custom.createClusterCustomObject({ ...TP, body: thinPool('Bad_Name') }));
    expect(bad).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(bad.message).toMatch(
      /^ThinPool\.thinpool\.dev "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    );
    expect(bad.details?.causes?.[0]).toMatchObject({ reason: 'FieldValueInvalid', field: 'metadata.name' });
  });

  it('defaults, prunes and validates custom resources through the shared validator, with 422 causes', async () => {
    const created = (await custom.createClusterCustomObject({
      ...TP,
      body: thinPool('val', { devices: [{ path: '/dev/sdb' }], unknownField: 1 }),
    })) as Obj;
    expect(created.spec).toEqual({
      devices: [{ path: '/dev/sdb' }],
      volumeGroup: 'docker',
      thinPoolName: 'thinpool',
      dataPercent: 95,
    });
    const tooBig = await statusOf(
      custom.createClusterCustomObject({ ...TP, body: thinPool('val-2', { dataPercent: 120 }) }),
    );
    expect(tooBig).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message:
        'ThinPool.thinpool.dev "val-2" is invalid: spec.dataPercent: Invalid value: 120: spec.dataPercent in body should be less than or equal to 100',
    });
    expect(tooBig.details?.causes).toEqual([
      {
        reason: 'FieldValueInvalid',
        field: 'spec.dataPercent',
        message: 'Invalid value: 120: spec.dataPercent in body should be less than or equal to 100',
      },
    ]);
    const immutable = await statusOf(
      custom.patchClusterCustomObject(
        { ...TP, name: 'val', body: { spec: { volumeGroup: 'other' } } },
        merge,
      ),
    );
    expect(immutable.code).toBe(422);
    expect(immutable.message).toContain(
      'spec.volumeGroup: Invalid value: "string": volumeGroup is immutable',
    );
    const strict = await statusOf(
      custom.createClusterCustomObject({
        ...TP,
        body: thinPool('val-3', { typo: true }),
        fieldValidation: 'Strict',
      }),
    );
    expect(strict).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: 'strict decoding error: unknown field "spec.typo"',
    });
  });

  it('stores Events once and serves them as core/v1 and events.k8s.io/v1', async () => {
    const events = api.kubeConfig().makeApiClient(k8s.EventsV1Api);
    const now = new k8s.V1MicroTime();
    await events.createNamespacedEvent({
      namespace: 'default',
      body: {
        metadata: { name: 'tp.1' },
        eventTime: now,
        reportingController: 'thinpool.dev/operator',
        reportingInstance: 'op-0',
        action: 'Reconcile',
        reason: 'Extended',
        note: 'Extended thin pool',
        type: 'Normal',
        regarding: { apiVersion: 'thinpool.dev/v1alpha1', kind: 'ThinPool', name: 'gen' },
      },
    });
    const asCore = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.kind=ThinPool,involvedObject.name=gen',
    });
    expect(asCore.items).toHaveLength(1);
    expect(asCore.items[0]).toMatchObject({
      reason: 'Extended',
      message: 'Extended thin pool',
      reportingComponent: 'thinpool.dev/operator',
    });
    const asV1 = await events.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'regarding.name=gen',
    });
    expect(asV1.items[0]).toMatchObject({
      note: 'Extended thin pool',
      reportingController: 'thinpool.dev/operator',
    });
    const millis = await statusOf(
      events.createNamespacedEvent({
        namespace: 'default',
        body: {
          metadata: { name: 'millis' },
          eventTime: new Date('2026-01-02T03:04:05.123Z'),
          reportingController: 'a/b',
          reportingInstance: 'i',
          action: 'A',
          reason: 'R',
          type: 'Normal',
        },
      }),
    );
    expect(millis).toMatchObject({ code: 400, reason: 'BadRequest' });
    expect(millis.message).toContain(
      'parsing time "2026-01-02T03:04:05.123Z" as "2006-01-02T15:04:05.000000Z07:00"',
    );
    const invalid = await statusOf(
      events.createNamespacedEvent({
        namespace: 'default',
        body: { metadata: { name: 'bad' }, eventTime: now },
      }),
    );
    expect(invalid.code).toBe(422);
    expect(invalid.message).toContain('reportingController: Required value');
  });
});
