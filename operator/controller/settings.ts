/** Operator-wide settings that shape every agent DaemonSet (from the command line). */
export interface OperatorSettings {
  /** Namespace of the agent DaemonSets (and of the operator's Lease). */
  namespace: string;
  /** Agent container image. */
  agentImage: string;
  agentImagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** ServiceAccount the agent Pods run as (the chart creates it with the agent's RBAC). */
  agentServiceAccount: string;
  /** Port of the agent's `/metrics`, `/healthz` and `/readyz`. */
  agentPort: number;
  /** Priority class of the agent Pods. */
  agentPriorityClassName: string;
  /** Resource requests of the agent container (and optional limits). */
  agentResources: { requests: Record<string, string>; limits?: Record<string, string> };
  /** Image pull secrets for the agent Pods. */
  agentImagePullSecrets: string[];
  /** A node whose agent Pod has not been Ready for this long counts as failed (not only not ready). */
  agentNotReadyGraceMs: number;
  /** Longest list of failing nodes kept in a ThinPool's status. */
  maxFailingNodes: number;
  /** While a rollout drains a node: how often to look at its Pods again (evictions a PodDisruptionBudget refused). */
  drainRetryMs: number;
}

/** Defaults of {@link OperatorSettings} (the namespace and image come from flags). */
export const DEFAULT_SETTINGS: OperatorSettings = {
  namespace: 'thinpool-system',
  agentImage: 'ghcr.io/thinpool-operator/thinpool-operator:0.1.0',
  agentImagePullPolicy: 'IfNotPresent',
  agentServiceAccount: 'thinpool-agent',
  agentPort: 9842,
  agentPriorityClassName: 'system-node-critical',
  agentResources: { requests: { cpu: '20m', memory: '64Mi' } },
  agentImagePullSecrets: [],
  agentNotReadyGraceMs: 180_000,
  maxFailingNodes: 10,
  drainRetryMs: 5000,
};
