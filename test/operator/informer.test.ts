/**
 * The informer against the API emulator, over both transports (client-node's real Watch for the operator,
 * node:http for the in-cluster agent): list and watch, paging, resume
 * after a dropped watch, re-list after 410 Gone, restart with backoff after API errors, restart of a
 * silent watch, bookmarks, periodic re-list.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { NodeObject } from '../../operator/controller/kube-types.js';
import { HttpTransport } from '../../common/kube/http-transport.js';
import { Informer, type InformerOptions } from '../../common/kube/informer.js';
import { KubeClient } from '../../common/kube/kube-client.js';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';
import { eventually, testLogger } from './support/harness.js';

jest.setTimeout(60_000);

let api: RunningApiServer;
let client: KubeClient;
const informers: Informer<NodeObject>[] = [];
let nodeCounter = 0;

const transports: Array<[string, (api: RunningApiServer) => KubeClient]> = [
  ['client-node', (api) => new KubeClient(api.kubeConfig())],
  ['node:http', (api) => new KubeClient(new HttpTransport({ server: api.url }))],
];

async function createNode(labels: Record<string, string> = {}): Promise<string> {
  const name = `node-${++nodeCounter}`;
  await client.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });
  return name;
}

/** A node informer that records every event it delivers. */
function nodeInformer(options: Partial<InformerOptions<NodeObject>> = {}) {
  const events: string[] = [];
  const informer = new Informer<NodeObject>({
    kind: 'Node',
    client,
    path: '/api/v1/nodes',
    logger: testLogger(),
    backoff: { initialMs: 20, maxMs: 200 },
    ...options,
  });
  informer.on({
    add: (n) => events.push(`add ${n.metadata.name}`),
    update: (n, old) =>
      events.push(
        `update ${n.metadata.name} ${old.metadata.labels?.v ?? '-'}->${n.metadata.labels?.v ?? '-'}`,
      ),
    delete: (n) => events.push(`delete ${n.metadata.name}`),
  });
  informers.push(informer);
  return { informer, events };
}

