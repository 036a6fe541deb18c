/**
 * PodDisruptionBudgets and the eviction subresource: the budget arithmetic of the disruption controller
 * and the allow/deny decision of kube-apiserver's eviction REST handler, as pure functions.
 */
import { isPodReady, type KubeObject } from './resources.js';
import { labelSelectorFromObject, matchesLabels } from './selectors.js';
import { ApiError, tooManyRequests } from './status.js';

/** What the disruption controller writes into a PDB's status. */
export interface PdbAssessment {
  expectedPods: number;
  currentHealthy: number;
  desiredHealthy: number;
  disruptionsAllowed: number;
}

interface PdbSpec {
  selector?: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };
  minAvailable?: number | string;
  maxUnavailable?: number | string;
  unhealthyPodEvictionPolicy?: 'IfHealthyBudget' | 'AlwaysAllow';
}

/** Resolves an int-or-percent against a total, rounding percentages up as the disruption controller does. */
export function resolveIntOrPercent(value: number | string, total: number): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+)%$/.exec(value);
  if (!match) return Number.parseInt(value, 10) || 0;
  return Math.ceil((Number(match[1]) * total) / 100);
}

/** Whether a PDB selects a pod (same namespace; a missing selector selects nothing). */
export function pdbSelects(pdb: KubeObject, pod: KubeObject): boolean {
  const spec = (pdb.spec ?? {}) as PdbSpec;
  if (pdb.metadata.namespace !== pod.metadata.namespace || !spec.selector) return false;
  return matchesLabels(labelSelectorFromObject(spec.selector), pod.metadata.labels);
}

/**
 * Computes a PDB's budget from the pods it selects: expected pods are the selected pods (there is no
 * workload controller to ask for a scale), healthy ones are Ready and not being deleted.
 */
export function assessPdb(pdb: KubeObject, pods: KubeObject[]): PdbAssessment {
  const spec = (pdb.spec ?? {}) as PdbSpec;
  const selected = pods.filter((pod) => pdbSelects(pdb, pod));
  const expectedPods = selected.length;
  const currentHealthy = selected.filter((pod) => !pod.metadata.deletionTimestamp && isPodReady(pod)).length;
  let desiredHealthy = 0;
  if (spec.maxUnavailable !== undefined) {
    desiredHealthy = Math.max(0, expectedPods - resolveIntOrPercent(spec.maxUnavailable, expectedPods));
  } else if (spec.minAvailable !== undefined) {
    desiredHealthy = resolveIntOrPercent(spec.minAvailable, expectedPods);
  }
  return {
    expectedPods,
    currentHealthy,
    desiredHealthy,
    disruptionsAllowed: Math.max(0, currentHealthy - desiredHealthy),
  };
}

function isTerminal(pod: KubeObject): boolean {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending';
}

/**
 * Decides whether a pod may be evicted given the PDBs of its namespace and every pod they may select.
 * Throws 429 TooManyRequests when a budget would be violated, 500 when several PDBs select the pod.
 */
export function decideEviction(pod: KubeObject, pdbs: KubeObject[], pods: KubeObject[]): void {
  if (isTerminal(pod) || pod.metadata.deletionTimestamp) return;
  const matching = pdbs.filter((pdb) => pdbSelects(pdb, pod));
  if (matching.length === 0) return;
  if (matching.length > 1) {
    throw new ApiError(
      500,
      'InternalError',
      'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
    );
  }
  const pdb = matching[0];
  const budget = assessPdb(pdb, pods);
  if (!isPodReady(pod)) {
    const policy = ((pdb.spec ?? {}) as PdbSpec).unhealthyPodEvictionPolicy ?? 'IfHealthyBudget';
    if (policy === 'AlwaysAllow' || budget.currentHealthy >= budget.desiredHealthy) return;
  } else if (budget.disruptionsAllowed > 0) {
    return;
  }
  throw tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", [
    {
      reason: 'DisruptionBudget',
      message: `The disruption budget ${pdb.metadata.name} needs ${budget.desiredHealthy} healthy pods and has ${budget.currentHealthy} currently`,
    },
  ]);
}
