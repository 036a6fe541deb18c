import {
  AWAITING_ROLLOUT,
  ThinPoolConditions,
  ThinPoolNodeConditions,
  type RuntimeSwitch,
  type ThinPool,
  type ThinPoolNode,
} from '../../api/v1alpha1/types.js';
import { findCondition, type ConditionInput } from '../../common/conditions.js';
import type { NodeObject, PodObject } from './kube-types.js';
import { AGENT_NAME, Labels } from './names.js';

/**
 * Annotation the operator puts on a Node it cordoned for a runtime switch, valued with the ThinPool's name.
 * Only a Node carrying it is uncordoned afterwards: a Node an admin had cordoned stays cordoned.
 */
export const CORDONED_BY_ANNOTATION = 'thinpool.dev/cordoned-by';

/** Annotation of a mirror (static) Pod: the kubelet owns it, eviction cannot remove it. */
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

/** `RuntimeConfigured` reasons of a node that is on its way, not failed. */
const WAITING_REASONS = new Set([AWAITING_ROLLOUT, 'Switching']);

/** Where a node's container runtime stands, from its agent's `RuntimeConfigured` condition. */
export type NodeRuntimeState =
  /** `RuntimeConfigured` True: nothing to switch. */
  | 'configured'
  /** The agent would switch and waits for the operator (`AwaitingRollout`). */
  | 'awaiting'
  /** The agent's host-side one-shot is switching (`Switching`). */
  | 'switching'
  /** Any other `False`: rolled back, failed, refused, not verified. */
  | 'failed'
  /** No `RuntimeConfigured` yet (the pool is not ready, or the agent has not reported). */
  | 'unknown';

/** The runtime state of one node (pure). */
export function nodeRuntimeState(thinPoolNode: ThinPoolNode | undefined): {
  state: NodeRuntimeState;
  reason: string;
  message: string;
} {
  const condition = findCondition(thinPoolNode?.status?.conditions, ThinPoolNodeConditions.RuntimeConfigured);
  if (!condition) return { state: 'unknown', reason: 'NotReported', message: 'No RuntimeConfigured yet' };
  const { reason, message } = condition;
  if (condition.status === 'True') return { state: 'configured', reason, message };
  if (reason === AWAITING_ROLLOUT) return { state: 'awaiting', reason, message };
  if (WAITING_REASONS.has(reason)) return { state: 'switching', reason, message };
  return { state: 'failed', reason, message };
}

/** A Pod to evict, by namespace and name. */
export interface PodRef {
  namespace: string;
  name: string;
}

/**
 * Whether a drain leaves this Pod where it is (pure): DaemonSet Pods (the DaemonSet controller would put
 * them back at once, and they tolerate the cordon), mirror Pods (the kubelet owns them) and thinpool agents
 * (they perform the switch).
 */
export function isExemptFromDrain(pod: PodObject): boolean {
  const meta = pod.metadata;
  return (
    (meta.ownerReferences?.some((r) => r.kind === 'DaemonSet' && r.controller !== false) ?? false) ||
    meta.annotations?.[MIRROR_POD_ANNOTATION] !== undefined ||
    meta.labels?.[Labels.name] === AGENT_NAME
  );
}

/** Whether a drain evicts this Pod (pure): not exempt, and not already terminating (it is on its way out). */
export function isEvictable(pod: PodObject): boolean {
  return !isExemptFromDrain(pod) && !pod.metadata.deletionTimestamp;
}

/** One step of a rollout; each is idempotent. */
export type RolloutAction =
  /** Set (or clear, `null`) `ThinPoolNode.spec.runtimeSwitch`. */
  | { type: 'setRuntimeSwitch'; nodeName: string; thinPoolNode: string; value: RuntimeSwitch | null }
  /** `spec.unschedulable: true` and the {@link CORDONED_BY_ANNOTATION}. */
  | { type: 'cordon'; nodeName: string }
  /** Evict Pods through the Eviction API (a PodDisruptionBudget may refuse: retried later). */
  | { type: 'evict'; nodeName: string; pods: PodRef[] }
  /** `spec.unschedulable` back to false and the annotation removed (only on a Node the operator cordoned). */
  | { type: 'uncordon'; nodeName: string };

