import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import path from 'node:path';
import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  ALL_OPTIONS_VALUES,
  CHART_DIR,
  findOne,
  helm,
  renderChart,
  templateArgs,
  type RenderedObject,
} from './helm.js';
import { isBuiltIn, validateBuiltIn } from './kube-schema.js';
import { parseFlags } from '../../operator/flags.js';

// These tests run the real helm and promtool binaries; the machine may be busy.
jest.setTimeout(120_000);

const NAMESPACE = 'thinpool-system';

interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
}

interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
  imagePullSecrets?: { name: string }[];
}

interface DeploymentSpec {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

interface ServiceSpec {
  clusterIP?: string;
  selector: Record<string, string>;
  ports: { name: string; port: number; targetPort: string | number }[];
}

const specOf = <T>(object: RenderedObject): T => object.spec as T;
const rulesOf = (object: RenderedObject): PolicyRule[] => object.rules as PolicyRule[];

function operatorContainer(objects: RenderedObject[]): Container {
  return specOf<DeploymentSpec>(findOne(objects, 'Deployment')).template.spec.containers[0];
}

function flag(container: Container, name: string): string | undefined {
  const prefix = `--${name}=`;
  return container.args?.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** Every (group, resource, verb) a set of rules grants, as "group/resource:verb". */
function grants(rules: PolicyRule[]): string[] {
  return rules
    .flatMap((rule) =>
      rule.apiGroups.flatMap((group) =>
        rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${group}/${resource}:${verb}`)),
      ),
    )
    .sort();
}

describe('helm lint', () => {
  it('passes with the default values', async () => {
    const result = await helm(['lint', CHART_DIR, '--strict']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(result.exitCode).toBe(0);
  });

  it('passes with every option on', async () => {
    const result = await helm(['lint', CHART_DIR, '--strict', '--values', ALL_OPTIONS_VALUES]);
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(result.exitCode).toBe(0);
  });
});

describe('helm template with the default values', () => {
  let objects: RenderedObject[];
  beforeAll(async () => {
    objects = await renderChart({ release: 'thinpool-operator', namespace: NAMESPACE });
  });

  it('renders the operator, its Services, ServiceAccounts and RBAC, and no optional object', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ClusterRole/thinpool-operator',
      'ClusterRole/thinpool-operator-agent',
      'ClusterRoleBinding/thinpool-operator',
      'ClusterRoleBinding/thinpool-operator-agent',
      'Deployment/thinpool-operator',
      'Role/thinpool-operator',
      'RoleBinding/thinpool-operator',
      'Service/thinpool-operator-agent-metrics',
      'Service/thinpool-operator-metrics',
      'ServiceAccount/thinpool-operator',
      'ServiceAccount/thinpool-operator-agent',
    ]);
  });

  it('renders only objects that are valid against the Kubernetes schemas', async () => {
    for (const object of objects) {
      expect(isBuiltIn(object)).toBe(true);
      await validateBuiltIn(object);
    }
  });

  it('puts the standard labels on every object and namespaced objects in the release namespace', () => {
    for (const object of objects) {
      expect(object.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'thinpool-operator',
        'app.kubernetes.io/instance': 'thinpool-operator',
        'app.kubernetes.io/managed-by': 'Helm',
        'app.kubernetes.io/part-of': 'thinpool-operator',
        'app.kubernetes.io/version': '0.1.0',
        'helm.sh/chart': 'thinpool-operator-0.1.0',
      });
      const clusterScoped = ['ClusterRole', 'ClusterRoleBinding'].includes(object.kind);
      expect(object.metadata.namespace).toBe(clusterScoped ? undefined : NAMESPACE);
    }
  });

  it('runs the operator as non-root on a read-only root filesystem without privileges', () => {
    const pod = specOf<DeploymentSpec>(findOne(objects, 'Deployment')).template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.containers[0].resources?.requests).toEqual({ cpu: '50m', memory: '128Mi' });
    expect(pod.containers[0].resources?.limits?.memory).toBe('384Mi');
  });

  it('passes the operator its flags, with the probe and metrics ports matching the container ports', () => {
    const container = operatorContainer(objects);
    expect(container.command).toEqual(['thinpool-operator']);
    expect(flag(container, 'namespace')).toBe(NAMESPACE);
    expect(flag(container, 'leader-elect')).toBe('true');
    expect(flag(container, 'agent-image')).toBe('ghcr.io/thinpool-dev/thinpool-operator:0.1.0');
    expect(container.image).toBe('ghcr.io/thinpool-dev/thinpool-operator:0.1.0');
    expect(flag(container, 'agent-image-pull-policy')).toBe('IfNotPresent');
    expect(flag(container, 'agent-service-account')).toBe('thinpool-operator-agent');
    findOne(objects, 'ServiceAccount', 'thinpool-operator-agent');
    expect(flag(container, 'agent-port')).toBe('9842');
    expect(flag(container, 'agent-priority-class')).toBeUndefined();

    const ports = Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort]));
    expect(ports).toEqual({ metrics: 8080, health: 8081 });
    expect(flag(container, 'metrics-bind-address')).toBe(':8080');
    expect(flag(container, 'health-probe-bind-address')).toBe(':8081');
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'health' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'health' });
    expect(container.env?.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom).toEqual({
      fieldRef: { fieldPath: 'metadata.namespace' },
    });
  });

  it('passes flags the operator accepts, with the settings the chart means', () => {
    const container = operatorContainer(objects);
    const parsed = parseFlags(container.args ?? [], { POD_NAMESPACE: NAMESPACE });
    expect(parsed).toMatchObject({
      ok: true,
      flags: {
        leaderElect: true,
        metricsBindAddress: ':8080',
        healthProbeBindAddress: ':8081',
        settings: {
          namespace: NAMESPACE,
          agentImage: container.image,
          agentImagePullPolicy: 'IfNotPresent',
          agentServiceAccount: 'thinpool-operator-agent',
          agentPort: 9842,
        },
      },
    });
  });

  it('selects the operator pods with its Deployment and metrics Service, on a named container port', () => {
    const deployment = specOf<DeploymentSpec>(findOne(objects, 'Deployment'));
    const podLabels = deployment.template.metadata.labels;
    expect(selects(deployment.selector.matchLabels, podLabels)).toBe(true);
    expect(deployment.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'thinpool-operator',
      'app.kubernetes.io/instance': 'thinpool-operator',
      'app.kubernetes.io/component': 'operator',
    });
    const service = specOf<ServiceSpec>(findOne(objects, 'Service', 'thinpool-operator-metrics'));
    expect(selects(service.selector, podLabels)).toBe(true);
    expect(service.ports).toEqual([{ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' }]);
  });

  it('lists the agent pods, which the operator labels component=agent, in a headless Service on 9842', () => {
    const service = specOf<ServiceSpec>(findOne(objects, 'Service', 'thinpool-operator-agent-metrics'));
    expect(service.clusterIP).toBe('None');
    expect(service.selector).toEqual({ 'app.kubernetes.io/component': 'agent' });
    expect(service.ports).toEqual([{ name: 'metrics', port: 9842, targetPort: 9842, protocol: 'TCP' }]);
  });

  it('grants the operator exactly what it needs, cluster-wide and in its namespace', () => {
    expect(grants(rulesOf(findOne(objects, 'ClusterRole', 'thinpool-operator')))).toEqual(
      [
        '/events:create',
        '/events:patch',
        '/nodes:get',
        '/nodes:list',
        '/nodes:patch',
        '/nodes:watch',
        '/pods:list',
        '/pods/eviction:create',
        'thinpool.dev/thinpools:get',
        'thinpool.dev/thinpools:list',
        'thinpool.dev/thinpools:patch',
        'thinpool.dev/thinpools:watch',
        'thinpool.dev/thinpools/status:patch',
        'thinpool.dev/thinpools/finalizers:update',
        'thinpool.dev/thinpoolnodes:create',
        'thinpool.dev/thinpoolnodes:delete',
        'thinpool.dev/thinpoolnodes:get',
        'thinpool.dev/thinpoolnodes:list',
        'thinpool.dev/thinpoolnodes:patch',
        'thinpool.dev/thinpoolnodes:watch',
      ].sort(),
    );
    const role = findOne(objects, 'Role', 'thinpool-operator');
    expect(role.metadata.namespace).toBe(NAMESPACE);
    expect(grants(rulesOf(role))).toEqual(
      [
        'apps/daemonsets:create',
        'apps/daemonsets:delete',
        'apps/daemonsets:get',
        'apps/daemonsets:list',
        'apps/daemonsets:update',
        'apps/daemonsets:watch',
        '/pods:list',
        '/pods:watch',
        'coordination.k8s.io/leases:create',
        'coordination.k8s.io/leases:get',
        'coordination.k8s.io/leases:update',
      ].sort(),
    );
  });

  it('grants the agents reads of ThinPools and Nodes, writes of ThinPoolNodes and Events, nothing else', () => {
    const granted = grants(rulesOf(findOne(objects, 'ClusterRole', 'thinpool-operator-agent')));
    expect(granted).toEqual(
      [
        '/events:create',
        '/events:patch',
        '/nodes:get',
        '/nodes:list',
        '/nodes:watch',
        'thinpool.dev/thinpools:get',
        'thinpool.dev/thinpools:list',
        'thinpool.dev/thinpools:watch',
        'thinpool.dev/thinpools/finalizers:update',
        'thinpool.dev/thinpoolnodes:create',
        'thinpool.dev/thinpoolnodes:get',
        'thinpool.dev/thinpoolnodes/status:patch',
      ].sort(),
    );
    expect(granted.some((g) => g.includes('secrets') || g.includes('*') || g.includes('pods/exec'))).toBe(
      false,
    );
  });

  it('binds each role to the ServiceAccount of its component', () => {
    const subjects = (name: string, kind: string) =>
      (findOne(objects, kind, name).subjects as { name: string; namespace: string }[]).map(
        (s) => `${s.namespace}/${s.name}`,
      );
    expect(subjects('thinpool-operator', 'ClusterRoleBinding')).toEqual([`${NAMESPACE}/thinpool-operator`]);
    expect(subjects('thinpool-operator', 'RoleBinding')).toEqual([`${NAMESPACE}/thinpool-operator`]);
    expect(subjects('thinpool-operator-agent', 'ClusterRoleBinding')).toEqual([
      `${NAMESPACE}/thinpool-operator-agent`,
    ]);
    for (const binding of objects.filter((o) => o.kind.endsWith('Binding'))) {
      const roleRef = binding.roleRef as { kind: string; name: string };
      findOne(objects, roleRef.kind, roleRef.name);
    }
  });

  it('justifies every RBAC rule with a comment in the template', () => {
    for (const file of ['rbac-operator.yaml', 'rbac-agent.yaml']) {
      const lines = readFileSync(path.join(CHART_DIR, 'templates', file), 'utf8').split('\n');
      const rules = lines.flatMap((line, index) => (/^\s*- apiGroups:/.test(line) ? [index] : []));
      expect(rules.length).toBeGreaterThan(0);
      for (const index of rules) expect(lines[index - 1]).toMatch(/^\s*# \S/);
    }
  });

  it('names objects after the release alone when the release name contains the chart name', async () => {
    const named = await renderChart({ release: 'thinpool-operator', namespace: NAMESPACE });
    expect(findOne(named, 'Deployment').metadata.name).toBe('thinpool-operator');
    expect(flag(operatorContainer(named), 'agent-service-account')).toBe('thinpool-operator-agent');
    const other = await renderChart({ release: 'storage', namespace: NAMESPACE });
    expect(findOne(other, 'Deployment').metadata.name).toBe('storage-thinpool-operator');
    expect(flag(operatorContainer(other), 'agent-service-account')).toBe('storage-thinpool-operator-agent');
  });

  it('caps the operator heap at the measured 160 MiB by default, and leaves it to Node with 0', async () => {
    const heap = (objects: RenderedObject[]) =>
      operatorContainer(objects).env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
    expect(heap(await renderChart())).toBe('--max-old-space-size=160');
    expect(heap(await renderChart({ set: { 'operator.maxHeapMiB': '0' } }))).toBeUndefined();
  });

  it('turns leader election off only when asked', async () => {
    const single = await renderChart({ set: { 'operator.leaderElection': 'false' } });
    expect(flag(operatorContainer(single), 'leader-elect')).toBe('false');
  });
});

describe('helm template with every option on', () => {
  let objects: RenderedObject[];
  beforeAll(async () => {
    objects = await renderChart({
      release: 'thinpool-operator',
      namespace: NAMESPACE,
      valuesFiles: [ALL_OPTIONS_VALUES],
    });
  });

  it('adds the monitors, the alert rules, the dashboard and the example ThinPool', () => {
    const kinds = objects.map((o) => o.kind);
    for (const kind of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'ConfigMap', 'ThinPool']) {
      expect(kinds).toContain(kind);
    }
  });

  it('keeps every built-in object valid against the Kubernetes schemas', async () => {
    for (const object of objects.filter(isBuiltIn)) await validateBuiltIn(object);
  });

  it('labels the monitors and rules for the Prometheus that selects them, in the monitoring namespace', () => {
    for (const kind of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule']) {
      const object = findOne(objects, kind);
      expect(object.apiVersion).toBe('monitoring.coreos.com/v1');
      expect(object.metadata.namespace).toBe('monitoring');
      expect(object.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack', team: 'storage' });
    }
  });

  it('points the ServiceMonitor at the operator metrics Service and its named port', () => {
    const monitor = specOf<{
      selector: { matchLabels: Record<string, string> };
      namespaceSelector: { matchNames: string[] };
      endpoints: { port: string; path: string; interval: string; relabelings?: unknown[] }[];
    }>(findOne(objects, 'ServiceMonitor'));
    const service = findOne(objects, 'Service', 'thinpool-operator-metrics');
    expect(selects(monitor.selector.matchLabels, service.metadata.labels ?? {})).toBe(true);
    expect(
      selects(
        monitor.selector.matchLabels,
        findOne(objects, 'Service', 'thinpool-operator-agent-metrics').metadata.labels ?? {},
      ),
    ).toBe(false);
    expect(monitor.namespaceSelector.matchNames).toEqual([NAMESPACE]);
    expect(specOf<ServiceSpec>(service).ports.map((p) => p.name)).toContain(monitor.endpoints[0].port);
    expect(monitor.endpoints[0]).toMatchObject({ path: '/metrics', interval: '15s' });
    expect(monitor.endpoints[0].relabelings).toHaveLength(1);
  });

  it('points the PodMonitor at the agent pods in the release namespace', () => {
    const monitor = specOf<{
      selector: { matchLabels: Record<string, string> };
      namespaceSelector: { matchNames: string[] };
      podMetricsEndpoints: { port: string; path: string }[];
    }>(findOne(objects, 'PodMonitor'));
    expect(monitor.selector.matchLabels).toEqual({ 'app.kubernetes.io/component': 'agent' });
    expect(monitor.namespaceSelector.matchNames).toEqual([NAMESPACE]);
    expect(monitor.podMetricsEndpoints[0]).toMatchObject({ port: 'metrics', path: '/metrics' });
  });

  it('uses the agent image, pull policy and ServiceAccount it was given', () => {
    const container = operatorContainer(objects);
    expect(container.image).toBe('registry.example.com/storage/thinpool-operator:0.1.0-rc.1');
    expect(container.imagePullPolicy).toBe('Always');
    expect(flag(container, 'agent-image')).toBe(
      'registry.example.com/storage/thinpool-agent@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    );
    expect(flag(container, 'agent-image-pull-policy')).toBe('IfNotPresent');
    expect(flag(container, 'agent-service-account')).toBe('thinpool-agent');
    expect(container.args?.slice(-2)).toEqual(['--workers=4', '--drain-retry=30s']);
    expect(flag(container, 'agent-port')).toBe('9900');
    const agentService = specOf<ServiceSpec>(findOne(objects, 'Service', 'thinpool-operator-agent-metrics'));
    expect(agentService.ports).toEqual([{ name: 'metrics', port: 9900, targetPort: 9900, protocol: 'TCP' }]);
    expect(flag(container, 'agent-priority-class')).toBe('thinpool-agent-critical');
    const agentAccount = findOne(objects, 'ServiceAccount', 'thinpool-agent');
    expect(agentAccount.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    const binding = findOne(objects, 'ClusterRoleBinding', 'thinpool-operator-agent');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'thinpool-agent', namespace: NAMESPACE },
    ]);
  });

  it('passes every option as flags the operator accepts', () => {
    const parsed = parseFlags(operatorContainer(objects).args ?? [], {});
    expect(parsed).toMatchObject({
      ok: true,
      flags: {
        workers: 4,
        settings: {
          agentServiceAccount: 'thinpool-agent',
          agentPort: 9900,
          agentPriorityClassName: 'thinpool-agent-critical',
          agentImagePullPolicy: 'IfNotPresent',
          drainRetryMs: 30_000,
        },
      },
    });
  });

  it('runs two operator replicas with leader election', () => {
    expect(specOf<DeploymentSpec>(findOne(objects, 'Deployment')).replicas).toBe(2);
    expect(flag(operatorContainer(objects), 'leader-elect')).toBe('true');
  });

  it('leaves out disabled alerts and labels and links the others', () => {
    const groups = (
      findOne(objects, 'PrometheusRule').spec as {
        groups: {
          name: string;
          rules: { alert: string; labels: Record<string, string>; annotations: Record<string, string> }[];
        }[];
      }
    ).groups;
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).not.toContain('ThinPoolRuntimeNotConfigured');
    expect(rules.length).toBeGreaterThan(10);
    for (const rule of rules) {
      expect(rule.labels.team).toBe('storage');
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      expect(rule.annotations.runbook_url).toBe(
        `https://wiki.example.com/runbooks/thinpool#${rule.alert.toLowerCase()}`,
      );
    }
  });

