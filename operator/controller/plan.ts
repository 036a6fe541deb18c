import {
  API_VERSION,
  CLEANUP_FINALIZER,
  thinPoolNodeName,
  type Condition,
  type ThinPool,
  type ThinPoolNode,
  type ThinPoolStatus,
} from '../../api/v1alpha1/types.js';
import { findCondition } from '../../common/conditions.js';
import { daemonSetDrift, daemonSetUpdate, desiredDaemonSet, ownerReferenceTo } from './daemon-set.js';
import { hostDirectoryProblem } from './host-path.js';
import type { DaemonSetObject, NodeObject, PodObject } from './kube-types.js';
import { Labels, MAX_NAME_LENGTH, labelValue } from './names.js';
import { eligibilityOf } from './node-selection.js';
import { conflictMessage, type PoolConflict } from './conflicts.js';
import { classifyNode, type NodeVerdict } from './node-state.js';
import { CORDONED_BY_ANNOTATION, planRollout, type RolloutAction } from './rollout.js';
import type { OperatorSettings } from './settings.js';
import { computeStatus } from './status.js';

/** What the reconciler observed about one ThinPool, from the informer caches. */
export interface ObservedState {
  thinPool: ThinPool;
  /** Every Node of the cluster. */
  nodes: readonly NodeObject[];
  /** ThinPoolNodes whose `spec.thinPool` is this pool. */
  thinPoolNodes: readonly ThinPoolNode[];
  /** Agent Pods labelled for this pool. */
  agentPods: readonly PodObject[];
  /** The pool's agent DaemonSet, if it exists. */
  daemonSet?: DaemonSetObject;
  /** Set when an older ThinPool claims the same volume group or runtime on some of the same nodes. */
  conflict?: PoolConflict;
  /** Pods on the nodes this pool is draining for its runtime switch, by node name (listed each reconcile). */
  podsOnNodes?: ReadonlyMap<string, readonly PodObject[]>;
}

/** A ThinPoolNode to delete, and why. */
export interface Removal {
  name: string;
  nodeName: string;
  reason: string;
  /** The uid seen, so that a newer object of the same name is never deleted by mistake. */
  uid?: string;
}

/** One step of a plan; each is idempotent. */
export type Action =
  | { type: 'addFinalizer' }
  | { type: 'removeFinalizer'; retained: boolean }
  | { type: 'createDaemonSet'; daemonSet: DaemonSetObject }
  | { type: 'updateDaemonSet'; daemonSet: DaemonSetObject; reason: string }
  | { type: 'deleteDaemonSet'; name: string }
  | { type: 'createThinPoolNodes'; objects: ThinPoolNode[] }
  | { type: 'adoptThinPoolNodes'; objects: ThinPoolNode[] }
  | { type: 'deleteThinPoolNodes'; removals: Removal[] }
  | RolloutAction;

/** An Event the reconciler should record on the ThinPool. */
export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** The outcome of {@link planThinPool}. */
export interface Plan {
  actions: Action[];
  /** The status to have after the actions (undefined: the object is going away, write nothing). */
  status?: ThinPoolStatus;
  /** Events for condition transitions (the apply step adds one per action). */
  events: PlannedEvent[];
  /** Reconcile again after this long even if nothing changes (a grace period ends). */
  requeueAfterMs?: number;
  /** Per-node verdicts behind the status (for metrics and logs). */
  verdicts: NodeVerdict[];
}

/** The ThinPoolNode the operator creates for a pool on a node (its agent fills the status). */
export function desiredThinPoolNode(thinPool: ThinPool, nodeName: string): ThinPoolNode {
  const poolName = thinPool.metadata.name ?? '';
  return {
    apiVersion: API_VERSION,
    kind: 'ThinPoolNode',
    metadata: {
      name: thinPoolNodeName(poolName, nodeName),
      labels: { [Labels.pool]: labelValue(poolName), [Labels.node]: labelValue(nodeName) },
      ownerReferences: [ownerReferenceTo(thinPool)],
    },
    spec: { thinPool: poolName, nodeName },
  };
}

/** Why the operator cannot render agents for this spec (undefined when it can). */
export function specProblem(thinPool: ThinPool): string | undefined {
  const directory = thinPool.spec.loop?.directory;
  if (directory !== undefined) {
    const problem = hostDirectoryProblem(directory);
    if (problem) return `spec.loop.directory: Invalid value: "${directory}": ${problem}`;
  }
  return undefined;
}

/** Who owns a ThinPoolNode: this ThinPool, another (earlier) one, or nobody (an agent created it first). */
function ownership(obj: ThinPoolNode, thinPool: ThinPool): 'ours' | 'other' | 'none' {
  const owners = (obj.metadata.ownerReferences ?? []).filter((r) => r.kind === 'ThinPool');
  if (owners.length === 0) return 'none';
  return owners.some((r) => r.uid === thinPool.metadata.uid) ? 'ours' : 'other';
}