/** What a rollout plan is computed from. */
export interface RolloutInput {
  thinPool: ThinPool;
  /** The ThinPool's desired nodes, in order. */
  desiredNodes: readonly string[];
  /** Every Node by name. */
  nodes: ReadonlyMap<string, NodeObject>;
  /** The pool's current ThinPoolNodes by node name. */
  thinPoolNodes: ReadonlyMap<string, ThinPoolNode>;
  /** Pods observed on the nodes being drained (`spec.runtimeSwitch: Draining`), by node name. */
  podsOnNodes: ReadonlyMap<string, readonly PodObject[]>;
  /** False when the operator must not start or advance anything (a pool conflict, an invalid spec). */
  allowed: boolean;
}

/** The outcome of {@link planRollout}. */
export interface RolloutPlan {
  actions: RolloutAction[];
  /** The `RuntimeRollout` condition (undefined with `runtime.type: none`: the condition is removed). */
  condition?: ConditionInput;
  /** Nodes whose Pods the next reconcile must list (those draining). */
  draining: string[];
}

/** Nodes a plan of this ThinPool must observe the Pods of: those whose ThinPoolNode says `Draining`. */
export function nodesToDrain(thinPoolNodes: Iterable<ThinPoolNode>): string[] {
  return [...thinPoolNodes].filter((t) => t.spec.runtimeSwitch === 'Draining').map((t) => t.spec.nodeName);
}

