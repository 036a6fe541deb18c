import {
  CLEANUP_FINALIZER,
  ThinPoolConditions,
  type ThinPool,
  type ThinPoolNode,
} from '../../api/v1alpha1/types.js';
import { findCondition } from '../../common/conditions.js';
import type { Logger } from '../../common/logger.js';
import type { OperatorMetrics } from '../metrics.js';
import { systemClock, type Clock } from '../../common/kube/clock.js';
import type { ReconcileResult } from '../runtime/controller.js';
import type { Informer } from '../../common/kube/informer.js';
import {
  describeError,
  httpStatusOf,
  isAlreadyExists,
  isConflict,
  isNotFound,
  type KubeClient,
} from '../../common/kube/kube-client.js';
import { findPoolConflicts } from './conflicts.js';
import { ownerReferenceTo } from './daemon-set.js';
import type { EventRecorder } from './events.js';
import type { DaemonSetObject, NodeObject, PodObject } from './kube-types.js';
import { daemonSetName, labelValue } from './names.js';
import { planThinPool, type Action, type Removal } from './plan.js';
import { CORDONED_BY_ANNOTATION, nodesToDrain, type PodRef } from './rollout.js';
import type { OperatorSettings } from './settings.js';
import { jsonEqual, statusPatch } from './status.js';

/** Index of ThinPoolNodes by `spec.thinPool`, and of agent Pods by their pool label value. */
export const POOL_INDEX = 'pool';

/** The informer caches the reconciler reads. */
export interface ReconcilerCaches {
  thinPools: Informer<ThinPool>;
  thinPoolNodes: Informer<ThinPoolNode>;
  nodes: Informer<NodeObject>;
  agentPods: Informer<PodObject>;
  daemonSets: Informer<DaemonSetObject>;
}

/** Dependencies of a {@link ThinPoolReconciler}. */
export interface ReconcilerOptions {
  client: KubeClient;
  settings: OperatorSettings;
  caches: ReconcilerCaches;
  events: EventRecorder;
  logger: Logger;
  metrics?: OperatorMetrics;
  clock?: Clock;
  /** Parallel API writes when creating or deleting many ThinPoolNodes (default 16). */
  writeConcurrency?: number;
}

/** Thrown when leadership was lost mid-reconcile: nothing more may be written. */
export class ReconcileAborted extends Error {
  constructor() {
    super('Reconcile aborted: leadership lost');
    this.name = 'ReconcileAborted';
  }
}

const THINPOOLS = '/apis/thinpool.dev/v1alpha1/thinpools';
const THINPOOLNODES = '/apis/thinpool.dev/v1alpha1/thinpoolnodes';
const NODES = '/api/v1/nodes';

