/**
 * Contract: client-node's `Watch` and `makeInformer` against the emulator: replay from a
 * resourceVersion, synthetic ADDED for a watch without one, selector transitions, bookmarks,
 * `timeoutSeconds`, 410 Expired in the stream after compaction, informer re-watch and re-list.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';
import { FIXTURE_CRDS, TP, eventually, thinPool } from './helpers.js';

const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const TP_PATH = '/apis/thinpool.dev/v1alpha1/thinpools';

interface Seen {
  type: string;
  name?: string;
  rv?: string;
  obj: Record<string, unknown> & { metadata?: Record<string, unknown>; code?: number; reason?: string };
}

/** Opens a watch and records its events and its end. */
async function record(
  kc: k8s.KubeConfig,
  path: string,
  query: Record<string, string | number | boolean | undefined>,
) {
  const events: Seen[] = [];
  let ended: unknown = 'open';
  const controller = await new k8s.Watch(kc).watch(
    path,
    query,
    (type, obj: Seen['obj']) =>
      events.push({
        type,
        obj,
        name: obj.metadata?.name as string,
        rv: obj.metadata?.resourceVersion as string,
      }),
    (err) => {
      ended = err ?? null;
    },
  );
  return { events, controller, ended: () => ended };
}

describe('client-node Watch and informers against the emulator', () => {
  let api: RunningApiServer;
  let kc: k8s.KubeConfig;
  let custom: k8s.CustomObjectsApi;
  let core: k8s.CoreV1Api;

  beforeAll(async () => {
    api = await startApiServer({ crdDir: FIXTURE_CRDS, bookmarkIntervalMs: 50 });
    kc = api.kubeConfig();
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });
  afterAll(() => api.stop());

  it('replays the events after a list resourceVersion, then streams new ones', async () => {
    const list = (await custom.listClusterCustomObject({ ...TP })) as {
      metadata: { resourceVersion: string };
    };
    await custom.createClusterCustomObject({ ...TP, body: thinPool('w-1') });
    await custom.patchClusterCustomObject({ ...TP, name: 'w-1', body: { spec: { dataPercent: 50 } } }, merge);
    const watch = await record(kc, TP_PATH, { resourceVersion: list.metadata.resourceVersion });
    await eventually(() => watch.events.length === 2, 'replayed events');
    expect(watch.events.map((e) => `${e.type}:${e.name}`)).toEqual(['ADDED:w-1', 'MODIFIED:w-1']);
    await custom.deleteClusterCustomObject({ ...TP, name: 'w-1' });
    await eventually(() => watch.events.length === 3, 'the delete');
    expect(watch.events[2].type).toBe('DELETED');
    expect(Number(watch.events[2].rv)).toBeGreaterThan(Number(watch.events[1].rv));
    watch.controller.abort();
  });

  it('starts a watch without resourceVersion with ADDED for every existing object', async () => {
    await custom.createClusterCustomObject({ ...TP, body: thinPool('w-2') });
    await custom.createClusterCustomObject({ ...TP, body: thinPool('w-3') });
    const watch = await record(kc, TP_PATH, {});
    await eventually(() => watch.events.length >= 2, 'synthetic ADDED events');
    expect(watch.events.map((e) => `${e.type}:${e.name}`)).toEqual(['ADDED:w-2', 'ADDED:w-3']);
    watch.controller.abort();
  });

  it('turns selector transitions into ADDED and DELETED, and filters pods by spec.nodeName', async () => {
    const byLabel = await record(kc, '/api/v1/namespaces/default/configmaps', {
      labelSelector: 'tier in (a,b),!legacy',
    });
    const byNode = await record(kc, '/api/v1/pods', { fieldSelector: 'spec.nodeName=node-a' });
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'sel', labels: { tier: 'c' } } },
    });
    const relabel = (labels: Record<string, string | null>) =>
      core.patchNamespacedConfigMap(
        { name: 'sel', namespace: 'default', body: { metadata: { labels } } },
        merge,
      );
    await relabel({ tier: 'a' });
    await relabel({ tier: 'b' });
    await relabel({ legacy: 'yes' });
    for (const [name, node] of [
      ['on-a', 'node-a'],
      ['on-b', 'node-b'],
    ]) {
      await core.createNamespacedPod({
        namespace: 'default',
        body: { metadata: { name }, spec: { nodeName: node, containers: [{ name: 'c', image: 'x' }] } },
      });
    }
    await eventually(() => byLabel.events.length === 3 && byNode.events.length === 1, 'selector events');
    expect(byLabel.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(byNode.events.map((e) => e.name)).toEqual(['on-a']);
    byLabel.controller.abort();
    byNode.controller.abort();
  });

  it('sends bookmarks when allowed, and a watch restarted from a bookmark misses nothing', async () => {
    const watch = await record(kc, TP_PATH, {
      allowWatchBookmarks: true,
      resourceVersion: String(api.server.store.resourceVersion),
    });
    const bookmark = await eventually(() => watch.events.find((e) => e.type === 'BOOKMARK'), 'a bookmark');
    expect(bookmark.obj).toMatchObject({ kind: 'ThinPool', apiVersion: 'thinpool.dev/v1alpha1' });
    watch.controller.abort();
    await custom.createClusterCustomObject({ ...TP, body: thinPool('after-bookmark') });
    const resumed = await record(kc, TP_PATH, { resourceVersion: bookmark.rv });
    await eventually(() => resumed.events.length === 1, 'the event after the bookmark');
    expect(resumed.events[0]).toMatchObject({ type: 'ADDED', name: 'after-bookmark' });
    resumed.controller.abort();
    const noBookmarks = await record(kc, TP_PATH, {
      resourceVersion: String(api.server.store.resourceVersion),
      timeoutSeconds: 1,
    });
    await eventually(() => noBookmarks.ended() !== 'open', 'the timeout');
    expect(noBookmarks.events).toEqual([]);
  });

  it('ends a watch cleanly at timeoutSeconds', async () => {
    const watch = await record(kc, TP_PATH, {
      resourceVersion: String(api.server.store.resourceVersion),
      timeoutSeconds: 1,
    });
    await eventually(() => watch.ended() !== 'open', 'the watch to end');
    expect(watch.ended()).toBeNull();
  });

  it('answers a watch from a compacted resourceVersion with an in-stream 410 Expired ERROR event', async () => {
    const old = String(api.server.store.resourceVersion);
    await custom.createClusterCustomObject({ ...TP, body: thinPool('w-compact') });
    api.faults.compact();
    const watch = await record(kc, TP_PATH, { resourceVersion: old });
    await eventually(() => watch.ended() !== 'open', 'the stream to end');
    expect(watch.events).toHaveLength(1);
    expect(watch.events[0].type).toBe('ERROR');
    expect(watch.events[0].obj).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect(String(watch.events[0].obj.message)).toMatch(/^too old resource version: \d+ \(\d+\)$/);
  });

  it('streams the initial state of a watch-list, ended by the initial-events-end bookmark', async () => {
    const watch = await record(kc, TP_PATH, {
      sendInitialEvents: true,
      resourceVersionMatch: 'NotOlderThan',
      allowWatchBookmarks: true,
    });
    const end = await eventually(
      () =>
        watch.events.find(
          (e) =>
            (e.obj.metadata?.annotations as Record<string, string>)?.['k8s.io/initial-events-end'] === 'true',
        ),
      'the initial-events-end bookmark',
    );
    const before = watch.events.slice(0, watch.events.indexOf(end));
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((e) => e.type === 'ADDED')).toBe(true);
    watch.controller.abort();
  });

  it('makeInformer lists then watches, re-watches after dropped streams without re-listing, and re-lists after 410', async () => {
    const informer = k8s.makeInformer(kc, TP_PATH, () => custom.listClusterCustomObject({ ...TP }) as never);
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add:${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update:${o.metadata?.name}`));
    informer.on('delete', (o) => seen.push(`delete:${o.metadata?.name}`));
    let stopping = false;
    const errors: unknown[] = [];
    informer.on('error', (err) => {
      if (!stopping) errors.push(err);
    });
    api.requestLog.reset();
    await informer.start();
    await custom.createClusterCustomObject({ ...TP, body: thinPool('inf-1') });
    await eventually(() => seen.includes('add:inf-1'), 'the informer add');
    expect(api.requestLog.count({ verb: 'list', resource: 'thinpools' })).toBe(1);

    api.faults.dropWatches();
    await eventually(
      () => api.requestLog.count({ verb: 'watch', resource: 'thinpools' }) === 2,
      'the re-watch',
    );
    await custom.patchClusterCustomObject(
      { ...TP, name: 'inf-1', body: { spec: { dataPercent: 60 } } },
      merge,
    );
    await eventually(() => seen.includes('update:inf-1'), 'the informer update');
    expect(api.requestLog.count({ verb: 'list', resource: 'thinpools' })).toBe(1);

    stopping = true;
    await informer.stop();
    stopping = false;
    await custom.createClusterCustomObject({ ...TP, body: thinPool('inf-2') });
    api.faults.compact();
    await informer.start();
    await eventually(() => seen.includes('add:inf-2'), 'the re-list after 410');
    expect(api.requestLog.count({ verb: 'list', resource: 'thinpools' })).toBe(2);
    expect(informer.list().map((o) => o.metadata?.name)).toContain('inf-2');

    api.faults.setErrorRate({ verb: 'watch', resource: 'thinpools', rate: 1, code: 410, count: 1 });
    api.faults.dropWatches();
    await eventually(
      () => api.requestLog.count({ verb: 'list', resource: 'thinpools' }) === 3,
      'the re-list after HTTP 410',
    );
    expect(api.requestLog.count({ verb: 'watch', resource: 'thinpools', status: 410 })).toBe(1);
    await custom.deleteClusterCustomObject({ ...TP, name: 'inf-1' });
    await eventually(() => seen.includes('delete:inf-1'), 'the informer delete');
    stopping = true;
    await informer.stop();
    expect(errors).toEqual([]);
  });

  it('an informer fed bookmarks keeps its resourceVersion current and resumes after compaction without re-listing', async () => {
    /** client-node's informer never asks for bookmarks; this Watch asks on its behalf. */
    class BookmarkingWatch extends k8s.Watch {
      override watch(
        path: string,
        query: Record<string, string | number | boolean | undefined>,
        callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
        done: (err: unknown) => void,
      ): Promise<AbortController> {
        return super.watch(path, { ...query, allowWatchBookmarks: true }, callback, done);
      }
    }
    const listFn = () => custom.listClusterCustomObject({ ...TP }) as never;
    const informer = new k8s.ListWatch<k8s.KubernetesObject>(
      TP_PATH,
      new BookmarkingWatch(kc),
      listFn,
      false,
    );
    await informer.start();
    api.requestLog.reset();
    const listed = Number(informer.latestResourceVersion());
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'moves-the-revision' } },
    });
    await eventually(
      () => Number(informer.latestResourceVersion()) > listed,
      'a bookmark past the list revision',
    );
    api.faults.compact();
    api.faults.dropWatches();
    await custom.createClusterCustomObject({ ...TP, body: thinPool('after-compaction') });
    await eventually(() => informer.get('after-compaction'), 'the informer to see the new ThinPool');
    expect(api.requestLog.count({ verb: 'list', resource: 'thinpools' })).toBe(0);
    await informer.stop();
  });
});