function listNames(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/**
 * Plans one step of the node-by-node runtime switch of a ThinPool (pure, level-based: everything it
 * decides from is in the API objects, so a restarted operator carries on where the last one stopped).
 *
 * A node holds one of `drain.maxUnavailable` slots from the moment the operator starts it (its
 * ThinPoolNode's `spec.runtimeSwitch` set, or its Node carrying our {@link CORDONED_BY_ANNOTATION}) until
 * its agent reports `RuntimeConfigured` True. Starting a node: with `drain.enabled`, `Draining` and a cordon
 * (an already unschedulable Node is left as the admin made it and never uncordoned), then evictions until
 * no evictable Pod is left, then `Allowed`; without drain, `Allowed` at once. A configured node is
 * uncordoned (if we cordoned it) and its permission cleared. A node whose agent reports a failure halts the
 * rollout: no further node starts, the failed one stays cordoned, and the rollout resumes by itself once
 * that agent reports `RuntimeConfigured` True (or the node leaves the pool).
 */
export function planRollout(input: RolloutInput): RolloutPlan {
  const { thinPool, nodes, thinPoolNodes } = input;
  const pool = thinPool.metadata.name ?? '';
  const runtime = thinPool.spec.runtime;
  const type = runtime?.type ?? 'none';
  const drain = runtime?.drain ?? { enabled: false, maxUnavailable: 1 };
  const actions: RolloutAction[] = [];
  const draining: string[] = [];
  const desired = new Set(input.desiredNodes);
  const ourCordon = (name: string) =>
    nodes.get(name)?.metadata.annotations?.[CORDONED_BY_ANNOTATION] === pool;
  const uncordon = (name: string) => actions.push({ type: 'uncordon', nodeName: name });
  const setSwitch = (name: string, value: RuntimeSwitch | null) => {
    const tpn = thinPoolNodes.get(name);
    if (!tpn || (tpn.spec.runtimeSwitch ?? null) === value) return;
    actions.push({ type: 'setRuntimeSwitch', nodeName: name, thinPoolNode: tpn.metadata.name ?? '', value });
  };

  // Nodes this pool cordoned that left the pool: give them back.
  for (const [name, node] of nodes) {
    if (!desired.has(name) && node.metadata.annotations?.[CORDONED_BY_ANNOTATION] === pool) uncordon(name);
  }

  const deleting = Boolean(thinPool.metadata.deletionTimestamp);
  if (type === 'none' || thinPool.spec.mode === 'Plan' || deleting || !input.allowed) {
    // Nothing to roll (or not allowed to): release every node this pool holds.
    for (const name of input.desiredNodes) {
      if (ourCordon(name)) uncordon(name);
      setSwitch(name, null);
    }
    let condition: ConditionInput | undefined;
    if (deleting) {
      condition = rolloutCondition('False', 'Deleting', 'The ThinPool is being deleted: no node is switched');
    } else if (!input.allowed) {
      condition = rolloutCondition(
        'False',
        'Blocked',
        'The ThinPool is not accepted (see Ready): no node is switched',
      );
    } else if (type !== 'none') {
      condition = rolloutCondition(
        'False',
        'PlanMode',
        'Plan mode: agents report the runtime switch they would make; no node is switched',
      );
    }
    return { actions, condition: type === 'none' ? undefined : condition, draining };
  }
  if (thinPool.spec.paused) {
    return {
      actions,
      condition: rolloutCondition(
        'False',
        'Paused',
        'The ThinPool is paused: no node is started or released',
      ),
      draining,
    };
  }

  const states = new Map(input.desiredNodes.map((n) => [n, nodeRuntimeState(thinPoolNodes.get(n))]));
  const inProgress = input.desiredNodes.filter(
    (n) => thinPoolNodes.get(n)?.spec.runtimeSwitch !== undefined || ourCordon(n),
  );
  const failed = input.desiredNodes.filter((n) => states.get(n)?.state === 'failed');
  const busy = new Set<string>();

  const advance = (name: string, current: RuntimeSwitch | undefined) => {
    const node = nodes.get(name);
    if (!drain.enabled) {
      setSwitch(name, 'Allowed');
      return;
    }
    if (current === 'Allowed') return;
    if (current === undefined) {
      setSwitch(name, 'Draining');
      if (!node?.spec?.unschedulable) actions.push({ type: 'cordon', nodeName: name });
      draining.push(name);
      return;
    }
    if (!node?.spec?.unschedulable && !ourCordon(name)) actions.push({ type: 'cordon', nodeName: name });
    draining.push(name);
    const pods = input.podsOnNodes.get(name);
    if (pods === undefined) return;
    const evictable = pods.filter(isEvictable);
    if (evictable.length > 0) {
      actions.push({
        type: 'evict',
        nodeName: name,
        pods: evictable.map((p) => ({ namespace: p.metadata.namespace ?? '', name: p.metadata.name ?? '' })),
      });
    } else if (pods.every(isExemptFromDrain)) {
      setSwitch(name, 'Allowed');
    }
  };

  for (const name of inProgress) {
    const state = states.get(name)!.state;
    const current = thinPoolNodes.get(name)?.spec.runtimeSwitch;
    if (state === 'configured') {
      if (ourCordon(name)) uncordon(name);
      setSwitch(name, null);
      continue;
    }
    busy.add(name);
    if (state !== 'failed') advance(name, current);
  }

  const halted = failed.length > 0;
  if (!halted) {
    const free = Math.max(0, drain.maxUnavailable - busy.size);
    const next = input.desiredNodes
      .filter((n) => !busy.has(n) && !inProgress.includes(n) && states.get(n)?.state === 'awaiting')
      .filter((n) => thinPoolNodes.has(n))
      .slice(0, free);
    for (const name of next) {
      busy.add(name);
      advance(name, undefined);
    }
  }

  const configured = input.desiredNodes.filter((n) => states.get(n)?.state === 'configured').length;
  const total = input.desiredNodes.length;
  let condition: ConditionInput;
  if (halted) {
    const details = failed
      .slice(0, 3)
      .map((n) => {
        const s = states.get(n)!;
        const held = ourCordon(n) || nodes.get(n)?.spec?.unschedulable ? ' (stays cordoned)' : '';
        return `${n}${held}: ${s.reason}: ${truncate(s.message, 200)}`;
      })
      .join('; ');
    const more = failed.length > 3 ? `; and ${failed.length - 3} more` : '';
    condition = rolloutCondition(
      'False',
      'Halted',
      `Runtime rollout halted at ${failed.length === 1 ? 'node' : 'nodes'} ${details}${more}. No further node is started until the node's agent reports RuntimeConfigured True`,
    );
  } else if (configured === total) {
    condition = rolloutCondition(
      'True',
      'Complete',
      `${configured}/${total} nodes have the runtime configured`,
    );
  } else {
    const switching = [...busy].sort();
    condition = rolloutCondition(
      'True',
      'RollingOut',
      `${configured}/${total} nodes have the runtime configured` +
        (switching.length > 0 ? `; switching ${listNames(switching)}` : '') +
        ` (at most ${drain.maxUnavailable} at a time)`,
    );
  }
  return { actions, condition, draining };
}

function rolloutCondition(status: 'True' | 'False', reason: string, message: string): ConditionInput {
  return { type: ThinPoolConditions.RuntimeRollout, status, reason, message };
}
