import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';
import { CHART_DIR, helm, parseManifests, templateArgs } from './helm.js';
import type { RenderedObject } from './helm.js';

/**
 * The real `helm install`, `upgrade`, `history` and `uninstall` against the API emulator, with Helm's
 * default release storage (Secrets, which Helm's typed client sends as protobuf): Helm creates the
 * namespace, the CRDs from `crds/` and every templated object through the API, as on a cluster. Default
 * values: the optional Prometheus Operator objects need that operator's CRDs, which Helm rightly refuses
 * to install without.
 */

// Real helm; the machine may be busy.
jest.setTimeout(120_000);

const NAMESPACE = 'thinpool-system';
const RELEASE = 'thinpool-operator';

let api: RunningApiServer;
let kubeconfig: string;
let rendered: RenderedObject[];

async function helmAt(args: string[]) {
  return helm([...args, '--kubeconfig', kubeconfig]);
}

/** The object as the emulator stores it, or undefined. */
function stored(object: Pick<RenderedObject, 'apiVersion' | 'kind' | 'metadata'>) {
  const type = api.server.store.typeOfKind(object.apiVersion, object.kind);
  if (!type) throw new Error(`The emulator does not serve ${object.apiVersion} ${object.kind}`);
  const namespace = type.namespaced ? (object.metadata.namespace ?? NAMESPACE) : undefined;
  const found = api.server.store.find(type, namespace, object.metadata.name);
  return found ? (JSON.parse(found.json) as RenderedObject & { spec?: unknown }) : undefined;
}

/** Helm's release records, read back through the API as Helm does (label selector). */
async function releaseSecrets(): Promise<{ name: string; status?: string }[]> {
  const core = api.kubeConfig().makeApiClient(k8s.CoreV1Api);
  const list = await core.listNamespacedSecret({ namespace: NAMESPACE, labelSelector: 'owner=helm' });
  return list.items.map((s) => ({ name: s.metadata?.name ?? '', status: s.metadata?.labels?.status }));
}

beforeAll(async () => {
  api = await startApiServer();
  kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'thinpool-helm-install-')), 'kubeconfig');
  await api.writeKubeconfig(kubeconfig);
  const template = await helm([
    ...templateArgs({ release: RELEASE, namespace: NAMESPACE }),
    '--include-crds',
  ]);
  expect(template.exitCode).toBe(0);
  rendered = parseManifests(template.stdout);
});

afterAll(async () => {
  await api?.stop();
});

describe('helm install, upgrade and uninstall against the API emulator', () => {
  it('installs: the namespace, the CRDs first, then every rendered object, and the release record', async () => {
    const install = await helmAt([
      'install',
      RELEASE,
      CHART_DIR,
      '--namespace',
      NAMESPACE,
      '--create-namespace',
    ]);
    expect(install.stderr).toBe('');
    expect(install.exitCode).toBe(0);
    expect(install.stdout).toContain('STATUS: deployed');

    expect(stored({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } })).toBeDefined();
    const missing = rendered.filter((o) => !stored(o)).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(missing).toEqual([]);
    const creates = api.requestLog.entries().filter((e) => e.verb === 'create');
    const firstCrd = creates.findIndex((e) => e.resource === 'customresourcedefinitions');
    const firstTemplated = creates.findIndex(
      (e) => !['customresourcedefinitions', 'namespaces', 'secrets'].includes(e.resource),
    );
    expect(firstCrd).toBeGreaterThanOrEqual(0);
    expect(firstCrd).toBeLessThan(firstTemplated);
    expect(creates.filter((e) => e.status !== 201)).toEqual([]);
    expect(await releaseSecrets()).toEqual([
      { name: `sh.helm.release.v1.${RELEASE}.v1`, status: 'deployed' },
    ]);

    const deployment = rendered.find((o) => o.kind === 'Deployment')!;
    expect(stored(deployment)?.spec).toMatchObject(deployment.spec as object);
    for (const object of rendered.filter((o) => o.kind !== 'CustomResourceDefinition')) {
      expect({ object: `${object.kind}/${object.metadata.name}`, ...stored(object)?.metadata }).toMatchObject(
        {
          annotations: { 'meta.helm.sh/release-name': RELEASE, 'meta.helm.sh/release-namespace': NAMESPACE },
        },
      );
    }
  });

  it('upgrades with a changed value: the Deployment changes, revision 1 is superseded', async () => {
    const upgrade = await helmAt([
      'upgrade',
      RELEASE,
      CHART_DIR,
      '--namespace',
      NAMESPACE,
      '--set',
      'operator.replicas=3',
    ]);
    expect(upgrade.stderr).toBe('');
    expect(upgrade.exitCode).toBe(0);
    const deployment = rendered.find((o) => o.kind === 'Deployment')!;
    expect((stored(deployment)?.spec as { replicas: number }).replicas).toBe(3);
    expect(await releaseSecrets()).toEqual([
      { name: `sh.helm.release.v1.${RELEASE}.v1`, status: 'superseded' },
      { name: `sh.helm.release.v1.${RELEASE}.v2`, status: 'deployed' },
    ]);
    const history = await helmAt(['history', RELEASE, '--namespace', NAMESPACE, '--output', 'json']);
    expect(history.exitCode).toBe(0);
    expect(
      (JSON.parse(history.stdout) as { revision: number; status: string }[]).map((r) => r.status),
    ).toEqual(['superseded', 'deployed']);
  });

  it('uninstalls: every templated object and the release records go, the CRDs stay (Helm never deletes them)', async () => {
    const uninstall = await helmAt(['uninstall', RELEASE, '--namespace', NAMESPACE]);
    expect(uninstall.stderr).toBe('');
    expect(uninstall.exitCode).toBe(0);
    await api.settle();
    const left = rendered
      .filter((o) => o.kind !== 'CustomResourceDefinition' && stored(o))
      .map((o) => `${o.kind}/${o.metadata.name}`);
    expect(left).toEqual([]);
    expect(await releaseSecrets()).toEqual([]);
    const crds = rendered.filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds.length).toBeGreaterThan(0);
    expect(crds.every((o) => stored(o))).toBe(true);
  });
});
