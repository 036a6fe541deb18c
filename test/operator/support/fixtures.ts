import {
  API_VERSION,
  CLEANUP_FINALIZER,
  thinPoolNodeName,
  type ThinPool,
  type ThinPoolNode,
  type ThinPoolNodeStatus,
  type ThinPoolSpec,
} from '../../../api/v1alpha1/types.js';
import type { NodeObject, PodObject } from '../../../operator/controller/kube-types.js';
import { agentLabels } from '../../../operator/controller/daemon-set.js';
import { DEFAULT_SETTINGS, type OperatorSettings } from '../../../operator/controller/settings.js';

/** A fully defaulted ThinPool spec (loop-lvm), with overrides. */
export function poolSpec(overrides: Partial<ThinPoolSpec> = {}): ThinPoolSpec {
  return {
    volumeGroup: 'docker',
    thinPoolName: 'thinpool',
    loop: { directory: '/var/lib/thinpool-loop', dataSize: '10Gi', metadataSize: '200Mi' },
    wipeSignatures: false,
    dataPercent: 95,
    metadataPercent: 1,
    chunkSize: '512Ki',
    zeroing: false,
    autoExtend: { thresholdPercent: 80, extendPercent: 20, metadata: true },
    runtime: { type: 'none', drain: { enabled: false, maxUnavailable: 1 } },
    mode: 'Apply',
    deletionPolicy: 'Retain',
    paused: false,
    ...overrides,
  };
}

/** A ThinPool as the API server returns it. */
export function thinPool(
  name: string,
  spec: Partial<ThinPoolSpec> = {},
  metadata: Partial<ThinPool['metadata']> = {},
): ThinPool {
  return {
    apiVersion: API_VERSION,
    kind: 'ThinPool',
    metadata: {
      name,
      uid: `uid-${name}`,
      resourceVersion: '10',
      generation: 1,
      creationTimestamp: '2025-01-01T00:00:00Z',
      finalizers: [CLEANUP_FINALIZER],
      ...metadata,
    },
    spec: poolSpec(spec),
  };
}

/** A Node with labels and taints. */
export function node(
  name: string,
  labels: Record<string, string> = {},
  spec: NodeObject['spec'] = {},
): NodeObject {
  return { metadata: { name, uid: `uid-node-${name}`, resourceVersion: '1', labels }, spec };
}

/** A ThinPoolNode owned by `pool`, with an optional agent status. */
export function thinPoolNode(pool: ThinPool, nodeName: string, status?: ThinPoolNodeStatus): ThinPoolNode {
  return {
    apiVersion: API_VERSION,
    kind: 'ThinPoolNode',
    metadata: {
      name: thinPoolNodeName(pool.metadata.name ?? '', nodeName),
      uid: `uid-tpn-${nodeName}`,
      resourceVersion: '5',
      creationTimestamp: '2025-01-01T00:00:00Z',
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: 'ThinPool',
          name: pool.metadata.name ?? '',
          uid: pool.metadata.uid ?? '',
          controller: true,
        },
      ],
    },
    spec: { thinPool: pool.metadata.name ?? '', nodeName },
    ...(status ? { status } : {}),
  };
}

/** The status a healthy agent reports. */
export function readyStatus(dataSize: number, generation = 1): ThinPoolNodeStatus {
  return {
    phase: 'Ready',
    observedGeneration: generation,
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'PoolReady',
        message: 'Thin pool docker/thinpool is ready',
        lastTransitionTime: '2025-01-01T00:00:00Z',
      },
    ],
    pool: {
      dataSizeBytes: dataSize,
      dataUsedBytes: dataSize / 4,
      metadataSizeBytes: Math.floor(dataSize / 100),
      metadataUsedBytes: Math.floor(dataSize / 1000),
      chunkSizeBytes: 524288,
      active: true,
      monitored: true,
    },
  };
}

/** The status of an agent that refused its device. */
export function failedStatus(reason: string, message: string): ThinPoolNodeStatus {
  return {
    phase: 'Failed',
    observedGeneration: 1,
    conditions: [
      { type: 'Ready', status: 'False', reason, message, lastTransitionTime: '2025-01-01T00:00:00Z' },
    ],
  };
}

/** An agent Pod of `pool` on `nodeName`, Ready or not. */
export function agentPod(
  poolName: string,
  nodeName: string,
  ready: boolean,
  since = '2025-01-01T00:00:00Z',
): PodObject {
  return {
    metadata: {
      name: `thinpool-agent-${poolName}-${nodeName}`,
      namespace: 'thinpool-system',
      uid: `uid-pod-${nodeName}`,
      resourceVersion: '3',
      creationTimestamp: since,
      labels: agentLabels(poolName),
    },
    spec: { nodeName },
    status: {
      phase: 'Running',
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          lastTransitionTime: since,
          ...(ready
            ? {}
            : { reason: 'ContainersNotReady', message: 'containers with unready status: [agent]' }),
        },
      ],
    },
  };
}

/** Operator settings for tests. */
export const TEST_SETTINGS: OperatorSettings = {
  ...DEFAULT_SETTINGS,
  namespace: 'thinpool-system',
  agentImage: 'registry.example/thinpool-operator:test',
};
