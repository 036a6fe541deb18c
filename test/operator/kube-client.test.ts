/**
 * The JSON REST client against the API emulator, over both transports: client-node's (the operator) and
 * node:http (the in-cluster agent). Both must give callers the same answers and the same errors.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { HttpTransport } from '../../common/kube/http-transport.js';
import {
  JSON_PATCH,
  KubeApiError,
  KubeClient,
  describeError,
  httpStatusOf,
  isAlreadyExists,
  isConflict,
  isNotFound,
} from '../../common/kube/kube-client.js';
import type { NodeObject } from '../../operator/controller/kube-types.js';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';

const transports: Array<[string, (api: RunningApiServer) => KubeClient]> = [
  ['client-node', (api) => new KubeClient(api.kubeConfig())],
  ['node:http', (api) => new KubeClient(new HttpTransport({ server: api.url }))],
];

async function failure(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (err) {
    return err;
  }
  throw new Error('Expected the call to fail');
}

describe.each(transports)('KubeClient over the %s transport', (_name, makeClient) => {
  let api: RunningApiServer;
  let client: KubeClient;

  beforeAll(async () => {
    api = await startApiServer();
    client = makeClient(api);
  });

  afterAll(async () => {
    client?.transport.close?.();
    await api?.stop();
  });

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

  it('turns API errors into a one-line KubeApiError shaped like client-node’s ApiException', async () => {
    const missing = await failure(client.get('/api/v1/nodes/missing'));
    expect(missing).toBeInstanceOf(KubeApiError);
    expect(missing).toMatchObject({ code: 404, body: { kind: 'Status', reason: 'NotFound', code: 404 } });
    expect(httpStatusOf(missing)).toBe(404);
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

  it('leaves undefined query parameters out and passes the others', async () => {
    await client.create('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'labelled', labels: { tier: 'gold' } },
    });
    const list = await client.list<NodeObject>('/api/v1/nodes', {
      labelSelector: 'tier=gold',
      fieldSelector: undefined,
      limit: 10,
    });
    expect(list.items.map((n) => n.metadata.name)).toEqual(['labelled']);
  });

  it('keeps a 422 Status with its causes, and names the request in the message', async () => {
    const invalid = await failure(
      client.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'Not_Valid' } }),
    );
    expect(httpStatusOf(invalid)).toBe(422);
    expect((invalid as KubeApiError).body.reason).toBe('Invalid');
    expect((invalid as KubeApiError).body.details?.causes?.length).toBeGreaterThan(0);
    expect(describeError(invalid)).toMatch(/^POST \/api\/v1\/nodes failed with HTTP 422: /);
  });
});

describe.each(transports)('KubeClient over the %s transport without a server', (_name, makeClient) => {
  it('rejects with a network error that has no HTTP status', async () => {
    const api = await startApiServer();
    const client = makeClient(api);
    await api.stop();
    const err = await failure(client.get('/api/v1/nodes'));
    expect(httpStatusOf(err)).toBeUndefined();
    expect(isNotFound(err)).toBe(false);
    expect(describeError(err)).toMatch(/ECONNREFUSED/);
    client.transport.close?.();
  });
});

describe('KubeClient on a KubeConfig', () => {
  it('refuses a kubeconfig without a current cluster at once, as before', () => {
    expect(() => new KubeClient(new KubeConfig())).toThrow('Kubeconfig has no current cluster');
  });
});
