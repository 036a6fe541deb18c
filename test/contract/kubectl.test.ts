/**
 * Contract: the real kubectl binary against the emulator: apply of the project's CRDs and an example
 * ThinPool, `get` with the CRD's printer columns (server-side Table), `describe` with Events, `delete`
 * waiting on a finalizer, and `cordon`/`drain` (strategic merge and eviction).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { parse } from 'yaml';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';
import { TP, eventually, kubectlIn } from './helpers.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

describe('kubectl against the emulator', () => {
  let api: RunningApiServer;
  let home: string;
  let custom: k8s.CustomObjectsApi;
  let core: k8s.CoreV1Api;

  const kubectl = (...args: string[]) => kubectlIn(home, REPO)(...args);

  beforeAll(async () => {
    api = await startApiServer();
    home = await mkdtemp(path.join(tmpdir(), 'kubectl-contract-'));
    await api.writeKubeconfig(path.join(home, 'kubeconfig'));
    custom = api.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    core = api.kubeConfig().makeApiClient(k8s.CoreV1Api);
  });
  afterAll(async () => {
    await api.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('applies the CRDs from crds/ (created, then unchanged)', async () => {
    const first = await kubectl('apply', '-f', 'crds/');
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain(
      'customresourcedefinition.apiextensions.k8s.io/thinpools.thinpool.dev created',
    );
    expect(first.exitCode).toBe(0);
    const again = await kubectl('apply', '-f', 'crds/');
    expect(again.stdout).toContain(
      'customresourcedefinition.apiextensions.k8s.io/thinpools.thinpool.dev unchanged',
    );
    const established = await kubectl(
      'wait',
      '--for=condition=Established',
      'crd/thinpools.thinpool.dev',
      '--timeout=10s',
    );
    expect(established.stdout).toContain('condition met');
  });

  it('applies an example ThinPool, defaulted by the CRD schema, and re-applies it unchanged', async () => {
    const created = await kubectl('apply', '-f', 'examples/thinpool-direct-lvm.yaml');
    expect(created.stderr).toBe('');
    expect(created.stdout).toBe('thinpool.thinpool.dev/direct-lvm created');
    const again = await kubectl('apply', '-f', 'examples/thinpool-direct-lvm.yaml');
    expect(again.stdout).toBe('thinpool.thinpool.dev/direct-lvm unchanged');
    const stored = (await custom.getClusterCustomObject({ ...TP, name: 'direct-lvm' })) as {
      spec: Record<string, unknown>;
    };
    expect(stored.spec.volumeGroup).toBe('docker');
  });

  it('refuses an invalid ThinPool with the 422 message', async () => {
    const bad = execa('kubectl', ['apply', '-f', '-'], {
      cwd: REPO,
      reject: false,
      input:
        'apiVersion: thinpool.dev/v1alpha1\nkind: ThinPool\nmetadata:\n  name: bad\nspec:\n  dataPercent: 500\n  devices: [{path: /dev/sdb}]\n',
      env: { KUBECONFIG: path.join(home, 'kubeconfig'), HOME: home },
      extendEnv: false,
    });
    const result = await bad;
    expect(result.exitCode).toBe(1);
    // kubectl renders the 422 Status from its details: kind, name and one line per cause.
    expect(result.stderr).toContain('The ThinPool "bad" is invalid:');
    expect(result.stderr).toContain(
      '* spec.dataPercent: Invalid value: 500: spec.dataPercent in body should be less than or equal to 99',
    );
  });

  it('prints the printer columns of the CRD (server-side Table)', async () => {
    await custom.patchClusterCustomObjectStatus(
      {
        ...TP,
        name: 'direct-lvm',
        body: {
          status: {
            nodes: { desired: 3, ready: 2, failed: 1 },
            conditions: [
              {
                type: 'Ready',
                status: 'False',
                reason: 'NodesFailing',
                message: '1 node failing',
                lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
              },
            ],
          },
        },
      },
      merge,
    );
    const table = await kubectl('get', 'thinpools');
    expect(table.exitCode).toBe(0);
    const [header, row] = table.stdout.split('\n');
    // The expected header comes from the CRD itself, so the test follows the API's column choices.
    const crd = parse(await readFile(path.join(REPO, 'crds', 'thinpool.dev_thinpools.yaml'), 'utf8')) as {
      spec: {
        versions: { additionalPrinterColumns: { name: string; jsonPath: string; priority?: number }[] }[];
      };
    };
    const columns = crd.spec.versions[0].additionalPrinterColumns.filter((c) => !c.priority);
    expect(header.split(/\s{2,}/)).toEqual(['NAME', ...columns.map((c) => c.name.toUpperCase())]);
    // kubectl aligns every cell under its header: cut the row at the header's column starts.
    const starts = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => m.index ?? 0);
    const cells = starts.map((start, i) => row.slice(start, starts[i + 1]).trim());
    const cellOf = (jsonPath: string): string | undefined =>
      cells[1 + columns.findIndex((c) => c.jsonPath === jsonPath)];
    expect(cells[0]).toBe('direct-lvm');
    expect(cellOf('.status.nodes.desired')).toBe('3');
    expect(cellOf('.status.nodes.ready')).toBe('2');
    expect(cellOf('.status.conditions[?(@.type=="Ready")].status')).toBe('False');
    expect(cellOf('.metadata.creationTimestamp') ?? cells[cells.length - 1]).toMatch(/^\d+s$/);
    const wide = await kubectl('get', 'thinpools', '-o', 'wide');
    const hidden = crd.spec.versions[0].additionalPrinterColumns.filter((c) => c.priority);
    for (const column of hidden) expect(wide.stdout.split('\n')[0]).toContain(column.name.toUpperCase());
  });

  it('describes a ThinPool with its Events', async () => {
    const pool = (await custom.getClusterCustomObject({ ...TP, name: 'direct-lvm' })) as {
      metadata: { uid: string };
    };
    await api
      .kubeConfig()
      .makeApiClient(k8s.EventsV1Api)
      .createNamespacedEvent({
        namespace: 'default',
        body: {
          metadata: { generateName: 'direct-lvm.' },
          eventTime: new k8s.V1MicroTime(),
          reportingController: 'thinpool.dev/operator',
          reportingInstance: 'operator-0',
          action: 'Reconcile',
          reason: 'NodesFailing',
          note: 'Observed thin pool failing on 1 node',
          type: 'Warning',
          regarding: {
            apiVersion: 'thinpool.dev/v1alpha1',
            kind: 'ThinPool',
            name: 'direct-lvm',
            uid: pool.metadata.uid,
          },
        },
      });
    const described = await kubectl('describe', 'thinpool', 'direct-lvm');
    expect(described.exitCode).toBe(0);
    expect(described.stdout).toMatch(/^Name:\s+direct-lvm$/m);
    expect(described.stdout).toMatch(/Volume Group:\s+docker/);
    expect(described.stdout).toMatch(/Warning\s+NodesFailing\s+.*Observed thin pool failing on 1 node/);
  });

  it('deletes a ThinPool only once its finalizer is removed, kubectl waiting meanwhile', async () => {
    await custom.patchClusterCustomObject(
      { ...TP, name: 'direct-lvm', body: { metadata: { finalizers: ['thinpool.dev/cleanup'] } } },
      merge,
    );
    const deleting = kubectl('delete', 'thinpool', 'direct-lvm', '--timeout=30s');
    await eventually(
      async () =>
        (
          (await custom.getClusterCustomObject({ ...TP, name: 'direct-lvm' })) as {
            metadata: { deletionTimestamp?: string };
          }
        ).metadata.deletionTimestamp,
      'the deletion mark',
    );
    await eventually(
      () => api.requestLog.count({ verb: 'watch', resource: 'thinpools' }) > 0,
      'kubectl to watch for the deletion',
    );
    expect(deleting.exitCode).toBeNull();
    await custom.patchClusterCustomObject(
      { ...TP, name: 'direct-lvm', body: { metadata: { finalizers: null } } },
      merge,
    );
    const result = await deleting;
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('thinpool.thinpool.dev "direct-lvm" deleted');
    expect((await kubectl('get', 'thinpools')).stderr).toBe('No resources found');
  });

  it('cordons and drains a node: strategic merge of spec.unschedulable, then evictions', async () => {
    await core.createNode({
      body: { metadata: { name: 'worker-1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
    });
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'busy' },
        spec: { nodeName: 'worker-1', containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    const cordon = await kubectl('cordon', 'worker-1');
    expect(cordon.stdout).toBe('node/worker-1 cordoned');
    expect((await kubectl('get', 'nodes')).stdout).toMatch(/worker-1\s+Ready,SchedulingDisabled/);
    api.requestLog.reset();
    const drain = await kubectl('drain', 'worker-1', '--force', '--timeout=30s');
    expect(drain.stderr).not.toContain('error');
    expect(drain.exitCode).toBe(0);
    expect(drain.stdout).toContain('pod/busy evicted');
    expect(api.requestLog.count({ verb: 'create', resource: 'pods', subresource: 'eviction' })).toBe(1);
  });
});
