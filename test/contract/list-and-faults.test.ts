/**
 * Contract: list semantics (label and field selectors, limit/continue paging over a consistent snapshot,
 * 410 for a compacted continue token, 400 for bad selectors) and the fault-injection and request-log
 * hooks, through the real client-node.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';
import { FIXTURE_CRDS, TP, eventually, statusOf, thinPool } from './helpers.js';

describe('lists, selectors, paging and faults against the emulator', () => {
  let api: RunningApiServer;
  let core: k8s.CoreV1Api;
  let custom: k8s.CustomObjectsApi;

  beforeAll(async () => {
    api = await startApiServer({ crdDir: FIXTURE_CRDS });
    const kc = api.kubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    for (const [ns, name, labels] of [
      ['default', 'a', { tier: 'web', env: 'prod' }],
      ['default', 'b', { tier: 'db', env: 'prod' }],
      ['default', 'c', { tier: 'web' }],
      ['kube-system', 'd', { tier: 'web', env: 'dev' }],
    ] as const) {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name, labels: { ...labels } } },
      });
    }
  });
  afterAll(() => api.stop());

  const names = (list: { items: { metadata?: { name?: string } }[] }) =>
    list.items.map((i) => i.metadata?.name);

  it('filters with every label selector operator', async () => {
    const all = (labelSelector: string) => core.listConfigMapForAllNamespaces({ labelSelector }).then(names);
    expect(await all('tier=web')).toEqual(['a', 'c', 'd']);
    expect(await all('tier==web,env!=prod')).toEqual(['c', 'd']);
    expect(await all('env in (prod,dev)')).toEqual(['a', 'b', 'd']);
    expect(await all('env notin (prod)')).toEqual(['c', 'd']);
    expect(await all('env')).toEqual(['a', 'b', 'd']);
    expect(await all('!env')).toEqual(['c']);
    const bad = await statusOf(core.listConfigMapForAllNamespaces({ labelSelector: 'tier in web' }));
    expect(bad).toMatchObject({ code: 400, reason: 'BadRequest' });
  });

  it('filters with field selectors and rejects unsupported fields', async () => {
    expect(
      names(await core.listConfigMapForAllNamespaces({ fieldSelector: 'metadata.namespace=kube-system' })),
    ).toEqual(['d']);
    expect(
      names(await core.listNamespacedConfigMap({ namespace: 'default', fieldSelector: 'metadata.name!=a' })),
    ).toEqual(['b', 'c']);
    const bad = await statusOf(
      core.listNamespacedConfigMap({ namespace: 'default', fieldSelector: 'data.x=1' }),
    );
    expect(bad).toMatchObject({ code: 400, message: 'field label not supported: data.x' });
  });

  it('pages with limit/continue over a consistent snapshot, with remainingItemCount', async () => {
    for (let i = 0; i < 5; i++)
      await custom.createClusterCustomObject({ ...TP, body: thinPool(`page-${i}`) });
    type Page = {
      items: { metadata: { name: string } }[];
      metadata: { continue?: string; remainingItemCount?: number; resourceVersion: string };
    };
    const first = (await custom.listClusterCustomObject({ ...TP, limit: 2 })) as Page;
    expect(first.items.map((i) => i.metadata.name)).toEqual(['page-0', 'page-1']);
    expect(first.metadata.remainingItemCount).toBe(3);
    await custom.deleteClusterCustomObject({ ...TP, name: 'page-3' });
    await custom.createClusterCustomObject({ ...TP, body: thinPool('page-5') });
    const second = (await custom.listClusterCustomObject({
      ...TP,
      limit: 2,
      _continue: first.metadata.continue,
    })) as Page;
    expect(second.items.map((i) => i.metadata.name)).toEqual(['page-2', 'page-3']);
    expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    const third = (await custom.listClusterCustomObject({
      ...TP,
      limit: 2,
      _continue: second.metadata.continue,
    })) as Page;
    expect(third.items.map((i) => i.metadata.name)).toEqual(['page-4']);
    expect(third.metadata.continue).toBeUndefined();
    const fresh = (await custom.listClusterCustomObject({ ...TP })) as Page;
    expect(fresh.items.map((i) => i.metadata.name)).toEqual([
      'page-0',
      'page-1',
      'page-2',
      'page-4',
      'page-5',
    ]);
  });

  it('answers 410 Expired for a continue token from before a compaction', async () => {
    const page = (await core.listNamespacedConfigMap({
      namespace: 'default',
      limit: 1,
    })) as k8s.V1ConfigMapList;
    api.faults.compact();
    const expired = await statusOf(
      core.listNamespacedConfigMap({ namespace: 'default', limit: 1, _continue: page.metadata?._continue }),
    );
    expect(expired).toMatchObject({ code: 410, reason: 'Expired' });
  });

  it('injects errors per verb and resource, and records every request with its status and content type', async () => {
    api.requestLog.reset();
    api.faults.setErrorRate({ verb: 'create', resource: 'configmaps', rate: 1, code: 503 });
    const failed = await statusOf(
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x' } } }),
    );
    expect(failed).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
    await core.listNamespacedConfigMap({ namespace: 'default' });
    api.faults.clearErrors();
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x' } } });
    await core.patchNamespacedConfigMap(
      { name: 'x', namespace: 'default', body: { data: { k: 'v' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(api.requestLog.count({ verb: 'create', resource: 'configmaps' })).toBe(2);
    expect(api.requestLog.count({ verb: 'create', status: 503 })).toBe(1);
    expect(api.requestLog.count({ verb: 'list', resource: 'configmaps', namespace: 'default' })).toBe(1);
    const patch = api.requestLog.entries().find((e) => e.verb === 'patch');
    expect(patch).toMatchObject({
      resource: 'configmaps',
      group: '',
      name: 'x',
      status: 200,
      contentType: 'application/merge-patch+json',
    });
  });

  it('replays the same injected faults for the same seed', async () => {
    async function faultPattern(seed: number): Promise<string> {
      const seeded = await startApiServer({ faultSeed: seed });
      try {
        const api = seeded.kubeConfig().makeApiClient(k8s.CoreV1Api);
        seeded.faults.setErrorRate({ verb: 'get', resource: 'namespaces', rate: 0.5, code: 500 });
        let pattern = '';
        for (let i = 0; i < 40; i++) {
          const ok = await api.readNamespace({ name: 'default' }).then(
            () => true,
            () => false,
          );
          pattern += ok ? '.' : 'x';
        }
        return pattern;
      } finally {
        await seeded.stop();
      }
    }
    const first = await faultPattern(42);
    expect(first).toMatch(/x/);
    expect(first).toMatch(/\./);
    expect(await faultPattern(42)).toBe(first);
    expect(await faultPattern(43)).not.toBe(first);
  });

  it('holds every request for the injected latency before answering', async () => {
    api.requestLog.reset();
    api.faults.setLatency(300);
    let answered = false;
    const read = core.readNamespace({ name: 'default' }).then(() => {
      answered = true;
    });
    const held = await eventually(() => api.requestLog.entries()[0], 'the request to arrive');
    expect(held.status).toBe(0);
    expect(answered).toBe(false);
    await read;
    api.faults.setLatency(0);
    expect(api.requestLog.entries()[0]).toMatchObject({ verb: 'get', resource: 'namespaces', status: 200 });
  });
});
