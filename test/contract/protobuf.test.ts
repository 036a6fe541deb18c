/**
 * Contract: bodies client-go's typed clients send as protobuf (`application/vnd.kubernetes.protobuf`), sent
 * here by the real kubectl: `create namespace`, `create secret`, `create configmap`, and a delete with its
 * DeleteOptions. The emulator decodes them into the same objects a JSON client would have created; a kind
 * it cannot decode is refused with 415, never stored half-read.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';
import { PROTOBUF_MEDIA_TYPE, decodeKubernetesProtobuf } from '../support/kube-apiserver/protobuf.js';
import { kubectlIn } from './helpers.js';

describe('protobuf request bodies', () => {
  let api: RunningApiServer;
  let home: string;
  let core: k8s.CoreV1Api;

  const kubectl = (...args: string[]) => kubectlIn(home)(...args);

  beforeAll(async () => {
    api = await startApiServer();
    home = await mkdtemp(path.join(tmpdir(), 'protobuf-contract-'));
    await api.writeKubeconfig(path.join(home, 'kubeconfig'));
    core = api.kubeConfig().makeApiClient(k8s.CoreV1Api);
  });
  afterAll(async () => {
    await api.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('creates a namespace, a secret and a config map that kubectl sends as protobuf', async () => {
    api.requestLog.reset();
    const namespace = await kubectl('create', 'namespace', 'team-a');
    expect(namespace.stderr).toBe('');
    expect(namespace.stdout).toBe('namespace/team-a created');
    const secret = await kubectl(
      'create',
      'secret',
      'generic',
      'creds',
      '-n',
      'team-a',
      '--from-literal=user=admin',
      '--from-literal=password=s3cr:t\n',
    );
    expect(secret.stderr).toBe('');
    const configMap = await kubectl(
      'create',
      'configmap',
      'settings',
      '-n',
      'team-a',
      '--from-literal=mode=fast',
      '--from-literal=empty=',
    );
    expect(configMap.stderr).toBe('');
    const creates = api.requestLog.entries().filter((e) => e.verb === 'create');
    expect(creates.map((e) => [e.resource, e.contentType, e.status])).toEqual([
      ['namespaces', PROTOBUF_MEDIA_TYPE, 201],
      ['secrets', PROTOBUF_MEDIA_TYPE, 201],
      ['configmaps', PROTOBUF_MEDIA_TYPE, 201],
    ]);

    const ns = await core.readNamespace({ name: 'team-a' });
    expect(ns.status?.phase).toBe('Active');
    expect(ns.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const stored = await core.readNamespacedSecret({ name: 'creds', namespace: 'team-a' });
    expect(stored.type).toBe('Opaque');
    expect(Buffer.from(stored.data?.password ?? '', 'base64').toString()).toBe('s3cr:t\n');
    expect(Buffer.from(stored.data?.user ?? '', 'base64').toString()).toBe('admin');
    const cm = await core.readNamespacedConfigMap({ name: 'settings', namespace: 'team-a' });
    expect(cm.data).toEqual({ mode: 'fast', empty: '' });
  });

  it('reads the DeleteOptions of a protobuf delete', async () => {
    const deleted = await kubectl('delete', 'secret', 'creds', '-n', 'team-a', '--cascade=orphan');
    expect(deleted.stderr).toBe('');
    expect(deleted.stdout).toBe('secret "creds" deleted');
    await expect(core.readNamespacedSecret({ name: 'creds', namespace: 'team-a' })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('refuses with 415 a protobuf body of a kind it does not decode, storing nothing', async () => {
    // runtime.Unknown{typeMeta{apiVersion: "v1", kind: "Pod"}, raw: ObjectMeta{name: "p"}} after the magic.
    const typeMeta = Buffer.concat([
      Buffer.from([0x0a, 2]),
      Buffer.from('v1'),
      Buffer.from([0x12, 3]),
      Buffer.from('Pod'),
    ]);
    const raw = Buffer.from([0x0a, 3, 0x0a, 1, 0x70]);
    const body = Buffer.concat([
      Buffer.from('k8s\0'),
      Buffer.from([0x0a, typeMeta.length]),
      typeMeta,
      Buffer.from([0x12, raw.length]),
      raw,
    ]);
    expect(() => decodeKubernetesProtobuf(body)).toThrow(/not v1\/Pod/);
    const response = await fetch(`${api.url}/api/v1/namespaces/team-a/pods`, {
      method: 'POST',
      headers: { 'Content-Type': PROTOBUF_MEDIA_TYPE },
      body,
    });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { reason: string }).reason).toBe('UnsupportedMediaType');
    const pods = await core.listNamespacedPod({ namespace: 'team-a' });
    expect(pods.items).toEqual([]);
  });

  it('refuses a body without the protobuf magic number', async () => {
    const response = await fetch(`${api.url}/api/v1/namespaces`, {
      method: 'POST',
      headers: { 'Content-Type': PROTOBUF_MEDIA_TYPE },
      body: Buffer.from('{"metadata":{"name":"x"}}'),
    });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { message: string }).message).toMatch(/magic number/);
  });
});
