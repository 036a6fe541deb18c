import type { Toleration } from '../../api/v1alpha1/types.js';
import type { KubeObject } from '../../common/kube/kube-object.js';

/** A Node taint. */
export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** The fields of a `core/v1` Node the operator reads (the informer drops the rest). */
export interface NodeObject extends KubeObject {
  spec?: { taints?: Taint[]; unschedulable?: boolean };
}

/** A `core/v1` Pod condition. */
export interface PodCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** The fields of an agent Pod the operator reads (the informer drops the rest). */
export interface PodObject extends KubeObject {
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: PodCondition[] };
}

/** An environment variable of a container. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef: { apiVersion: string; fieldPath: string } };
}

/** An HTTP probe. */
export interface Probe {
  httpGet: { path: string; port: string | number; scheme: 'HTTP' };
  initialDelaySeconds?: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

/** A hostPath volume. */
export interface HostPathVolume {
  name: string;
  hostPath: { path: string; type: '' | 'Directory' | 'DirectoryOrCreate' };
}

/** A volume mount. */
export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  mountPropagation?: 'None' | 'HostToContainer' | 'Bidirectional';
}

/** The container of the agent Pod. */
export interface Container {
  name: string;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  command: string[];
  args?: string[];
  env: EnvVar[];
  ports: Array<{ name: string; containerPort: number; protocol: 'TCP' }>;
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext: { privileged: boolean; runAsUser: number };
  resources: {
    requests: Record<string, string>;
    limits?: Record<string, string>;
  };
  volumeMounts: VolumeMount[];
  terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError';
}

/** The Pod template of the agent DaemonSet. */
export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    serviceAccountName: string;
    hostPID: boolean;
    priorityClassName: string;
    nodeSelector?: Record<string, string>;
    tolerations?: Toleration[];
    terminationGracePeriodSeconds: number;
    imagePullSecrets?: Array<{ name: string }>;
    containers: Container[];
    volumes: HostPathVolume[];
  };
}

/** An `apps/v1` DaemonSet as the operator renders and reads it. */
export interface DaemonSetObject extends KubeObject {
  apiVersion: 'apps/v1';
  kind: 'DaemonSet';
  spec: {
    selector: { matchLabels: Record<string, string> };
    updateStrategy: { type: 'RollingUpdate'; rollingUpdate: { maxUnavailable: number | string } };
    template: PodTemplate;
    revisionHistoryLimit?: number;
  };
  status?: Record<string, unknown>;
}

/** A `core/v1` Event as JSON. */
export interface EventObject extends KubeObject {
  involvedObject: { apiVersion: string; kind: string; name: string; uid?: string; namespace?: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
  action?: string;
}
