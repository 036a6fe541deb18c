import type { ThinPoolNode } from '../../api/v1alpha1/types.js';
import { findCondition } from '../../common/conditions.js';
import type { PodObject } from './kube-types.js';

/** Where one node of a pool stands. */
export type NodeState = 'ready' | 'pending' | 'failed';

/** Everything the operator knows about one desired node of a pool. */
export interface NodeObservation {
  nodeName: string;
  thinPoolNode?: ThinPoolNode;
  /** The agent Pods of this pool on this node (several while one replaces another). */
  agentPods: PodObject[];
}

/** The verdict on one node. */
export interface NodeVerdict {
  nodeName: string;
  state: NodeState;
  /** CamelCase reason when not ready. */
  reason: string;
  message: string;
  /** False when the agent has not yet acted on the ThinPool's current generation. */
  upToDate: boolean;
  /** When the verdict changes by itself (a grace period ends), in ms since the epoch. */
  recheckAtMs?: number;
}

/** Settings of {@link classifyNode}. */
export interface ClassifyOptions {
  /** The ThinPool's current `metadata.generation`. */
  generation: number;
  nowMs: number;
  /** An agent Pod not Ready for this long makes its node failed. */
  agentNotReadyGraceMs: number;
}

function timeOf(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function readyCondition(pod: PodObject) {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

/** The pod that speaks for the node: a running Ready one, else the newest one not being deleted. */
export function currentAgentPod(pods: readonly PodObject[]): PodObject | undefined {
  if (pods.length === 1 && !pods[0].metadata.deletionTimestamp) return pods[0];
  const live = pods.filter((p) => !p.metadata.deletionTimestamp);
  const ready = live.find((p) => readyCondition(p)?.status === 'True');
  if (ready) return ready;
  const candidates = live.length > 0 ? live : [...pods];
  return candidates.sort((a, b) =>
    (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
  )[0];
}

/**
 * Classifies one node of a pool (pure). A node is ready only when its agent reports the pool Ready *and*
 * its agent Pod is Ready: the kubelet keeps the Pod's Ready condition current, so that is the agent's
 * liveness and agents need no frequent heartbeats. A failure the agent reports, or an agent that has not
 * been Ready for longer than the grace period, makes the node failed; anything else is pending.
 */
export function classifyNode(observation: NodeObservation, options: ClassifyOptions): NodeVerdict {
  const { nodeName, thinPoolNode } = observation;
  const base = { nodeName };
  if (!thinPoolNode) {
    return {
      ...base,
      state: 'pending',
      reason: 'Pending',
      message: 'ThinPoolNode not created yet',
      upToDate: false,
    };
  }
  const status = thinPoolNode.status;
  const ready = findCondition(status?.conditions, 'Ready');
  const upToDate =
    status?.observedGeneration === undefined || status.observedGeneration >= options.generation;
  if (status?.phase === 'Failed') {
    const failed = ready?.status === 'False' ? ready : status.conditions?.find((c) => c.status === 'False');
    return {
      ...base,
      state: 'failed',
      reason: failed?.reason || 'Failed',
      message: failed?.message || 'The agent reported the pool as failed',
      upToDate,
    };
  }

  const pod = currentAgentPod(observation.agentPods);
  if (!pod) {
    const since = timeOf(thinPoolNode.metadata.creationTimestamp) ?? options.nowMs;
    return agentProblem(base, upToDate, since, options, 'AgentNotScheduled', 'No agent Pod runs on the node');
  }
  const podReady = readyCondition(pod);
  if (podReady?.status !== 'True') {
    const since =
      timeOf(podReady?.lastTransitionTime) ?? timeOf(pod.metadata.creationTimestamp) ?? options.nowMs;
    const detail = podReady?.message || podReady?.reason || pod.status?.phase || 'not Ready';
    return agentProblem(
      base,
      upToDate,
      since,
      options,
      'AgentNotReady',
      `Agent Pod ${pod.metadata.name}: ${detail}`,
    );
  }

  if (!status?.phase && !ready) {
    return {
      ...base,
      state: 'pending',
      reason: 'AwaitingAgent',
      message: 'The agent has not reported yet',
      upToDate,
    };
  }
  if (ready?.status === 'True') {
    return { ...base, state: 'ready', reason: ready.reason || 'Ready', message: ready.message, upToDate };
  }
  return {
    ...base,
    state: 'pending',
    reason: ready?.reason || status?.phase || 'Pending',
    message: ready?.message || `Phase ${status?.phase ?? 'unknown'}`,
    upToDate,
  };
}

function agentProblem(
  base: { nodeName: string },
  upToDate: boolean,
  sinceMs: number,
  options: ClassifyOptions,
  reason: string,
  message: string,
): NodeVerdict {
  const failAtMs = sinceMs + options.agentNotReadyGraceMs;
  if (options.nowMs >= failAtMs) return { ...base, state: 'failed', reason, message, upToDate };
  return { ...base, state: 'pending', reason, message, upToDate, recheckAtMs: failAtMs };
}
