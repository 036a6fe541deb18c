import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execa, type ResultPromise } from 'execa';
import { stringify } from 'yaml';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';
import { toolPath } from '../tools/tools.js';
import { REPO_ROOT, findOne, helm, parseManifests, renderChart, templateArgs } from './helm.js';
import type { RenderedObject } from './helm.js';
import { authorized, callOf, describeRequest, type PolicyRule } from './rbac.js';

/**
 * `helm template | kubectl apply` against the API emulator, then the operator started exactly as the
 * rendered Deployment says (command, args, env), as a kubelet would: it must come up, lead, and turn a
 * ThinPool into the agent DaemonSet the chart's Services and monitors expect, using only the API calls the
 * chart's RBAC grants it.
 */

// Real helm, kubectl and an operator process; the machine may be busy.
jest.setTimeout(180_000);

const NAMESPACE = 'thinpool-system';
const RELEASE = 'thinpool-operator';
const NODE_NAME = 'worker-1';
/** A second node whose agent created its ThinPoolNode before the operator saw the ThinPool. */
const EARLY_NODE_NAME = 'worker-2';

interface Container {
  command: string[];
  args: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function poll<T>(what: string, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function httpGet(url: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const response = await fetch(url);
    return { status: response.status, body: await response.text() };
  } catch {
    return undefined;
  }
}

describe('the rendered chart applied with kubectl to the API emulator', () => {
  let api: RunningApiServer;
  let kubeconfig: string;
  let operator: ResultPromise | undefined;
  let metricsPort: number;
  let healthPort: number;
  let rendered: RenderedObject[];
  let exampleRender: RenderedObject[];
  let example: RenderedObject;

  const kubectl = (args: string[], input?: string) =>
    execa(toolPath('kubectl'), ['--kubeconfig', kubeconfig, ...args], { input, reject: false });

  const stored = (
    group: string,
    version: string,
    resource: string,
    namespace: string | undefined,
    name: string,
  ) => {
    const type = api.server.store.mustFind(group, version, resource);
    const found = api.server.store.find(type, namespace, name);
    return found ? (JSON.parse(found.json) as RenderedObject) : undefined;
  };

  beforeAll(async () => {
    api = await startApiServer();
    kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'thinpool-emulator-')), 'kubeconfig');
    await api.writeKubeconfig(kubeconfig);
    [metricsPort, healthPort] = [await freePort(), await freePort()];
    const set = { 'operator.metricsPort': String(metricsPort), 'operator.healthPort': String(healthPort) };

    const namespace = await kubectl(
      ['apply', '-f', '-'],
      stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }),
    );
    expect(namespace.stderr).toBe('');
    const template = await helm([
      ...templateArgs({ release: RELEASE, namespace: NAMESPACE, set }),
      '--include-crds',
    ]);
    expect(template.exitCode).toBe(0);
    rendered = parseManifests(template.stdout);
    const applied = await kubectl(['apply', '-f', '-'], template.stdout);
    expect(applied.stderr).toBe('');
    expect(applied.exitCode).toBe(0);

    // The example ThinPool and a Node it selects, applied before the operator starts, so that every API
    // request logged after the operator's start is the operator's own.
    exampleRender = await renderChart({
      release: RELEASE,
      namespace: NAMESPACE,
      set: { 'exampleThinPool.enabled': 'true', 'podMonitor.enabled': 'true' },
    });
    example = findOne(exampleRender, 'ThinPool');
    const nodeSelector = (example.spec as { nodeSelector: Record<string, string> }).nodeSelector;
    const node = (name: string) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, ...nodeSelector } },
    });
    const earlyThinPoolNode = {
      apiVersion: 'thinpool.dev/v1alpha1',
      kind: 'ThinPoolNode',
      metadata: { name: `${example.metadata.name}.${EARLY_NODE_NAME}` },
      spec: { thinPool: example.metadata.name, nodeName: EARLY_NODE_NAME },
    };
    const appliedExample = await kubectl(
      ['apply', '-f', '-'],
      [node(NODE_NAME), node(EARLY_NODE_NAME), example, earlyThinPoolNode]
        .map((o) => stringify(o))
        .join('---\n'),
    );
    expect(appliedExample.stderr).toBe('');
  });

  afterAll(async () => {
    if (operator && operator.exitCode === undefined) operator.kill('SIGKILL');
    await api?.stop();
  });

  it('creates every rendered object, the CRDs included', async () => {
    for (const object of rendered) {
      const result = await kubectl([
        'get',
        `${object.kind.toLowerCase()}.${object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : ''}`.replace(
          /\.$/,
          '',
        ),
        object.metadata.name,
        ...(object.metadata.namespace ? ['-n', object.metadata.namespace] : []),
        '-o',
        'name',
      ]);
      expect({ object: `${object.kind}/${object.metadata.name}`, stderr: result.stderr }).toEqual({
        object: `${object.kind}/${object.metadata.name}`,
        stderr: '',
      });
    }
  });

  it('brings the operator up from the Deployment as applied: ready, leading, serving metrics', async () => {
    const deployment = await kubectl(['-n', NAMESPACE, 'get', 'deployment', RELEASE, '-o', 'json']);
    const container = (
      JSON.parse(deployment.stdout) as { spec: { template: { spec: { containers: Container[] } } } }
    ).spec.template.spec.containers[0];
    expect(container.command).toEqual(['thinpool-operator']);
    const env: Record<string, string> = { KUBECONFIG: kubeconfig, PATH: process.env.PATH ?? '' };
    for (const variable of container.env) {
      const fieldPath = variable.valueFrom?.fieldRef.fieldPath;
      if (fieldPath === 'metadata.namespace') env[variable.name] = NAMESPACE;
      else if (fieldPath === 'metadata.name') env[variable.name] = `${RELEASE}-7d9f8b6c5-x2x4q`;
      else env[variable.name] = variable.value ?? '';
    }
    env.LOG_LEVEL = 'silent';

    // The kubectl applies above are done: from here on every API request comes from the operator.
    api.requestLog.reset();
    // package.json maps the thinpool-operator command to dist/operator/main.js, built from operator/main.ts.
    // One node process with tsx's loader, not the tsx CLI: the CLI runs the program in a child and relays
    // signals to it, so the SIGTERM below would be answered by the relay, not by the operator alone.
    operator = execa(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'operator', 'main.ts'), ...container.args],
      {
        env,
        extendEnv: false,
        reject: false,
      },
    );

    const ready = await poll('the operator /readyz to answer 200', async () => {
      if (operator?.exitCode !== undefined && operator.exitCode !== null)
        throw new Error(`The operator exited with ${operator.exitCode}`);
      const response = await httpGet(`http://127.0.0.1:${healthPort}/readyz`);
      return response?.status === 200 ? response : undefined;
    });
    expect(ready.body).toBe('ok\n');
    expect((await httpGet(`http://127.0.0.1:${healthPort}/healthz`))?.status).toBe(200);
    const metrics = await poll('the operator to lead', async () => {
      const response = await httpGet(`http://127.0.0.1:${metricsPort}/metrics`);
      return response?.body.includes('\nthinpool_operator_leader 1\n') ? response.body : undefined;
    });
    expect(metrics).toContain('# TYPE thinpool_operator_reconcile_total counter');
    const lease = stored('coordination.k8s.io', 'v1', 'leases', NAMESPACE, 'thinpool-operator-leader') as
      { spec: { holderIdentity: string } } | undefined;
    expect(lease?.spec.holderIdentity).toMatch(/\S/);
  });

  it('turns the example ThinPool applied beforehand into an agent DaemonSet that the chart ServiceAccount, Service and PodMonitor fit', async () => {
    const daemonSetName = `thinpool-agent-${example.metadata.name}`;
    const daemonSet = await poll('the agent DaemonSet', () =>
      stored('apps', 'v1', 'daemonsets', NAMESPACE, daemonSetName),
    );
    await poll('the ThinPoolNode of the node', () =>
      stored('thinpool.dev', 'v1alpha1', 'thinpoolnodes', undefined, `${example.metadata.name}.${NODE_NAME}`),
    );
    await poll('the adoption of the ThinPoolNode the agent created first', () => {
      const early = stored(
        'thinpool.dev',
        'v1alpha1',
        'thinpoolnodes',
        undefined,
        `${example.metadata.name}.${EARLY_NODE_NAME}`,
      );
      const owners = (early?.metadata as { ownerReferences?: { kind: string; name: string }[] } | undefined)
        ?.ownerReferences;
      return owners?.some((o) => o.kind === 'ThinPool' && o.name === example.metadata.name)
        ? early
        : undefined;
    });
    await poll('the finalizer on the ThinPool', () => {
      const pool = stored('thinpool.dev', 'v1alpha1', 'thinpools', undefined, example.metadata.name);
      return (pool?.metadata as { finalizers?: string[] } | undefined)?.finalizers?.includes(
        'thinpool.dev/cleanup',
      )
        ? pool
        : undefined;
    });

    const pod = (
      daemonSet.spec as {
        template: {
          metadata: { labels: Record<string, string> };
          spec: {
            serviceAccountName: string;
            containers: { image: string; ports: { name: string; containerPort: number }[] }[];
          };
        };
      }
    ).template;
    const agentAccount = findOne(rendered, 'ServiceAccount', `${RELEASE}-agent`);
    expect(pod.spec.serviceAccountName).toBe(agentAccount.metadata.name);
    const operatorPod = (
      findOne(rendered, 'Deployment').spec as { template: { spec: { containers: { image: string }[] } } }
    ).template.spec;
    expect(pod.spec.containers[0].image).toBe(operatorPod.containers[0].image);
    const agentService = findOne(rendered, 'Service', `${RELEASE}-agent-metrics`).spec as {
      selector: Record<string, string>;
      ports: { targetPort: number }[];
    };
    for (const [key, value] of Object.entries(agentService.selector))
      expect(pod.metadata.labels[key]).toBe(value);
    expect(pod.spec.containers[0].ports).toContainEqual({
      name: 'metrics',
      containerPort: agentService.ports[0].targetPort,
      protocol: 'TCP',
    });
    const podMonitor = findOne(exampleRender, 'PodMonitor').spec as {
      selector: { matchLabels: Record<string, string> };
      namespaceSelector: { matchNames: string[] };
      podMetricsEndpoints: { port: string }[];
    };
    for (const [key, value] of Object.entries(podMonitor.selector.matchLabels))
      expect(pod.metadata.labels[key]).toBe(value);
    expect(podMonitor.namespaceSelector.matchNames).toEqual([daemonSet.metadata.namespace]);
    expect(pod.spec.containers[0].ports.map((p) => p.name)).toContain(podMonitor.podMetricsEndpoints[0].port);
  });

  it('made only API calls that the chart RBAC grants the operator', async () => {
    const operatorRequests = api.requestLog.entries();
    expect(operatorRequests.length).toBeGreaterThan(0);
    const binding = (kind: string) =>
      rendered.filter(
        (o) => o.kind === kind && (o.subjects as { name: string }[]).some((s) => s.name === RELEASE),
      );
    const clusterRules = binding('ClusterRoleBinding').flatMap(
      (b) => findOne(rendered, 'ClusterRole', (b.roleRef as { name: string }).name).rules as PolicyRule[],
    );
    const namespacedRules = binding('RoleBinding').flatMap(
      (b) => findOne(rendered, 'Role', (b.roleRef as { name: string }).name).rules as PolicyRule[],
    );
    const denied = operatorRequests.filter(
      (request) => !authorized(request, clusterRules, request.namespace === NAMESPACE ? namespacedRules : []),
    );
    expect(denied.map(describeRequest)).toEqual([]);
    const used = new Set(operatorRequests.map(callOf));
    for (const call of [
      'patch thinpoolnodes',
      'watch thinpools',
      'create daemonsets',
      'create thinpoolnodes',
      'create leases',
      'patch thinpools',
    ]) {
      expect(used).toContain(call);
    }
  });

  it('stops on SIGTERM with exit code 0', async () => {
    expect(operator).toBeDefined();
    operator?.kill('SIGTERM');
    const result = await operator!;
    expect(result.exitCode).toBe(0);
  });
});