function daemonSetActions(thinPool: ThinPool, observed: ObservedState, settings: OperatorSettings): Action[] {
  const desired = desiredDaemonSet(thinPool, settings);
  if (!observed.daemonSet || observed.daemonSet.metadata.deletionTimestamp) {
    return observed.daemonSet ? [] : [{ type: 'createDaemonSet', daemonSet: desired }];
  }
  const drift = daemonSetDrift(desired, observed.daemonSet);
  if (!drift) return [];
  return [
    { type: 'updateDaemonSet', daemonSet: daemonSetUpdate(desired, observed.daemonSet), reason: drift },
  ];
}

/**
 * Plans one reconcile of a ThinPool (pure): the finalizer, the agent DaemonSet, one ThinPoolNode per
 * desired node (and none for nodes that are gone or no longer match), the status, and on deletion the
 * `deletionPolicy`: `Retain` removes the agents and keeps the pools on the hosts; `Delete` keeps the
 * agents running until every node reports its pool `Deleted` (or the node is gone), then removes them.
 */
export function planThinPool(observed: ObservedState, settings: OperatorSettings, nowMs: number): Plan {
  const { thinPool } = observed;
  const poolName = thinPool.metadata.name ?? '';
  const hasFinalizer = (thinPool.metadata.finalizers ?? []).includes(CLEANUP_FINALIZER);
  const deleting = Boolean(thinPool.metadata.deletionTimestamp);
  const actions: Action[] = [];
  const nodesByName = new Map(observed.nodes.map((n) => [n.metadata.name ?? '', n]));
  const eligible = observed.nodes.filter(eligibilityOf(thinPool)).map((n) => n.metadata.name ?? '');
  const eligibleSet = new Set(eligible);

  if (deleting && !hasFinalizer) return { actions, events: [], verdicts: [] };

  const teardown = (retained: boolean): Action[] => {
    const steps: Action[] = [];
    // Never leave a node cordoned by a rollout that is going away.
    for (const node of observed.nodes) {
      if (node.metadata.annotations?.[CORDONED_BY_ANNOTATION] === poolName)
        steps.push({ type: 'uncordon', nodeName: node.metadata.name ?? '' });
    }
    if (observed.daemonSet)
      steps.push({ type: 'deleteDaemonSet', name: observed.daemonSet.metadata.name ?? '' });
    const removals = observed.thinPoolNodes.map((t) => ({
      name: t.metadata.name ?? '',
      nodeName: t.spec.nodeName,
      reason: 'the ThinPool is deleted',
      uid: t.metadata.uid,
    }));
    if (removals.length > 0) steps.push({ type: 'deleteThinPoolNodes', removals });
    steps.push({ type: 'removeFinalizer', retained });
    return steps;
  };
  if (deleting && thinPool.spec.deletionPolicy !== 'Delete') {
    return { actions: teardown(true), events: [], verdicts: [] };
  }

  if (!deleting && !hasFinalizer) actions.push({ type: 'addFinalizer' });
  const problem = specProblem(thinPool);
  const conflict = observed.conflict ? conflictMessage(poolName, observed.conflict) : undefined;
  if (conflict) {
    // Refused as a whole: no agent may touch the volume group the older ThinPool manages.
    if (observed.daemonSet && !observed.daemonSet.metadata.deletionTimestamp)
      actions.push({ type: 'deleteDaemonSet', name: observed.daemonSet.metadata.name ?? '' });
  } else if (!problem) actions.push(...daemonSetActions(thinPool, observed, settings));

  // ThinPoolNodes: one per desired node, owned by this ThinPool (a leftover of an earlier ThinPool with
  // the same name is replaced).
  const current = new Map<string, ThinPoolNode>();
  const removals: Removal[] = [];
  const adoptions: ThinPoolNode[] = [];
  for (const tpn of observed.thinPoolNodes) {
    const nodeName = tpn.spec.nodeName;
    const name = tpn.metadata.name ?? '';
    const uid = tpn.metadata.uid;
    if (tpn.metadata.deletionTimestamp) continue;
    const owner = ownership(tpn, thinPool);
    if (owner === 'other')
      removals.push({ name, nodeName, uid, reason: 'it belongs to an earlier ThinPool' });
    else if (!nodesByName.has(nodeName)) removals.push({ name, nodeName, uid, reason: 'the node is gone' });
    else if (!eligibleSet.has(nodeName) && !deleting) {
      removals.push({ name, nodeName, uid, reason: 'the node no longer matches' });
    } else {
      current.set(nodeName, tpn);
      if (owner === 'none') adoptions.push(tpn);
    }
  }
  const creations: ThinPoolNode[] = [];
  const verdicts: NodeVerdict[] = [];
  const podsByNode = new Map<string, PodObject[]>();
  for (const pod of observed.agentPods) {
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) continue;
    const list = podsByNode.get(nodeName) ?? [];
    list.push(pod);
    podsByNode.set(nodeName, list);
  }
  const generation = thinPool.metadata.generation ?? 0;
  const desiredNodes = deleting ? [...new Set([...eligible, ...current.keys()])].sort() : eligible;
  for (const nodeName of desiredNodes) {
    const tpn = current.get(nodeName);
    if (!tpn) {
      if (thinPoolNodeName(poolName, nodeName).length > MAX_NAME_LENGTH) {
        verdicts.push({
          nodeName,
          state: 'failed',
          reason: 'NameTooLong',
          message: `ThinPoolNode name ${poolName}.${nodeName} exceeds ${MAX_NAME_LENGTH} characters`,
          upToDate: true,
        });
        continue;
      }
      if (!conflict && !removals.some((r) => r.nodeName === nodeName))
        creations.push(desiredThinPoolNode(thinPool, nodeName));
    }
    verdicts.push(
      classifyNode(
        { nodeName, thinPoolNode: tpn, agentPods: podsByNode.get(nodeName) ?? [] },
        { generation, nowMs, agentNotReadyGraceMs: settings.agentNotReadyGraceMs },
      ),
    );
  }
  if (creations.length > 0) actions.push({ type: 'createThinPoolNodes', objects: creations });
  if (adoptions.length > 0) actions.push({ type: 'adoptThinPoolNodes', objects: adoptions });
  if (removals.length > 0) actions.push({ type: 'deleteThinPoolNodes', removals });

  let deletion: { waitingFor: string[] } | undefined;
  if (deleting) {
    const waitingFor = desiredNodes.filter((n) => current.get(n)?.status?.phase !== 'Deleted');
    if (waitingFor.length === 0) return { actions: teardown(false), events: [], verdicts };
    deletion = { waitingFor };
  }

  const rollout = planRollout({
    thinPool,
    desiredNodes,
    nodes: nodesByName,
    thinPoolNodes: current,
    podsOnNodes: observed.podsOnNodes ?? new Map(),
    allowed: !problem && !conflict,
  });
  actions.push(...rollout.actions);

  const status = computeStatus({
    thinPool,
    verdicts,
    thinPoolNodes: current,
    specProblem: problem,
    conflict,
    runtimeRollout: rollout.condition,
    deletion,
    nowMs,
    maxFailingNodes: settings.maxFailingNodes,
  });
  const rechecks = verdicts.map((v) => v.recheckAtMs).filter((t): t is number => t !== undefined);
  const waits = rechecks.length > 0 ? [Math.max(1000, Math.min(...rechecks) - nowMs)] : [];
  // Pods leave a draining node without an event the operator watches: look again after a while.
  if (rollout.draining.length > 0) waits.push(settings.drainRetryMs);
  const requeueAfterMs = waits.length > 0 ? Math.min(...waits) : undefined;
  return {
    actions,
    status,
    events: transitionEvents(thinPool.status?.conditions, status.conditions),
    requeueAfterMs,
    verdicts,
  };
}

