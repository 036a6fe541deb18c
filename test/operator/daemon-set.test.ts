import { spawnSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import {
  AGENT_NODE_OPTIONS,
  daemonSetDrift,
  daemonSetUpdate,
  desiredDaemonSet,
  isDerivative,
} from '../../operator/controller/daemon-set.js';
import type { DaemonSetObject } from '../../operator/controller/kube-types.js';
import { TEST_SETTINGS, thinPool } from './support/fixtures.js';

/** What kube-apiserver adds to a DaemonSet it stores (defaults), so drift checks must ignore it. */
function asStoredByServer(ds: DaemonSetObject): DaemonSetObject {
  const stored = structuredClone(ds) as DaemonSetObject & { spec: Record<string, unknown> };
  stored.metadata = {
    ...stored.metadata,
    uid: 'ds-uid',
    resourceVersion: '77',
    generation: 1,
    creationTimestamp: '2025-01-01T00:00:00Z',
  };
  const pod = stored.spec.template.spec as unknown as Record<string, unknown>;
  Object.assign(pod, {
    restartPolicy: 'Always',
    dnsPolicy: 'ClusterFirst',
    schedulerName: 'default-scheduler',
    securityContext: {},
  });
  const container = stored.spec.template.spec.containers[0] as unknown as Record<string, unknown>;
  Object.assign(container, { terminationMessagePath: '/dev/termination-log' });
  return stored;
}

describe('desiredDaemonSet', () => {
  it('renders the agent DaemonSet of a loop-lvm pool with selector and tolerations', () => {
    const pool = thinPool('ci-pool', {
      nodeSelector: { 'thinpool.dev/enabled': 'true' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'storage', effect: 'NoSchedule' }],
    });
    expect(desiredDaemonSet(pool, TEST_SETTINGS)).toMatchSnapshot();
  });

  it('renders a direct-lvm pool without the loop directory mount or a nodeSelector', () => {
    const pool = thinPool('docker', { loop: undefined, devices: [{ path: '/dev/disk/by-id/virtio-data' }] });
    const ds = desiredDaemonSet(pool, {
      ...TEST_SETTINGS,
      agentImagePullSecrets: ['regcred'],
      agentResources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    });
    const spec = ds.spec.template.spec;
    expect(spec.volumes.map((v) => v.hostPath.path)).toEqual(['/dev', '/run/udev', '/etc/lvm', '/']);
    expect(spec.nodeSelector).toBeUndefined();
    expect(spec.tolerations).toBeUndefined();
    expect(spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(spec.containers[0].resources).toEqual({
      requests: { cpu: '50m', memory: '128Mi' },
      limits: { memory: '256Mi' },
    });
  });

  it('carries what the agent needs: identity, host access, probes on its port, priority, owner', () => {
    const ds = desiredDaemonSet(thinPool('p'), { ...TEST_SETTINGS, agentPort: 9900 });
    const pod = ds.spec.template.spec;
    const container = pod.containers[0];
    expect(container.command).toEqual(['thinpool-agent', 'run']);
    expect(container.env).toContainEqual({
      name: 'NODE_NAME',
      valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } },
    });
    expect(container.env).toContainEqual({ name: 'THINPOOL_NAME', value: 'p' });
    expect(pod.hostPID).toBe(true);
    expect(container.securityContext.privileged).toBe(true);
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: 9900, protocol: 'TCP' }]);
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics', scheme: 'HTTP' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics', scheme: 'HTTP' });
    expect(ds.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'thinpool.dev/v1alpha1',
        kind: 'ThinPool',
        name: 'p',
        uid: 'uid-p',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(ds.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'thinpool-agent',
      'thinpool.dev/pool': 'p',
    });
    for (const [key, value] of Object.entries(ds.spec.selector.matchLabels)) {
      expect(ds.spec.template.metadata.labels[key]).toBe(value);
    }
  });
});

describe('isDerivative', () => {
  it('ignores fields the desired object leaves unset, but not differences', () => {
    expect(isDerivative({ a: 1 }, { a: 1, b: 2 })).toBe(true);
    expect(isDerivative({ a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(isDerivative({ a: [1, 2] }, { a: [1, 2] })).toBe(true);
    expect(isDerivative({ a: [1, 2] }, { a: [1, 2, 3] })).toBe(false);
    expect(isDerivative({ a: [{ x: 1 }] }, { a: [{ x: 1, y: 2 }] })).toBe(true);
    expect(isDerivative({ a: { b: 'x' } }, { a: 'x' })).toBe(false);
    expect(isDerivative({ a: undefined }, {})).toBe(true);
  });
});

describe('daemonSetDrift and daemonSetUpdate', () => {
  const pool = thinPool('p', { nodeSelector: { zone: 'a' } });
  const desired = desiredDaemonSet(pool, TEST_SETTINGS);

  it('finds no drift in what the server stored from our own rendering', () => {
    expect(daemonSetDrift(desired, asStoredByServer(desired))).toBeUndefined();
  });

  it('finds the Pod template drift when a spec field that reaches the Pods changes', () => {
    const changed = desiredDaemonSet(thinPool('p', { nodeSelector: { zone: 'b' } }), TEST_SETTINGS);
    expect(daemonSetDrift(changed, asStoredByServer(desired))).toBe('Pod template changed');
    const newImage = desiredDaemonSet(pool, { ...TEST_SETTINGS, agentImage: 'registry.example/agent:2' });
    expect(daemonSetDrift(newImage, asStoredByServer(desired))).toBe('Pod template changed');
  });

  it('does not roll the agents for spec fields they read from the ThinPool itself', () => {
    const resized = desiredDaemonSet(
      thinPool('p', { nodeSelector: { zone: 'a' }, dataPercent: 60, mode: 'Plan' }),
      TEST_SETTINGS,
    );
    expect(daemonSetDrift(resized, asStoredByServer(desired))).toBeUndefined();
  });

  it('adopts a DaemonSet left by an earlier ThinPool of the same name', () => {
    const recreated = desiredDaemonSet(
      thinPool('p', { nodeSelector: { zone: 'a' } }, { uid: 'uid-new' }),
      TEST_SETTINGS,
    );
    expect(daemonSetDrift(recreated, asStoredByServer(desired))).toBe('owner changed');
  });

  it('updates in place: observed resourceVersion and selector, our labels merged over foreign ones', () => {
    const observed = asStoredByServer(desired);
    observed.metadata.labels = { ...observed.metadata.labels, team: 'storage' };
    const changed = desiredDaemonSet(thinPool('p', { nodeSelector: { zone: 'b' } }), TEST_SETTINGS);
    const update = daemonSetUpdate(changed, observed);
    expect(update.metadata.resourceVersion).toBe('77');
    expect(update.metadata.uid).toBe('ds-uid');
    expect(update.metadata.labels?.team).toBe('storage');
    expect(update.spec.selector).toEqual(observed.spec.selector);
    expect(update.spec.template.spec.nodeSelector).toEqual({ zone: 'b' });
  });
});

describe("the agent container's NODE_OPTIONS", () => {
  it('is set on the agent and accepted by node in NODE_OPTIONS (some V8 flags are refused there)', () => {
    const env = desiredDaemonSet(thinPool('loop'), TEST_SETTINGS).spec.template.spec.containers[0].env ?? [];
    expect(env).toContainEqual({ name: 'NODE_OPTIONS', value: AGENT_NODE_OPTIONS });
    const run = spawnSync(process.execPath, ['-e', 'process.exit(0)'], {
      env: { PATH: process.env.PATH, NODE_OPTIONS: AGENT_NODE_OPTIONS },
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
