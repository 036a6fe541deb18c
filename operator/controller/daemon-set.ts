import { API_VERSION, type ThinPool } from '../../api/v1alpha1/types.js';
import type { KubeObject } from '../../common/kube/kube-object.js';
import type { DaemonSetObject, EnvVar, HostPathVolume, Probe, VolumeMount } from './kube-types.js';
import { AGENT_COMPONENT, AGENT_NAME, Labels, MANAGER_NAME, daemonSetName, labelValue } from './names.js';
import type { OperatorSettings } from './settings.js';

/** Where the host's root filesystem is mounted in the agent container. */
export const HOST_ROOT_MOUNT = '/host';
/** Name of the agent container. */
export const AGENT_CONTAINER = 'agent';

/** V8 options of the agent container (`NODE_OPTIONS`): measured in ADR 0086, 69 MiB peak RSS instead of 81. */
export const AGENT_NODE_OPTIONS = '--max-semi-space-size=1';

/** The controller owner reference that ties an object to its ThinPool (garbage-collected with it). */
export function ownerReferenceTo(thinPool: Pick<ThinPool, 'metadata'>) {
  return {
    apiVersion: API_VERSION,
    kind: 'ThinPool',
    name: thinPool.metadata.name ?? '',
    uid: thinPool.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Selector labels of a pool's agent Pods (the DaemonSet selector: immutable, so derived from the name only). */
export function agentSelectorLabels(thinPoolName: string): Record<string, string> {
  return { [Labels.name]: AGENT_NAME, [Labels.pool]: labelValue(thinPoolName) };
}

/** Every label of a pool's agent Pods and DaemonSet. */
export function agentLabels(thinPoolName: string): Record<string, string> {
  return {
    ...agentSelectorLabels(thinPoolName),
    [Labels.component]: AGENT_COMPONENT,
    [Labels.partOf]: MANAGER_NAME,
    [Labels.managedBy]: MANAGER_NAME,
  };
}

function fieldEnv(name: string, fieldPath: string): EnvVar {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

function httpProbe(path: string, periodSeconds: number, failureThreshold: number): Probe {
  return {
    httpGet: { path, port: 'metrics', scheme: 'HTTP' },
    periodSeconds,
    timeoutSeconds: 5,
    successThreshold: 1,
    failureThreshold,
  };
}

function hostVolume(
  name: string,
  hostPath: string,
  type: HostPathVolume['hostPath']['type'],
  mountPath: string,
  propagation?: VolumeMount['mountPropagation'],
): { volume: HostPathVolume; mount: VolumeMount } {
  const mount: VolumeMount = { name, mountPath };
  if (propagation) mount.mountPropagation = propagation;
  return { volume: { name, hostPath: { path: hostPath, type } }, mount };
}

/**
 * Renders the agent DaemonSet of a ThinPool (pure). The agent runs LVM in the host's namespaces
 * (`hostPID`, privileged, `nsenter --target 1`), so it needs the host's `/dev`, the udev database, the LVM
 * configuration, the root filesystem (for files such as `daemon.json`, under {@link HOST_ROOT_MOUNT}) and,
 * for loop-lvm, the directory of the backing files. Only fields that change the Pods live in the template,
 * so the DaemonSet rolls when those change; every other spec change reaches the agents through their
 * watch on the ThinPool, without a restart. The caller validates `spec.loop.directory` first.
 */
export function desiredDaemonSet(thinPool: ThinPool, settings: OperatorSettings): DaemonSetObject {
  const poolName = thinPool.metadata.name ?? '';
  const mounts = [
    hostVolume('dev', '/dev', 'Directory', '/dev', 'HostToContainer'),
    hostVolume('run-udev', '/run/udev', 'DirectoryOrCreate', '/run/udev'),
    hostVolume('etc-lvm', '/etc/lvm', 'DirectoryOrCreate', '/etc/lvm'),
    hostVolume('host-root', '/', 'Directory', HOST_ROOT_MOUNT, 'HostToContainer'),
  ];
  if (thinPool.spec.loop) {
    const directory = thinPool.spec.loop.directory;
    mounts.push(hostVolume('loop-files', directory, 'DirectoryOrCreate', directory));
  }
  const template: DaemonSetObject['spec']['template'] = {
    metadata: {
      labels: agentLabels(poolName),
      annotations: { 'kubectl.kubernetes.io/default-container': AGENT_CONTAINER },
    },
    spec: {
      serviceAccountName: settings.agentServiceAccount,
      hostPID: true,
      priorityClassName: settings.agentPriorityClassName,
      terminationGracePeriodSeconds: 120,
      containers: [
        {
          name: AGENT_CONTAINER,
          image: settings.agentImage,
          imagePullPolicy: settings.agentImagePullPolicy,
          command: ['thinpool-agent', 'run'],
          env: [
            fieldEnv('NODE_NAME', 'spec.nodeName'),
            fieldEnv('POD_NAME', 'metadata.name'),
            fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
            { name: 'THINPOOL_NAME', value: poolName },
            { name: 'THINPOOL_AGENT_PORT', value: String(settings.agentPort) },
            { name: 'THINPOOL_HOST_ROOT', value: HOST_ROOT_MOUNT },
            // A 1 MiB young generation keeps the agent's peak RSS near its steady state (ADR 0086).
            { name: 'NODE_OPTIONS', value: AGENT_NODE_OPTIONS },
          ],
          ports: [{ name: 'metrics', containerPort: settings.agentPort, protocol: 'TCP' }],
          livenessProbe: { ...httpProbe('/healthz', 20, 3), initialDelaySeconds: 10 },
          readinessProbe: httpProbe('/readyz', 10, 3),
          securityContext: { privileged: true, runAsUser: 0 },
          resources: settings.agentResources.limits
            ? {
                requests: { ...settings.agentResources.requests },
                limits: { ...settings.agentResources.limits },
              }
            : { requests: { ...settings.agentResources.requests } },
          volumeMounts: mounts.map((m) => m.mount),
          terminationMessagePolicy: 'FallbackToLogsOnError',
        },
      ],
      volumes: mounts.map((m) => m.volume),
    },
  };
  if (thinPool.spec.nodeSelector && Object.keys(thinPool.spec.nodeSelector).length > 0) {
    template.spec.nodeSelector = { ...thinPool.spec.nodeSelector };
  }
  if (thinPool.spec.tolerations && thinPool.spec.tolerations.length > 0) {
    template.spec.tolerations = thinPool.spec.tolerations.map((t) => ({ ...t }));
  }
  if (settings.agentImagePullSecrets.length > 0) {
    template.spec.imagePullSecrets = settings.agentImagePullSecrets.map((name) => ({ name }));
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      name: daemonSetName(poolName),
      namespace: settings.namespace,
      labels: agentLabels(poolName),
      ownerReferences: [ownerReferenceTo(thinPool)],
    },
    spec: {
      selector: { matchLabels: agentSelectorLabels(poolName) },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } },
      revisionHistoryLimit: 5,
      template,
    },
  };
}

