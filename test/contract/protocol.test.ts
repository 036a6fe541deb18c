/**
 * Contract: protocol details clients depend on, over plain HTTP and through the CLI: discovery, Table and
 * PartialObjectMetadata negotiation (list and watch), Warning headers, selectableFields, deletecollection,
 * and `cli.ts` printing `ready <url>` and writing a kubeconfig.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { parse } from 'yaml';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';
import { FIXTURE_CRDS, TP, WIDGET, thinPool } from './helpers.js';

const TABLE =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('protocol details of the emulator', () => {
  let api: RunningApiServer;
  let custom: k8s.CustomObjectsApi;
  let core: k8s.CoreV1Api;

  beforeAll(async () => {
    api = await startApiServer({ crdDir: FIXTURE_CRDS });
    custom = api.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    core = api.kubeConfig().makeApiClient(k8s.CoreV1Api);
  });
  afterAll(() => api.stop());

  it('serves discovery for core, groups and CRDs, with subresources', async () => {
    const groups = (await (await fetch(`${api.url}/apis`)).json()) as {
      groups: { name: string; preferredVersion: { groupVersion: string } }[];
    };
    expect(groups.groups.find((g) => g.name === 'thinpool.dev')?.preferredVersion.groupVersion).toBe(
      'thinpool.dev/v1alpha1',
    );
    const core = (await (await fetch(`${api.url}/api/v1`)).json()) as {
      resources: { name: string; group?: string; kind: string }[];
    };
    expect(core.resources.find((r) => r.name === 'pods/eviction')).toMatchObject({
      group: 'policy',
      kind: 'Eviction',
    });
    const tp = (await (await fetch(`${api.url}/apis/thinpool.dev/v1alpha1`)).json()) as {
      resources: { name: string; shortNames?: string[]; namespaced: boolean }[];
    };
    expect(tp.resources.map((r) => r.name)).toEqual(['thinpools', 'thinpools/status']);
    expect(tp.resources[0]).toMatchObject({ shortNames: ['ltp'], namespaced: false });
    expect((await fetch(`${api.url}/apis/nope.dev/v1`)).status).toBe(404);
    const version = (await (await fetch(`${api.url}/version`)).json()) as { major: string; minor: string };
    expect(version).toMatchObject({ major: '1', minor: '32' });
  });

  it('prints a Table with the CRD columns and PartialObjectMetadata lists when asked', async () => {
    await custom.createClusterCustomObject({
      ...TP,
      body: thinPool('tbl', { devices: [{ path: '/dev/sdb' }] }),
    });
    const table = (await (
      await fetch(`${api.url}/apis/thinpool.dev/v1alpha1/thinpools`, { headers: { Accept: TABLE } })
    ).json()) as {
      kind: string;
      columnDefinitions: { name: string; type: string }[];
      rows: { cells: unknown[]; object: { kind: string; metadata: { name: string } } }[];
    };
    expect(table.kind).toBe('Table');
    expect(table.columnDefinitions.map((c) => c.name)).toEqual([
      'Name',
      'VG',
      'Pool',
      'Ready',
      'Nodes',
      'Age',
    ]);
    expect(table.rows[0].cells.slice(0, 5)).toEqual(['tbl', 'docker', 'thinpool', null, null]);
    expect(table.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'tbl' } });
    const partial = (await (
      await fetch(`${api.url}/apis/thinpool.dev/v1alpha1/thinpools`, {
        headers: { Accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' },
      })
    ).json()) as { kind: string; items: { metadata: { name: string }; spec?: unknown }[] };
    expect(partial.kind).toBe('PartialObjectMetadataList');
    expect(partial.items[0].spec).toBeUndefined();
  });

  it('streams Table rows on a watch that asks for them, column definitions first', async () => {
    const rv = api.server.store.resourceVersion;
    await custom.patchClusterCustomObject(
      { ...TP, name: 'tbl', body: { spec: { thinPoolName: 'pool2' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await custom.patchClusterCustomObject(
      { ...TP, name: 'tbl', body: { spec: { thinPoolName: 'pool3' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const response = await fetch(
      `${api.url}/apis/thinpool.dev/v1alpha1/thinpools?watch=true&resourceVersion=${rv}&timeoutSeconds=1`,
      {
        headers: { Accept: TABLE },
      },
    );
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            type: string;
            object: { kind: string; columnDefinitions: unknown[]; rows: { cells: unknown[] }[] };
          },
      );
    expect(lines.map((l) => `${l.type}:${l.object.kind}`)).toEqual(['MODIFIED:Table', 'MODIFIED:Table']);
    expect(lines[0].object.columnDefinitions).toHaveLength(6);
    expect(lines[1].object.columnDefinitions).toEqual([]);
    expect(lines[1].object.rows[0].cells[2]).toBe('pool3');
  });

  it('warns about unknown fields by default with a Warning header, and drops them', async () => {
    const response = await fetch(`${api.url}/apis/thinpool.dev/v1alpha1/thinpools`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(thinPool('warned', { extra: 1 })),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('warning')).toBe('299 - "unknown field \\"spec.extra\\""');
    expect(((await response.json()) as { spec: Record<string, unknown> }).spec.extra).toBeUndefined();
  });

  it('filters custom resources by their selectableFields and deletes collections by selector', async () => {
    for (const [name, color] of [
      ['red-1', 'red'],
      ['red-2', 'red'],
      ['blue-1', 'blue'],
    ]) {
      await custom.createNamespacedCustomObject({
        ...WIDGET,
        namespace: 'default',
        body: {
          apiVersion: 'test.thinpool.dev/v1',
          kind: 'Widget',
          metadata: { name, labels: { color } },
          spec: { color },
        },
      });
    }
    const red = (await custom.listNamespacedCustomObject({
      ...WIDGET,
      namespace: 'default',
      fieldSelector: 'spec.color=red',
    })) as { items: { metadata: { name: string } }[] };
    expect(red.items.map((i) => i.metadata.name)).toEqual(['red-1', 'red-2']);
    await custom.deleteCollectionNamespacedCustomObject({
      ...WIDGET,
      namespace: 'default',
      labelSelector: 'color=red',
    });
    const left = (await custom.listNamespacedCustomObject({ ...WIDGET, namespace: 'default' })) as {
      items: { metadata: { name: string } }[];
    };
    expect(left.items.map((i) => i.metadata.name)).toEqual(['blue-1']);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'dry' } },
      dryRun: 'All',
    });
    expect((await core.listNamespacedConfigMap({ namespace: 'default' })).items).toEqual([]);
  });

  it('runs from the CLI: prints "ready <url>", writes a kubeconfig, serves the CRDs, stops on SIGTERM', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'emulator-cli-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    // node --import tsx runs the CLI as one process, so SIGTERM reaches the server itself.
    const child = execa(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/support/kube-apiserver/cli.ts',
        '--port',
        '0',
        '--crds',
        FIXTURE_CRDS,
        '--kubeconfig-out',
        kubeconfig,
      ],
      { cwd: REPO, reject: false, timeout: 30_000 },
    );
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', () => reject(new Error('The CLI exited before it was ready')));
      });
      const match = /^ready (http:\/\/127\.0\.0\.1:\d+)$/.exec(firstLine);
      expect(match).not.toBeNull();
      const written = parse(await readFile(kubeconfig, 'utf8')) as {
        clusters: { cluster: { server: string } }[];
      };
      expect(written.clusters[0].cluster.server).toBe(match?.[1]);
      const crds = (await (
        await fetch(`${match?.[1]}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`)
      ).json()) as { items: unknown[] };
      expect(crds.items).toHaveLength(2);
    } finally {
      child.kill('SIGTERM');
      const result = await child;
      await rm(dir, { recursive: true, force: true });
      expect(result.exitCode === 0 || result.signal === 'SIGTERM').toBe(true);
    }
  }, 60_000);
});