  it('ships the dashboard JSON unchanged in a ConfigMap labelled for the Grafana sidecar', () => {
    const configMap = findOne(objects, 'ConfigMap');
    expect(configMap.metadata.namespace).toBe('monitoring');
    expect(configMap.metadata.labels?.grafana_dashboard).toBe('1');
    expect(configMap.metadata.annotations).toEqual({ grafana_folder: 'Storage' });
    const data = configMap.data as Record<string, string>;
    const file = readFileSync(path.join(CHART_DIR, 'dashboards', 'thinpool-operator.json'), 'utf8');
    expect(JSON.parse(data['thinpool-operator.json'])).toEqual(JSON.parse(file));
  });

  it('renders the example as a cluster-scoped loop-lvm ThinPool', () => {
    const pool = findOne(objects, 'ThinPool');
    expect(pool.apiVersion).toBe('thinpool.dev/v1alpha1');
    expect(pool.metadata.namespace).toBeUndefined();
    expect(pool.spec).toMatchObject({ loop: { dataSize: '10Gi' }, deletionPolicy: 'Delete' });
  });
});

describe('values.yaml', () => {
  it('documents every value in helm-docs form, on the value or on the map it belongs to', () => {
    const text = readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8');
    const documented = new Set([...text.matchAll(/^\s*# ([\w.]+) -- \S/gm)].map((m) => m[1]));
    const undocumented: string[] = [];
    const visit = (value: unknown, keyPath: string[]): void => {
      const name = keyPath.join('.');
      if (keyPath.length > 0 && keyPath.some((_, i) => documented.has(keyPath.slice(0, i + 1).join('.'))))
        return;
      if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
        for (const [key, child] of Object.entries(value)) visit(child, [...keyPath, key]);
      } else {
        undocumented.push(name);
      }
    };
    visit(parse(text), []);
    expect(undocumented).toEqual([]);
    expect(documented.size).toBeGreaterThan(50);
  });
});

describe('values.schema.json', () => {
  async function templateError(set: Record<string, string>): Promise<string> {
    const result = await helm(templateArgs({ set }));
    expect(result.exitCode).not.toBe(0);
    return result.stderr;
  }

  it('rejects a misspelt value instead of ignoring it', async () => {
    expect(await templateError({ 'operator.replica': '2' })).toMatch(
      /Additional property replica is not allowed/,
    );
  });

  it('rejects values of the wrong type or outside their range', async () => {
    expect(await templateError({ 'operator.replicas': '-1' })).toMatch(/operator\.replicas/);
    expect(await templateError({ 'image.pullPolicy': 'Sometimes' })).toMatch(/image\.pullPolicy/);
    expect(await templateError({ 'agent.metricsPort': '70000' })).toMatch(/agent\.metricsPort/);
    expect(await templateError({ 'operator.extraArgs[0]': 'rm -rf' })).toMatch(/operator\.extraArgs/);
  });

  it('refuses a ServiceMonitor without the Service it scrapes', async () => {
    expect(
      await templateError({ 'serviceMonitor.enabled': 'true', 'metrics.service.enabled': 'false' }),
    ).toMatch(/serviceMonitor\.enabled needs metrics\.service\.enabled/);
  });
});