function listNames(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/** Runs `task` over `items`, at most `limit` at a time; resolves with the errors (never rejects). */
async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) {
  const errors: unknown[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await task(item);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return errors;
}

/**
 * The ThinPool reconciler: observe (the informer caches) -> plan (pure, {@link planThinPool}) -> apply
 * (idempotent API writes) -> status, patched once and only when it changed.
 */
export class ThinPoolReconciler {
  private readonly clock: Clock;

  constructor(private readonly options: ReconcilerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Reconciles the ThinPool `name`. */
  async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult> {
    const { caches, settings, metrics, logger } = this.options;
    const thinPool = caches.thinPools.get(name);
    if (!thinPool) {
      metrics?.removePool(name);
      return {};
    }
    const nodes = caches.nodes.list();
    const thinPoolNodes = caches.thinPoolNodes.byIndex(POOL_INDEX, name);
    const podsOnNodes = await this.listPodsOnNodes(nodesToDrain(thinPoolNodes));
    const planStarted = performance.now();
    const plan = planThinPool(
      {
        thinPool,
        nodes,
        thinPoolNodes,
        agentPods: caches.agentPods.byIndex(POOL_INDEX, labelValue(name)),
        daemonSet: caches.daemonSets.get(daemonSetName(name), settings.namespace),
        conflict: findPoolConflicts(caches.thinPools.list(), nodes).get(name),
        podsOnNodes,
      },
      settings,
      this.clock.now(),
    );
    const planMs = Math.round((performance.now() - planStarted) * 10) / 10;
    try {
      for (const action of plan.actions) {
        if (signal.aborted) throw new ReconcileAborted();
        await this.apply(thinPool, action);
      }
      if (plan.status && !jsonEqual(plan.status, thinPool.status ?? {})) {
        if (signal.aborted) throw new ReconcileAborted();
        await this.options.client.patch(
          `${THINPOOLS}/${encodeURIComponent(name)}/status`,
          statusPatch(thinPool.status, plan.status),
        );
        logger.info('Updated ThinPool status', {
          thinPool: name,
          generation: plan.status.observedGeneration,
          planMs,
          nodes: plan.status.nodes,
          ready: plan.status.conditions?.find((c) => c.type === 'Ready')?.status,
        });
      }
    } catch (err) {
      if (!(err instanceof ReconcileAborted)) {
        await this.options.events.record(thinPool, 'Warning', 'ReconcileFailed', describeError(err));
      }
      throw err;
    }
    if (plan.status) {
      metrics?.setPool(name, plan.status.nodes ?? { desired: 0, ready: 0, failed: 0 }, plan.status.capacity!);
      metrics?.setRuntimeRollout(
        name,
        findCondition(plan.status.conditions, ThinPoolConditions.RuntimeRollout),
      );
      for (const event of plan.events)
        await this.options.events.record(thinPool, event.type, event.reason, event.message);
    } else {
      metrics?.removePool(name);
    }
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
  }

  private async apply(thinPool: ThinPool, action: Action): Promise<void> {
    const { client, logger, events, settings } = this.options;
    const name = thinPool.metadata.name ?? '';
    const poolPath = `${THINPOOLS}/${encodeURIComponent(name)}`;
    const dsPath = (dsName: string) =>
      `/apis/apps/v1/namespaces/${encodeURIComponent(settings.namespace)}/daemonsets/${encodeURIComponent(dsName)}`;
    switch (action.type) {
      case 'addFinalizer': {
        const finalizers = [...(thinPool.metadata.finalizers ?? []), CLEANUP_FINALIZER];
        await client.patch(poolPath, {
          metadata: { finalizers, resourceVersion: thinPool.metadata.resourceVersion },
        });
        logger.info('Added finalizer to ThinPool', { thinPool: name, finalizer: CLEANUP_FINALIZER });
        return;
      }
      case 'removeFinalizer': {
        const finalizers = (thinPool.metadata.finalizers ?? []).filter((f) => f !== CLEANUP_FINALIZER);
        await client.patch(poolPath, {
          metadata: { finalizers, resourceVersion: thinPool.metadata.resourceVersion },
        });
        const message = action.retained
          ? 'Removed the agents; the pools stay on the hosts (deletionPolicy Retain)'
          : 'Every node deleted its pool; removed the agents (deletionPolicy Delete)';
        logger.info('Removed finalizer from ThinPool', { thinPool: name, retained: action.retained });
        await events.record(thinPool, 'Normal', 'Finalized', message);
        return;
      }
      case 'createDaemonSet': {
        const ds = action.daemonSet;
        const dsName = ds.metadata.name ?? '';
        await client.create(
          `/apis/apps/v1/namespaces/${encodeURIComponent(settings.namespace)}/daemonsets`,
          ds,
        );
        logger.info('Created DaemonSet', { thinPool: name, daemonSet: `${settings.namespace}/${dsName}` });
        await events.record(
          thinPool,
          'Normal',
          'CreatedDaemonSet',
          `Created DaemonSet ${settings.namespace}/${dsName}`,
        );
        return;
      }
      case 'updateDaemonSet': {
        const ds = action.daemonSet;
        const dsName = ds.metadata.name ?? '';
        await client.replace(dsPath(dsName), ds);
        logger.info('Updated DaemonSet', {
          thinPool: name,
          daemonSet: `${settings.namespace}/${dsName}`,
          why: action.reason,
        });
        await events.record(
          thinPool,
          'Normal',
          'UpdatedDaemonSet',
          `Updated DaemonSet ${settings.namespace}/${dsName}: ${action.reason}`,
        );
        return;
      }
      case 'deleteDaemonSet': {
        try {
          await client.delete(dsPath(action.name));
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        logger.info('Deleted DaemonSet', {
          thinPool: name,
          daemonSet: `${settings.namespace}/${action.name}`,
        });
        await events.record(
          thinPool,
          'Normal',
          'DeletedDaemonSet',
          `Deleted DaemonSet ${settings.namespace}/${action.name}`,
        );
        return;
      }
      case 'createThinPoolNodes':
        return this.createThinPoolNodes(thinPool, action.objects);
      case 'adoptThinPoolNodes':
        return this.adoptThinPoolNodes(thinPool, action.objects);
      case 'deleteThinPoolNodes':
        return this.deleteThinPoolNodes(thinPool, action.removals);
      case 'setRuntimeSwitch': {
        await client.patch(`${THINPOOLNODES}/${encodeURIComponent(action.thinPoolNode)}`, {
          spec: { runtimeSwitch: action.value },
        });
        const what =
          action.value === 'Allowed'
            ? 'Allowed runtime switch on ThinPoolNode'
            : action.value === 'Draining'
              ? 'Started runtime rollout on ThinPoolNode'
              : 'Cleared runtime switch permission on ThinPoolNode';
        logger.info(what, { thinPool: name, thinPoolNode: action.thinPoolNode, runtimeSwitch: action.value });
        if (action.value === 'Allowed') {
          await events.record(
            thinPool,
            'Normal',
            'RuntimeSwitchAllowed',
            `Allowed the agent on node ${action.nodeName} to switch its container runtime to the pool`,
          );
        }
        return;
      }
      case 'cordon':
        return this.cordon(thinPool, action.nodeName);
      case 'evict':
        return this.evict(thinPool, action.nodeName, action.pods);
      case 'uncordon':
        return this.uncordon(thinPool, action.nodeName);
    }
  }

  /**
   * Cordons a Node and marks it as cordoned by this ThinPool. Decided on the Node as the API server has it
   * now, not on the cache, and written with its resourceVersion: a Node an admin cordoned meanwhile is left
   * alone (and so never uncordoned by the operator).
   */
  private async cordon(thinPool: ThinPool, nodeName: string): Promise<void> {
    const { client, logger, events } = this.options;
    const name = thinPool.metadata.name ?? '';
    const path = `${NODES}/${encodeURIComponent(nodeName)}`;
    const node = await client.get<NodeObject>(path);
    if (node.spec?.unschedulable) return;
    await client.patch(path, {
      metadata: {
        annotations: { [CORDONED_BY_ANNOTATION]: name },
        resourceVersion: node.metadata.resourceVersion,
      },
      spec: { unschedulable: true },
    });
    logger.info('Cordoned Node', { thinPool: name, node: nodeName });
    await events.record(
      thinPool,
      'Normal',
      'Cordoned',
      `Cordoned node ${nodeName} to switch its container runtime to the pool`,
    );
  }

  /** Uncordons a Node this ThinPool cordoned (checked on the Node as it is now), and drops the mark. */
  private async uncordon(thinPool: ThinPool, nodeName: string): Promise<void> {
    const { client, logger, events } = this.options;
    const name = thinPool.metadata.name ?? '';
    const path = `${NODES}/${encodeURIComponent(nodeName)}`;
    let node: NodeObject;
    try {
      node = await client.get<NodeObject>(path);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (node.metadata.annotations?.[CORDONED_BY_ANNOTATION] !== name) return;
    await client.patch(path, {
      metadata: {
        annotations: { [CORDONED_BY_ANNOTATION]: null },
        resourceVersion: node.metadata.resourceVersion,
      },
      spec: { unschedulable: null },
    });
    logger.info('Uncordoned Node', { thinPool: name, node: nodeName });
    if (node.spec?.unschedulable)
      await events.record(thinPool, 'Normal', 'Uncordoned', `Uncordoned node ${nodeName}`);
  }

  /** Lists the Pods on each node being drained (the operator keeps no cache of every Pod in the cluster). */
  private async listPodsOnNodes(nodeNames: readonly string[]): Promise<Map<string, PodObject[]>> {
    const pods = new Map<string, PodObject[]>();
    for (const nodeName of nodeNames) {
      const items: PodObject[] = [];
      let token: string | undefined;
      do {
        const page = await this.options.client.list<PodObject>('/api/v1/pods', {
          fieldSelector: `spec.nodeName=${nodeName}`,
          limit: 500,
          continue: token,
        });
        items.push(...page.items);
        token = page.metadata.continue || undefined;
      } while (token);
      pods.set(nodeName, items);
    }
    return pods;
  }

  /**
   * Evicts Pods through the Eviction API, so PodDisruptionBudgets hold: a 429 (the budget allows no
   * disruption now) leaves the Pod for a later reconcile; a Pod is never deleted directly.
   */
  private async evict(thinPool: ThinPool, nodeName: string, pods: readonly PodRef[]): Promise<void> {
    const { client, logger, events, metrics } = this.options;
    const name = thinPool.metadata.name ?? '';
    for (const pod of pods) {
      const path = `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}/eviction`;
      try {
        await client.create(path, {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: pod.name, namespace: pod.namespace },
        });
      } catch (err) {
        if (isNotFound(err)) continue;
        if (httpStatusOf(err) !== 429) throw err;
        metrics?.countEviction(name, 'deferred');
        logger.info('Deferred eviction of Pod: its disruption budget allows none now', {
          thinPool: name,
          node: nodeName,
          pod: `${pod.namespace}/${pod.name}`,
          err: describeError(err),
        });
        await events.record(
          thinPool,
          'Normal',
          'EvictionDeferred',
          `Eviction of pod ${pod.namespace}/${pod.name} from node ${nodeName} deferred: ${describeError(err)}`,
        );
        continue;
      }
      metrics?.countEviction(name, 'evicted');
      logger.info('Evicted Pod', { thinPool: name, node: nodeName, pod: `${pod.namespace}/${pod.name}` });
      await events.record(
        thinPool,
        'Normal',
        'Evicted',
        `Evicted pod ${pod.namespace}/${pod.name} from node ${nodeName}`,
      );
    }
  }

  private async createThinPoolNodes(thinPool: ThinPool, objects: ThinPoolNode[]): Promise<void> {
    const { client, logger, events } = this.options;
    const created: string[] = [];
    const errors = await forEachLimited(objects, this.options.writeConcurrency ?? 16, async (obj) => {
      try {
        await client.create(THINPOOLNODES, obj);
        created.push(obj.spec.nodeName);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    });
    if (created.length > 0) {
      created.sort();
      logger.info('Created ThinPoolNodes', {
        thinPool: thinPool.metadata.name,
        count: created.length,
        nodes: created.slice(0, 20),
      });
      await events.record(
        thinPool,
        'Normal',
        'CreatedThinPoolNodes',
        `Created ${created.length} ThinPoolNode${created.length === 1 ? '' : 's'} for nodes ${listNames(created)}`,
      );
    }
    if (errors.length > 0) {
      throw new Error(
        `Failed to create ${errors.length} of ${objects.length} ThinPoolNodes: ${describeError(errors[0])}`,
      );
    }
  }

  private async adoptThinPoolNodes(thinPool: ThinPool, objects: ThinPoolNode[]): Promise<void> {
    const { client, logger } = this.options;
    const errors = await forEachLimited(objects, this.options.writeConcurrency ?? 16, async (obj) => {
      const ownerReferences = [ownerReferenceTo(thinPool), ...(obj.metadata.ownerReferences ?? [])];
      await client.patch(`${THINPOOLNODES}/${encodeURIComponent(obj.metadata.name ?? '')}`, {
        metadata: { ownerReferences, resourceVersion: obj.metadata.resourceVersion },
      });
    });
    logger.info('Adopted ThinPoolNodes', {
      thinPool: thinPool.metadata.name,
      count: objects.length - errors.length,
      nodes: objects.slice(0, 20).map((o) => o.spec.nodeName),
    });
    if (errors.length > 0) {
      throw new Error(
        `Failed to adopt ${errors.length} of ${objects.length} ThinPoolNodes: ${describeError(errors[0])}`,
      );
    }
  }

  private async deleteThinPoolNodes(thinPool: ThinPool, removals: Removal[]): Promise<void> {
    const { client, logger, events } = this.options;
    const deleted: Removal[] = [];
    const errors = await forEachLimited(removals, this.options.writeConcurrency ?? 16, async (removal) => {
      try {
        await client.delete(`${THINPOOLNODES}/${encodeURIComponent(removal.name)}`, { uid: removal.uid });
        deleted.push(removal);
      } catch (err) {
        // Gone already, or replaced by a newer object (uid precondition): the next reconcile judges that one.
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    });
    const byReason = new Map<string, string[]>();
    for (const removal of deleted)
      byReason.set(removal.reason, [...(byReason.get(removal.reason) ?? []), removal.nodeName]);
    for (const [reason, nodes] of byReason) {
      nodes.sort();
      logger.info('Deleted ThinPoolNodes', {
        thinPool: thinPool.metadata.name,
        count: nodes.length,
        why: reason,
        nodes: nodes.slice(0, 20),
      });
      await events.record(
        thinPool,
        'Normal',
        'DeletedThinPoolNodes',
        `Deleted ${nodes.length} ThinPoolNode${nodes.length === 1 ? '' : 's'} because ${reason}: ${listNames(nodes)}`,
      );
    }
    if (errors.length > 0) {
      throw new Error(
        `Failed to delete ${errors.length} of ${removals.length} ThinPoolNodes: ${describeError(errors[0])}`,
      );
    }
  }
}
