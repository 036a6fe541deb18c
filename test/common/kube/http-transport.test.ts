/**
 * The agent's node:http transport on what only it does (the behaviour it shares with client-node's is in
 * test/operator/kube-client.test.ts and informer.test.ts): TLS with a CA, bearer tokens re-read from a
 * rotating file, client certificates, the watch stream's line framing, HTTP errors of a watch, aborting a
 * watch, and requests that get no answer.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { httpStatusOf, KubeApiError } from '../../../common/kube/errors.js';
import { HttpTransport } from '../../../common/kube/http-transport.js';
import { fileTokenSource, staticTokenSource } from '../../../common/kube/token-source.js';
import { KubeClient } from '../../../common/kube/kube-client.js';
import { startApiServer, type RunningApiServer } from '../../support/kube-apiserver/index.js';
import {
  makeCertificates,
  startTlsProxy,
  type TestCertificates,
  type TlsProxy,
} from './support/tls-proxy.js';

async function failure(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (err) {
    return err;
  }
  throw new Error('Expected the call to fail');
}

/** Collects a watch's events until `done`. */
function collectWatch(transport: HttpTransport, path: string, query: Record<string, string> = {}) {
  const events: Array<{ type: string; object: unknown }> = [];
  let controller!: Promise<AbortController>;
  const ended = new Promise<unknown>((resolve) => {
    controller = transport.watch(path, query, (type, object) => events.push({ type, object }), resolve);
  });
  return { events, ended, controller };
}

