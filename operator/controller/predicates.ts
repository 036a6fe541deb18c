import type { ThinPool } from '../../api/v1alpha1/types.js';
import type { NodeObject, PodObject } from './kube-types.js';

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * Whether a ThinPool update needs a reconcile: a resync (same object), a new generation (spec change),
 * deletion, finalizers, or a different object under the same name. A change of status alone (the
 * operator's own status write coming back through the watch) does not.
 */
export function thinPoolChangeMatters(next: ThinPool, old: ThinPool): boolean {
  if (next === old) return true;
  const a = next.metadata;
  const b = old.metadata;
  return (
    a.uid !== b.uid ||
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    !sameJson(a.finalizers, b.finalizers)
  );
}

/** Whether a Node update can change which pools select it: labels, taints, deletion. */
export function nodeChangeMatters(next: NodeObject, old: NodeObject): boolean {
  return (
    !sameJson(next.metadata.labels, old.metadata.labels) ||
    !sameJson(next.spec?.taints, old.spec?.taints) ||
    next.metadata.deletionTimestamp !== old.metadata.deletionTimestamp
  );
}

/** Whether an agent Pod update can change its node's verdict: readiness, placement, deletion. */
export function podChangeMatters(next: PodObject, old: PodObject): boolean {
  return (
    !sameJson(next.status, old.status) ||
    next.spec?.nodeName !== old.spec?.nodeName ||
    next.metadata.deletionTimestamp !== old.metadata.deletionTimestamp
  );
}