/**
 * apimachinery's `Semantic.DeepDerivative`: true when every field set in `desired` has the same value in
 * `observed` (fields the server defaulted, and that `desired` leaves unset, are ignored). Lists must have
 * the same length and match element by element.
 */
export function isDerivative(desired: unknown, observed: unknown): boolean {
  if (desired === undefined || desired === null) return true;
  if (Array.isArray(desired)) {
    if (!Array.isArray(observed) || observed.length !== desired.length) return false;
    return desired.every((item, i) => isDerivative(item, observed[i]));
  }
  if (typeof desired === 'object') {
    if (typeof observed !== 'object' || observed === null || Array.isArray(observed)) return false;
    const o = observed as Record<string, unknown>;
    return Object.entries(desired as Record<string, unknown>).every(([k, v]) => isDerivative(v, o[k]));
  }
  return desired === observed;
}

/**
 * Why the observed DaemonSet differs from the desired one (undefined when it is up to date): its Pod
 * template, update strategy, labels or controller owner reference.
 */
export function daemonSetDrift(desired: DaemonSetObject, observed: DaemonSetObject): string | undefined {
  if (!isDerivative(desired.spec.template, observed.spec?.template)) return 'Pod template changed';
  if (!isDerivative(desired.spec.updateStrategy, observed.spec?.updateStrategy))
    return 'update strategy changed';
  if (!isDerivative(desired.metadata.labels, observed.metadata.labels)) return 'labels changed';
  const owner = desired.metadata.ownerReferences?.[0];
  if (owner && !observed.metadata.ownerReferences?.some((r) => r.uid === owner.uid && r.controller)) {
    return 'owner changed';
  }
  return undefined;
}

/**
 * The object to PUT to bring `observed` to `desired`: desired spec (the selector is immutable and always
 * the same for one pool), our labels and owner reference merged over the observed metadata, and the
 * observed resourceVersion so a concurrent change is a conflict, not lost.
 */
export function daemonSetUpdate(desired: DaemonSetObject, observed: DaemonSetObject): DaemonSetObject {
  const foreignOwners = (observed.metadata.ownerReferences ?? []).filter((r) => !r.controller);
  const metadata: KubeObject['metadata'] = {
    ...observed.metadata,
    labels: { ...observed.metadata.labels, ...desired.metadata.labels },
    ownerReferences: [...(desired.metadata.ownerReferences ?? []), ...foreignOwners],
  };
  return {
    ...desired,
    metadata,
    spec: { ...desired.spec, selector: observed.spec?.selector ?? desired.spec.selector },
  };
}
