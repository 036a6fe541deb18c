import type { Condition } from '../api/v1alpha1/types.js';

/** The fields a caller decides; `lastTransitionTime` is managed by {@link setCondition}. */
export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/** Longest message kube-apiserver accepts in a condition (`maxLength: 32768`). */
const MAX_MESSAGE = 32768;

/**
 * Returns a new condition list with `input` set, apimachinery `meta.SetStatusCondition` semantics:
 * replaced in place by `type`, `lastTransitionTime` bumped only when `status` changes, message truncated
 * to the API limit. The input list is not modified.
 */
export function setCondition(
  list: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date,
): Condition[] {
  const message = input.message.length > MAX_MESSAGE ? input.message.slice(0, MAX_MESSAGE) : input.message;
  const existing = (list ?? []).find((c) => c.type === input.type);
  const lastTransitionTime =
    existing && existing.status === input.status ? existing.lastTransitionTime : now.toISOString();
  const next: Condition = { ...input, message, lastTransitionTime };
  if (!existing) return [...(list ?? []), next];
  return (list ?? []).map((c) => (c.type === input.type ? next : c));
}

/** Finds a condition by type. */
export function findCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

/** True when the condition of `type` exists with status `True`. */
export function isConditionTrue(list: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(list, type)?.status === 'True';
}
