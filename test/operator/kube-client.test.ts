/** The operator's JSON REST client on client-node, against the API emulator. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import {
  JSON_PATCH,
  KubeApiError,
  KubeClient,
  describeError,
  isAlreadyExists,
  isConflict,
  isNotFound,
} from '../../operator/runtime/kube-client.js';
import type { NodeObject } from '../../operator/controller/kube-types.js';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';

let api: RunningApiServer;
let client: KubeClient;

beforeAll(async () => {
  api = await startApiServer();
  client = new KubeClient(api.kubeConfig());
});

afterAll(async () => {
  await api?.stop();
});

async function failure(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (err) {
    return err;
  }
  throw new Error('Expected the call to fail');
}

describe('KubeClient', () => {
  it('returns plain JSON (timestamps stay strings) and sends patches with the content type asked for', async () => {
    const created = await client.create<NodeObject>('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'a' },
    });
    expect(typeof created.metadata.creationTimestamp).toBe('string');
    await client.patch('/api/v1/nodes/a', { metadata: { labels: { zone: 'x' } } });
    await client.patch(
      '/api/v1/nodes/a',
      [{ op: 'add', path: '/metadata/labels/rack', value: 'r1' }],
      JSON_PATCH,
    );
    const read = await client.get<NodeObject>('/api/v1/nodes/a');
    expect(read.metadata.labels).toEqual(expect.objectContaining({ zone: 'x', rack: 'r1' }));
    const types = api.requestLog
      .entries()
      .filter((e) => e.verb === 'patch')
      .map((e) => e.contentType);
    expect(types).toEqual(['application/merge-patch+json', 'application/json-patch+json']);
  });

  it('pages lists with limit and continue', async () => {
    for (const name of ['b', 'c', 'd'])
      await client.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name } });
    const first = await client.list<NodeObject>('/api/v1/nodes', { limit: 2 });
    expect(first.items).toHaveLength(2);
    const rest = await client.list<NodeObject>('/api/v1/nodes', {
      limit: 2,
      continue: first.metadata.continue,
    });
    expect([...first.items, ...rest.items].map((n) => n.metadata.name)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('turns API errors into a one-line KubeApiError that is still client-node’s ApiException', async () => {
    const missing = await failure(client.get('/api/v1/nodes/missing'));
    expect(missing).toBeInstanceOf(KubeApiError);
    expect(missing).toBeInstanceOf(ApiException);
    expect(isNotFound(missing)).toBe(true);
    expect(describeError(missing)).toBe(
      'GET /api/v1/nodes/missing failed with HTTP 404: nodes "missing" not found',
    );

    const duplicate = await failure(
      client.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'a' } }),
    );
    expect(isAlreadyExists(duplicate)).toBe(true);

    const stale = await failure(
      client.replace('/api/v1/nodes/a', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'a', resourceVersion: '1' },
      }),
    );
    expect(isConflict(stale)).toBe(true);
    expect(isAlreadyExists(stale)).toBe(false);
  });

  it('deletes only the object with the uid it was given', async () => {
    const node = await client.get<NodeObject>('/api/v1/nodes/d');
    const wrong = await failure(client.delete('/api/v1/nodes/d', { uid: 'not-the-uid' }));
    expect(isConflict(wrong)).toBe(true);
    await client.delete('/api/v1/nodes/d', { uid: node.metadata.uid });
    expect(isNotFound(await failure(client.get('/api/v1/nodes/d')))).toBe(true);
  });
});