describe.each(transports)('Informer over the %s transport', (_name, makeClient) => {
  beforeAll(async () => {
    api = await startApiServer({ bookmarkIntervalMs: 100 });
    client = makeClient(api);
  });

  afterEach(async () => {
    api.faults.clearErrors();
    api.faults.setLatency(0);
    await Promise.all(informers.splice(0).map((i) => i.stop()));
  });

  afterAll(async () => {
    client?.transport.close?.();
    await api?.stop();
  });

  it('lists in pages, then delivers adds, updates (with the old object) and deletes from the watch', async () => {
    const existing = [await createNode(), await createNode(), await createNode()];
    const { informer, events } = nodeInformer({ pageSize: 2, labelSelector: undefined });
    informer.start();
    await informer.waitForSync();
    expect(informer.stats.listPages).toBeGreaterThanOrEqual(2);
    for (const name of existing) expect(informer.get(name)).toBeDefined();
    const added = await createNode({ v: '1' });
    await client.patch(`/api/v1/nodes/${added}`, { metadata: { labels: { v: '2' } } });
    await client.delete(`/api/v1/nodes/${added}`);
    await eventually(() => events.includes(`delete ${added}`), 'the delete event');
    expect(events.slice(-3)).toEqual([`add ${added}`, `update ${added} 1->2`, `delete ${added}`]);
    expect(informer.get(added)).toBeUndefined();
    expect(informer.stats.lists).toBe(1);
  });

  it('resumes a dropped watch from its resourceVersion, without re-listing and without losing events', async () => {
    const { informer, events } = nodeInformer();
    informer.start();
    await informer.waitForSync();
    const watchesBefore = informer.stats.watches;
    api.faults.dropWatches();
    const created = await createNode();
    await eventually(() => events.includes(`add ${created}`), 'the node created while the watch was down');
    expect(informer.stats.watches).toBeGreaterThan(watchesBefore);
    expect(informer.stats.lists).toBe(1);
  });

  it('re-lists after 410 Gone and turns what it missed into events (a deleted object becomes a delete)', async () => {
    const victim = await createNode();
    const { informer, events } = nodeInformer();
    informer.start();
    await informer.waitForSync();
    events.length = 0;
    api.faults.setErrorRate({ verb: 'watch', rate: 1, code: 500 });
    api.faults.dropWatches();
    await client.delete(`/api/v1/nodes/${victim}`);
    const born = await createNode();
    api.faults.compact();
    api.faults.clearErrors();
    await eventually(
      () => events.includes(`delete ${victim}`) && events.includes(`add ${born}`),
      'the re-list diff',
    );
    expect(informer.stats.relistsAfterGone).toBeGreaterThanOrEqual(1);
    expect(informer.stats.lists).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.startsWith('add ') && e !== `add ${born}`)).toEqual([]);
  });

  it('re-lists when the watch request itself is answered 410 Gone', async () => {
    const { informer, events } = nodeInformer();
    informer.start();
    await informer.waitForSync();
    api.faults.setErrorRate({ verb: 'watch', rate: 1, code: 410, count: 1 });
    api.faults.dropWatches();
    await eventually(() => informer.stats.relistsAfterGone >= 1, 'a re-list after the HTTP 410');
    expect(informer.stats.errors).toBe(0);
    const created = await createNode();
    await eventually(() => events.includes(`add ${created}`), 'events after the re-list');
    expect(informer.stats.lists).toBeGreaterThanOrEqual(2);
  });

  it('keeps retrying with backoff while the API fails, and catches up when it recovers', async () => {
    api.faults.setErrorRate({ verb: 'list', rate: 1, code: 503 });
    const { informer, events } = nodeInformer();
    informer.start();
    await eventually(() => informer.stats.errors >= 3, 'three failed attempts');
    expect(informer.hasSynced).toBe(false);
    api.faults.clearErrors();
    await informer.waitForSync();
    api.faults.setErrorRate({ verb: 'watch', rate: 1, code: 500 });
    api.faults.dropWatches();
    const errorsBefore = informer.stats.errors;
    await eventually(() => informer.stats.errors >= errorsBefore + 2, 'failing watches');
    const created = await createNode();
    api.faults.clearErrors();
    await eventually(() => events.includes(`add ${created}`), 'the node created during the outage');
  });

  it('restarts a watch that stays silent past its timeout', async () => {
    const { informer, events } = nodeInformer({ watchTimeoutSeconds: [1, 1], silenceGraceMs: 300 });
    informer.start();
    await informer.waitForSync();
    api.faults.setLatency(2000);
    api.faults.dropWatches();
    await eventually(() => informer.stats.silentRestarts >= 1, 'a silent-watch restart');
    api.faults.setLatency(0);
    const created = await createNode();
    await eventually(() => events.includes(`add ${created}`), 'events after the restart');
  });

  it('asks for bookmarks, so its resourceVersion moves on while its kind is quiet', async () => {
    const { informer } = nodeInformer();
    informer.start();
    await informer.waitForSync();
    const before = Number(informer.lastResourceVersion);
    await client.create('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: `quiet-${nodeCounter++}` },
    });
    await eventually(
      () => Number(informer.lastResourceVersion) > before,
      'a bookmark to advance the resourceVersion',
    );
    expect(informer.stats.lists).toBe(1);
  });

  it('re-lists periodically without re-delivering unchanged objects, and re-delivers its cache on resync', async () => {
    await createNode();
    const { informer, events } = nodeInformer({ relistPeriodMs: 200, resyncPeriodMs: 300 });
    informer.start();
    await informer.waitForSync();
    const adds = events.filter((e) => e.startsWith('add ')).length;
    await eventually(() => informer.stats.lists >= 3, 'periodic re-lists');
    expect(events.filter((e) => e.startsWith('add ')).length).toBe(adds);
    await eventually(() => events.some((e) => e.startsWith('update ')), 'a resync update');
  });

  it('stops cleanly: no more events and no error after stop', async () => {
    const { informer, events } = nodeInformer();
    informer.start();
    await informer.waitForSync();
    await informer.stop();
    const count = events.length;
    const errors = informer.stats.errors;
    await createNode();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(events.length).toBe(count);
    expect(informer.stats.errors).toBe(errors);
  });

  it('keeps secondary indexes in step with the cache', async () => {
    const { informer } = nodeInformer();
    informer.addIndex('zone', (n) => (n.metadata.labels?.zone ? [n.metadata.labels.zone] : []));
    informer.start();
    await informer.waitForSync();
    const a = await createNode({ zone: 'east' });
    await eventually(
      () => informer.byIndex('zone', 'east').some((n) => n.metadata.name === a),
      'indexed east',
    );
    await client.patch(`/api/v1/nodes/${a}`, { metadata: { labels: { zone: 'west' } } });
    await eventually(
      () => informer.byIndex('zone', 'west').some((n) => n.metadata.name === a),
      'moved to west',
    );
    expect(informer.byIndex('zone', 'east').some((n) => n.metadata.name === a)).toBe(false);
  });
});