describe('HttpTransport over TLS', () => {
  let api: RunningApiServer;
  let certs: TestCertificates;
  let proxy: TlsProxy;
  let dir: string;

  beforeAll(async () => {
    api = await startApiServer();
    certs = await makeCertificates();
    proxy = await startTlsProxy(api.url, certs);
    dir = mkdtempSync(path.join(tmpdir(), 'thinpool-token-'));
  });

  afterAll(async () => {
    await proxy?.stop();
    await api?.stop();
    certs?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('trusts the server through the CA it was given, and refuses it without', async () => {
    const trusted = new HttpTransport({ server: proxy.url, ca: readFileSync(certs.caFile) });
    const client = new KubeClient(trusted);
    const namespace = await client.get<{ metadata: { name: string } }>('/api/v1/namespaces/default');
    expect(namespace.metadata.name).toBe('default');
    trusted.close();

    const untrusted = new HttpTransport({ server: proxy.url });
    const err = await failure(new KubeClient(untrusted).get('/api/v1/namespaces/default'));
    expect(httpStatusOf(err)).toBeUndefined();
    expect(String((err as Error).message)).toMatch(/certificate/i);
    untrusted.close();

    const insecure = new HttpTransport({ server: proxy.url, insecureSkipTlsVerify: true });
    await expect(new KubeClient(insecure).get('/api/v1/namespaces/default')).resolves.toBeDefined();
    insecure.close();
  });

  it('checks the certificate against tls-server-name when the URL names a host it does not carry', async () => {
    const mismatched = new HttpTransport({
      server: proxy.url.replace('127.0.0.1', 'localhost'),
      ca: readFileSync(certs.caFile),
    });
    const err = await failure(new KubeClient(mismatched).get('/api/v1/namespaces/default'));
    expect((err as Error).message).toMatch(/localhost/);
    mismatched.close();
    const named = new HttpTransport({
      server: proxy.url.replace('127.0.0.1', 'localhost'),
      ca: readFileSync(certs.caFile),
      tlsServerName: 'kubernetes.default.svc',
    });
    await expect(new KubeClient(named).get('/api/v1/namespaces/default')).resolves.toBeDefined();
    named.close();
  });

  it('presents the client certificate it was given', async () => {
    const transport = new HttpTransport({
      server: proxy.url,
      ca: readFileSync(certs.caFile),
      clientCertificate: readFileSync(certs.clientCertFile),
      clientKey: readFileSync(certs.clientKeyFile),
    });
    await new KubeClient(transport).get('/api/v1/namespaces/default');
    expect(proxy.seen.at(-1)?.clientCommonName).toBe('thinpool-agent');
    transport.close();
  });

  it('sends the bearer token on requests and watches, and re-reads a rotated token file', async () => {
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 'first-token\n');
    let now = 0;
    const transport = new HttpTransport({
      server: proxy.url,
      ca: readFileSync(certs.caFile),
      tokenSource: fileTokenSource(tokenFile, { refreshMs: 60_000, now: () => now }),
    });
    const client = new KubeClient(transport);
    proxy.requireToken('first-token');
    await client.get('/api/v1/namespaces/default');
    expect(proxy.seen.at(-1)?.authorization).toBe('Bearer first-token');

    // The kubelet rotated the token; within the refresh period the one in hand is still sent.
    writeFileSync(tokenFile, 'second-token\n');
    now = 30_000;
    await client.get('/api/v1/namespaces/default');
    expect(proxy.seen.at(-1)?.authorization).toBe('Bearer first-token');

    proxy.requireToken('second-token');
    now = 61_000;
    await client.get('/api/v1/namespaces/default');
    expect(proxy.seen.at(-1)?.authorization).toBe('Bearer second-token');

    const watch = collectWatch(transport, '/api/v1/namespaces', { timeoutSeconds: '1' });
    await watch.ended;
    expect(proxy.seen.at(-1)?.url).toMatch(/watch=true/);
    expect(proxy.seen.at(-1)?.authorization).toBe('Bearer second-token');
    expect(watch.events.map((e) => e.type)).toContain('ADDED');
    transport.close();
  });

  it('re-reads the token file at once after a 401, so the next request recovers', async () => {
    const tokenFile = path.join(dir, 'token-401');
    writeFileSync(tokenFile, 'old');
    const transport = new HttpTransport({
      server: proxy.url,
      ca: readFileSync(certs.caFile),
      tokenSource: fileTokenSource(tokenFile, { now: () => 0 }),
    });
    const client = new KubeClient(transport);
    proxy.requireToken('old');
    await client.get('/api/v1/namespaces/default');
    writeFileSync(tokenFile, 'new');
    proxy.requireToken('new');
    const rejected = await failure(client.get('/api/v1/namespaces/default'));
    expect(httpStatusOf(rejected)).toBe(401);
    await client.get('/api/v1/namespaces/default');
    expect(proxy.seen.at(-1)?.authorization).toBe('Bearer new');
    proxy.requireToken(undefined);
    transport.close();
  });

  it('reports a token file it cannot read, naming it', async () => {
    const missing = path.join(dir, 'no-such-token');
    const transport = new HttpTransport({ server: proxy.url, tokenSource: fileTokenSource(missing) });
    const err = await failure(new KubeClient(transport).get('/api/v1/namespaces/default'));
    expect((err as Error).message).toContain(`Failed to read the API token file ${missing}`);
    const watch = collectWatch(transport, '/api/v1/namespaces');
    expect(String(await watch.ended)).toContain(missing);
    transport.close();
  });
});

describe('HttpTransport watch streams', () => {
  let server: http.Server;
  let url: string;
  let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = () => {};

  beforeAll(async () => {
    server = http.createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('frames events across chunk boundaries, skips lines that are not JSON, and ends without an error', async () => {
    const seenQueries: string[] = [];
    handler = (req, res) => {
      seenQueries.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const one = JSON.stringify({
        type: 'ADDED',
        object: { metadata: { name: 'a', resourceVersion: '5' } },
      });
      const two = JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '7' } } });
      res.write(one.slice(0, 10));
      setTimeout(() => {
        res.write(`${one.slice(10)}\nnot json\n${two.slice(0, 5)}`);
        setTimeout(() => res.end(`${two.slice(5)}`), 10);
      }, 10);
    };
    const transport = new HttpTransport({ server: url });
    const watch = collectWatch(transport, '/api/v1/nodes', { resourceVersion: '4' });
    expect(await watch.ended).toBeNull();
    expect(watch.events).toEqual([
      { type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '5' } } },
      { type: 'BOOKMARK', object: { metadata: { resourceVersion: '7' } } },
    ]);
    expect(seenQueries).toEqual(['/api/v1/nodes?resourceVersion=4&watch=true']);
    transport.close();
  });

  it('ends a watch answered with an HTTP error with a KubeApiError carrying the Status', async () => {
    handler = (_req, res) => {
      res.writeHead(410, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          status: 'Failure',
          message: 'too old',
          reason: 'Expired',
          code: 410,
        }),
      );
    };
    const transport = new HttpTransport({ server: url });
    const err = await collectWatch(transport, '/api/v1/nodes').ended;
    expect(err).toBeInstanceOf(KubeApiError);
    expect(httpStatusOf(err)).toBe(410);
    expect((err as KubeApiError).body.reason).toBe('Expired');
    expect((err as Error).message).toBe('GET /api/v1/nodes (watch) failed with HTTP 410: too old');
    transport.close();
  });

  it('closes the connection when the watch is aborted, and calls done once', async () => {
    let serverSawClose!: () => void;
    const closed = new Promise<void>((resolve) => (serverSawClose = resolve));
    handler = (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'x' } } })}\n`);
      req.socket.on('close', () => serverSawClose());
    };
    const transport = new HttpTransport({ server: url });
    let doneCalls = 0;
    let firstEvent!: () => void;
    const delivered = new Promise<void>((resolve) => (firstEvent = resolve));
    let doneCalled!: () => void;
    const ended = new Promise<void>((resolve) => (doneCalled = resolve));
    const controller = await transport.watch(
      '/api/v1/nodes',
      {},
      () => firstEvent(),
      () => {
        doneCalls++;
        doneCalled();
      },
    );
    await delivered;
    controller.abort();
    await Promise.all([closed, ended]);
    controller.abort();
    await new Promise((resolve) => setImmediate(resolve));
    expect(doneCalls).toBe(1);
    transport.close();
  });

  it('fails a request that gets no answer within its timeout, naming it', async () => {
    handler = () => {}; // never answers
    const transport = new HttpTransport({ server: url, requestTimeoutMs: 100 });
    const err = await failure(transport.request({ method: 'GET', path: '/api/v1/nodes' }));
    expect((err as Error).message).toBe('GET /api/v1/nodes got no answer within 100 ms');
    expect(httpStatusOf(err)).toBeUndefined();
    transport.close();
  });

  it('sends basic authentication, and a static token before it', async () => {
    const authorizations: Array<string | undefined> = [];
    handler = (req, res) => {
      authorizations.push(req.headers.authorization);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    };
    const basic = new HttpTransport({ server: url, basicAuth: { username: 'admin', password: 'secret' } });
    await basic.request({ method: 'GET', path: '/api' });
    const both = new HttpTransport({
      server: url,
      basicAuth: { username: 'admin', password: 'secret' },
      tokenSource: staticTokenSource('t0k3n'),
    });
    await both.request({ method: 'GET', path: '/api' });
    expect(authorizations).toEqual([
      `Basic ${Buffer.from('admin:secret').toString('base64')}`,
      'Bearer t0k3n',
    ]);
    basic.close();
    both.close();
  });

  it('rejects a server URL that is not http or https', () => {
    expect(() => new HttpTransport({ server: 'ftp://example' })).toThrow(
      'API server URL "ftp://example" must start with https:// or http://',
    );
    expect(() => new HttpTransport({ server: 'not a url' })).toThrow('is not a valid URL');
  });
});
