import type { ThinPool, Toleration } from '../../api/v1alpha1/types.js';
import type { NodeObject, Taint } from './kube-types.js';

/**
 * Taints the DaemonSet controller tolerates on its own for every daemon Pod (it adds these tolerations
 * to the Pods), so they never keep an agent off a node.
 */
const DAEMONSET_DEFAULT_TOLERATIONS: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** True when `labels` carry every key/value of `selector` (an empty selector matches every node). */
export function matchesNodeSelector(
  labels: Record<string, string> | undefined,
  selector: Record<string, string> | undefined,
): boolean {
  for (const [key, value] of Object.entries(selector ?? {})) {
    if (labels?.[key] !== value) return false;
  }
  return true;
}

/** core/v1 `Toleration.ToleratesTaint`. */
export function toleratesTaint(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  if (!toleration.key && toleration.operator !== 'Exists') return false;
  if (toleration.operator === 'Exists') return true;
  return (toleration.value ?? '') === (taint.value ?? '');
}

/** True when every NoSchedule / NoExecute taint of the node is tolerated. */
export function toleratesNodeTaints(
  tolerations: readonly Toleration[] | undefined,
  taints: readonly Taint[] = [],
) {
  const all = [...(tolerations ?? []), ...DAEMONSET_DEFAULT_TOLERATIONS];
  return taints.every(
    (taint) => taint.effect === 'PreferNoSchedule' || all.some((t) => toleratesTaint(t, taint)),
  );
}

/**
 * A test of whether the agent DaemonSet of `thinPool` would run on a node: its nodeSelector matches, its
 * taints are tolerated, and the node is not being deleted. These are the pool's desired nodes. Built once
 * per reconcile and applied to every node.
 */
export function eligibilityOf(thinPool: Pick<ThinPool, 'spec'>): (node: NodeObject) => boolean {
  const selector = Object.entries(thinPool.spec.nodeSelector ?? {});
  const tolerations = [...(thinPool.spec.tolerations ?? []), ...DAEMONSET_DEFAULT_TOLERATIONS];
  return (node) => {
    if (node.metadata.deletionTimestamp) return false;
    const labels = node.metadata.labels;
    if (!selector.every(([key, value]) => labels?.[key] === value)) return false;
    const taints = node.spec?.taints;
    if (!taints || taints.length === 0) return true;
    return taints.every(
      (t) => t.effect === 'PreferNoSchedule' || tolerations.some((tol) => toleratesTaint(tol, t)),
    );
  };
}

/** True when the agent DaemonSet of `thinPool` would run on `node` (see {@link eligibilityOf}). */
export function nodeIsEligible(thinPool: Pick<ThinPool, 'spec'>, node: NodeObject): boolean {
  return eligibilityOf(thinPool)(node);
}