/** Events for condition transitions between two statuses (pure; a status that holds produces none). */
export function transitionEvents(
  before: readonly Condition[] | undefined,
  after: readonly Condition[] | undefined,
): PlannedEvent[] {
  const events: PlannedEvent[] = [];
  const changed = (type: string): Condition | undefined => {
    const next = findCondition(after, type);
    const prev = findCondition(before, type);
    if (!next || (prev && prev.status === next.status && prev.reason === next.reason)) return undefined;
    return next;
  };
  const ready = changed('Ready');
  if (ready?.status === 'True')
    events.push({ type: 'Normal', reason: 'Ready', message: `ThinPool is ready: ${ready.message}` });
  const rollout = changed('RuntimeRollout');
  if (rollout?.reason === 'Halted') {
    events.push({ type: 'Warning', reason: 'RuntimeRolloutHalted', message: rollout.message });
  } else if (rollout?.status === 'True' && findCondition(before, 'RuntimeRollout')?.reason === 'Halted') {
    events.push({ type: 'Normal', reason: 'RuntimeRolloutResumed', message: rollout.message });
  } else if (rollout?.reason === 'Complete') {
    events.push({ type: 'Normal', reason: 'RuntimeRolloutComplete', message: rollout.message });
  }
  const degraded = changed('Degraded');
  if (degraded?.status === 'True')
    events.push({ type: 'Warning', reason: degraded.reason, message: degraded.message });
  else if (degraded && findCondition(before, 'Degraded')?.status === 'True') {
    events.push({ type: 'Normal', reason: 'Recovered', message: 'ThinPool is no longer degraded' });
  }
  return events;
}
