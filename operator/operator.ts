import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ThinPool, ThinPoolNode } from '../api/v1alpha1/types.js';
import type { Logger } from '../common/logger.js';
import { EventRecorder } from './controller/events.js';
import type { DaemonSetObject, NodeObject, PodObject } from './controller/kube-types.js';
import { AGENT_COMPONENT, AGENT_NAME, Labels, MANAGER_NAME, labelValue } from './controller/names.js';
import { nodeChangeMatters, podChangeMatters, thinPoolChangeMatters } from './controller/predicates.js';
import { POOL_INDEX, ThinPoolReconciler } from './controller/reconciler.js';
import type { OperatorSettings } from './controller/settings.js';
import { OperatorMetrics } from './metrics.js';
import { systemClock, type Clock } from '../common/kube/clock.js';
import type { BackoffPolicy } from '../common/kube/backoff.js';
import { Controller } from './runtime/controller.js';
import { Informer, type InformerOptions } from '../common/kube/informer.js';
import { KubeClient } from '../common/kube/kube-client.js';
import type { KubeObject } from '../common/kube/kube-object.js';
import {
  DEFAULT_LEADER_ELECTION_TIMINGS,
  LeaderElector,
  type LeaderElectionTimings,
} from './runtime/leader-election.js';
import { WorkQueue } from './runtime/work-queue.js';

/** Informer tuning (defaults suit production; tests shorten them). */
export interface InformerTuning {
  relistPeriodMs?: number;
  watchTimeoutSeconds?: readonly [number, number];
  silenceGraceMs?: number;
  /** Re-deliver every ThinPool to the queue this often (default 10 min). */
  thinPoolResyncPeriodMs?: number;
  /** Restart backoff of every informer (default 0.5 s doubling to 30 s, 20 % jitter). */
  backoff?: BackoffPolicy;
  /** Per-ThinPool retry backoff of the work queue (default 100 ms doubling to 60 s). */
  queueBackoff?: BackoffPolicy;
}

/** Options of an {@link Operator}. */
export interface OperatorOptions {
  kubeConfig: KubeConfig;
  settings: OperatorSettings;
  logger: Logger;
  /** Leader election; when absent this replica reconciles without a Lease. */
  leaderElection?: { leaseName: string; identity?: string; timings?: LeaderElectionTimings };
  /** Distinct ThinPools reconciled in parallel (default 2). */
  workers?: number;
  /** ThinPoolNode and agent Pod changes within this period fold into one reconcile (default 200 ms). */
  batchPeriodMs?: number;
  informers?: InformerTuning;
  metrics?: OperatorMetrics;
  clock?: Clock;
}

/** What ended an operator's run. */
export type OperatorExit = 'stopped' | 'leadership-lost';

/** Default of {@link OperatorOptions.batchPeriodMs}. */
export const DEFAULT_BATCH_PERIOD_MS = 200;

const THINPOOLS = '/apis/thinpool.dev/v1alpha1/thinpools';
const THINPOOLNODES = '/apis/thinpool.dev/v1alpha1/thinpoolnodes';

/** Strips what the operator never reads from cached objects (big on real clusters: images, managedFields). */
function slimMetadata<T extends KubeObject>(obj: T): T['metadata'] {
  const m = obj.metadata;
  const out: KubeObject['metadata'] = { name: m.name, resourceVersion: m.resourceVersion };
  if (m.namespace) out.namespace = m.namespace;
  if (m.uid) out.uid = m.uid;
  if (m.generation !== undefined) out.generation = m.generation;
  if (m.creationTimestamp) out.creationTimestamp = m.creationTimestamp;
  if (m.deletionTimestamp) out.deletionTimestamp = m.deletionTimestamp;
  if (m.labels) out.labels = m.labels;
  if (m.annotations) out.annotations = m.annotations;
  if (m.finalizers) out.finalizers = m.finalizers;
  if (m.ownerReferences) out.ownerReferences = m.ownerReferences;
  return out;
}

function slimNode(node: NodeObject): NodeObject {
  const { labels, ...rest } = slimMetadata(node);
  const spec: NodeObject['spec'] = {};
  if (node.spec?.taints) spec.taints = node.spec.taints;
  if (node.spec?.unschedulable) spec.unschedulable = true;
  return { metadata: { ...rest, ...(labels ? { labels } : {}) }, spec };
}

function slimPod(pod: PodObject): PodObject {
  const ready = pod.status?.conditions?.filter((c) => c.type === 'Ready');
  return {
    metadata: slimMetadata(pod),
    spec: { nodeName: pod.spec?.nodeName },
    status: { phase: pod.status?.phase, ...(ready && ready.length > 0 ? { conditions: ready } : {}) },
  };
}

function slimThinPoolNode(tpn: ThinPoolNode): ThinPoolNode {
  const s = tpn.status;
  return {
    apiVersion: tpn.apiVersion,
    kind: tpn.kind,
    metadata: slimMetadata(tpn),
    spec: tpn.spec,
    ...(s
      ? {
          status: {
            phase: s.phase,
            conditions: s.conditions,
            pool: s.pool,
            observedGeneration: s.observedGeneration,
          },
        }
      : {}),
  };
}

function slimDaemonSet(ds: DaemonSetObject): DaemonSetObject {
  return { apiVersion: ds.apiVersion, kind: ds.kind, metadata: slimMetadata(ds), spec: ds.spec };
}

/**
 * The operator: informers on ThinPools, ThinPoolNodes, Nodes, agent Pods and agent DaemonSets; a work
 * queue of ThinPool names fed by their events; the ThinPool reconciler; and, with leader election, a
 * Lease so that only the leader reconciles. Caches run on every replica, so a standby takes over warm.
 */
export class Operator {
  readonly client: KubeClient;
  readonly metrics: OperatorMetrics;
  readonly queue: WorkQueue;
  readonly caches: {
    thinPools: Informer<ThinPool>;
    thinPoolNodes: Informer<ThinPoolNode>;
    nodes: Informer<NodeObject>;
    agentPods: Informer<PodObject>;
    daemonSets: Informer<DaemonSetObject>;
  };
  readonly identity: string;
  private readonly controller: Controller;
  private readonly elector?: LeaderElector;
  private readonly electionAbort = new AbortController();
  private readonly logger: Logger;
  private election?: Promise<unknown>;
  private leading = false;
  private stopped = false;
  private exitResolve!: (exit: OperatorExit) => void;
  /** Resolves when the operator stops, or when it lost its leadership (the process should then exit). */
  readonly exited: Promise<OperatorExit>;

  constructor(private readonly options: OperatorOptions) {
    const { settings, logger } = options;
    const clock = options.clock ?? systemClock;
    this.logger = logger;
    this.client = new KubeClient(options.kubeConfig);
    this.metrics = options.metrics ?? new OperatorMetrics();
    this.identity = options.leaderElection?.identity ?? `${hostname()}_${randomUUID()}`;
    this.exited = new Promise((resolve) => (this.exitResolve = resolve));
    const tuning = options.informers ?? {};
    const common = {
      client: this.client,
      clock,
      logger,
      relistPeriodMs: tuning.relistPeriodMs,
      watchTimeoutSeconds: tuning.watchTimeoutSeconds,
      silenceGraceMs: tuning.silenceGraceMs,
      backoff: tuning.backoff,
    } satisfies Partial<InformerOptions<KubeObject>>;
    const ns = encodeURIComponent(settings.namespace);
    this.caches = {
      thinPools: new Informer<ThinPool>({
        ...common,
        kind: 'ThinPool',
        path: THINPOOLS,
        resyncPeriodMs: tuning.thinPoolResyncPeriodMs ?? 10 * 60_000,
        transform: (tp) => ({ ...tp, metadata: slimMetadata(tp) }),
      }),
      thinPoolNodes: new Informer<ThinPoolNode>({
        ...common,
        kind: 'ThinPoolNode',
        path: THINPOOLNODES,
        transform: slimThinPoolNode,
      }),
      nodes: new Informer<NodeObject>({
        ...common,
        kind: 'Node',
        path: '/api/v1/nodes',
        transform: slimNode,
      }),
      agentPods: new Informer<PodObject>({
        ...common,
        kind: 'Pod',
        path: `/api/v1/namespaces/${ns}/pods`,
        labelSelector: `${Labels.name}=${AGENT_NAME},${Labels.component}=${AGENT_COMPONENT}`,
        transform: slimPod,
      }),
      daemonSets: new Informer<DaemonSetObject>({
        ...common,
        kind: 'DaemonSet',
        path: `/apis/apps/v1/namespaces/${ns}/daemonsets`,
        labelSelector: `${Labels.managedBy}=${MANAGER_NAME}`,
        transform: slimDaemonSet,
      }),
    };
    this.caches.thinPoolNodes.addIndex(POOL_INDEX, (tpn) => [tpn.spec?.thinPool ?? '']);
    this.caches.agentPods.addIndex(POOL_INDEX, (pod) => {
      const value = pod.metadata.labels?.[Labels.pool];
      return value ? [value] : [];
    });

    this.queue = new WorkQueue({
      clock,
      backoff: tuning.queueBackoff,
      hooks: {
        depth: (depth) => this.metrics.queueDepth.set(depth),
        latency: (seconds) => this.metrics.queueLatency.observe(seconds),
      },
    });
    const reconciler = new ThinPoolReconciler({
      client: this.client,
      settings,
      caches: this.caches,
      events: new EventRecorder({ client: this.client, instance: this.identity, clock, logger }),
      logger,
      metrics: this.metrics,
      clock,
    });
    this.controller = new Controller({
      kind: 'ThinPool',
      queue: this.queue,
      workers: options.workers ?? 2,
      logger,
      reconcile: (key, signal) => reconciler.reconcile(key, signal),
      observe: (result, seconds) => this.metrics.observeReconcile(result, seconds),
    });
    this.wireEvents();

    if (options.leaderElection) {
      this.elector = new LeaderElector({
        client: this.client,
        namespace: settings.namespace,
        name: options.leaderElection.leaseName,
        identity: this.identity,
        timings: options.leaderElection.timings ?? DEFAULT_LEADER_ELECTION_TIMINGS,
        clock,
        logger,
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: (reason) => {
          if (reason === 'lost') void this.loseLeadership();
        },
        onNewLeader: (holder) => {
          if (holder !== this.identity) logger.info('Observed new leader', { leader: holder });
        },
      });
    }
  }

  /** True once every informer has listed. */
  get synced(): boolean {
    return Object.values(this.caches).every((c) => c.hasSynced);
  }

  /** True while this replica reconciles (always true without leader election once started). */
  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts the informers, waits for them to sync, then campaigns (or starts reconciling at once). */
  async start(): Promise<void> {
    for (const cache of Object.values(this.caches)) cache.start();
    await Promise.all(Object.values(this.caches).map((c) => c.waitForSync()));
    if (this.stopped) return;
    this.logger.info('Synced informer caches', {
      thinPools: this.caches.thinPools.size,
      thinPoolNodes: this.caches.thinPoolNodes.size,
      nodes: this.caches.nodes.size,
      agentPods: this.caches.agentPods.size,
    });
    if (this.elector) this.election = this.elector.run(this.electionAbort.signal);
    else this.startLeading();
  }

  /**
   * Graceful stop: stop taking work, let the reconciles in flight finish, release the Lease, stop the
   * informers.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.controller.stop();
    this.electionAbort.abort();
    await this.election;
    this.setLeading(false);
    await Promise.all(Object.values(this.caches).map((c) => c.stop()));
    this.logger.info('Stopped operator', { identity: this.identity });
    this.exitResolve('stopped');
  }

  /** Forces every informer to re-list now (a full resync) and re-queues every ThinPool. */
  resyncAll(): void {
    for (const cache of Object.values(this.caches)) cache.relist();
    for (const tp of this.caches.thinPools.list()) this.queue.add(tp.metadata.name ?? '');
  }

  private startLeading(): void {
    if (this.stopped) return;
    this.setLeading(true);
    for (const tp of this.caches.thinPools.list()) this.queue.add(tp.metadata.name ?? '');
    this.controller.start();
    this.logger.info('Started reconciling ThinPools', { identity: this.identity });
  }

  private async loseLeadership(): Promise<void> {
    this.setLeading(false);
    this.stopped = true;
    await this.controller.stop({ abort: true });
    await Promise.all(Object.values(this.caches).map((c) => c.stop()));
    this.exitResolve('leadership-lost');
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.metrics.leader.set(leading ? 1 : 0);
  }

  private enqueue(name: string | undefined): void {
    if (name) this.queue.add(name);
  }

  private enqueueAllPools(): void {
    for (const tp of this.caches.thinPools.list()) this.enqueue(tp.metadata.name);
  }

  private poolsWithLabel(value: string | undefined): string[] {
    if (!value) return [];
    return this.caches.thinPools
      .list()
      .map((tp) => tp.metadata.name ?? '')
      .filter((name) => labelValue(name) === value);
  }

  private wireEvents(): void {
    const { thinPools, thinPoolNodes, nodes, agentPods, daemonSets } = this.caches;
    const batch = this.options.batchPeriodMs ?? DEFAULT_BATCH_PERIOD_MS;
    // Agent reports and Pod readiness arrive in bursts on big clusters: fold each burst into one reconcile.
    const enqueueBatched = (name: string | undefined) => name && this.queue.addAfter(name, batch);
    // A ThinPool that appears, changes its spec or goes can start or end a pool conflict with any other.
    thinPools.on({
      add: () => this.enqueueAllPools(),
      update: (tp, old) => {
        if (!thinPoolChangeMatters(tp, old)) return;
        if (tp === old) this.enqueue(tp.metadata.name);
        else this.enqueueAllPools();
      },
      delete: (tp) => {
        this.enqueue(tp.metadata.name);
        this.enqueueAllPools();
      },
    });
    thinPoolNodes.on({
      add: (tpn) => enqueueBatched(tpn.spec?.thinPool),
      update: (tpn) => enqueueBatched(tpn.spec?.thinPool),
      delete: (tpn) => enqueueBatched(tpn.spec?.thinPool),
    });
    nodes.on({
      add: () => this.enqueueAllPools(),
      update: (node, old) => nodeChangeMatters(node, old) && this.enqueueAllPools(),
      delete: () => this.enqueueAllPools(),
    });
    const poolsOf = (pod: PodObject) => this.poolsWithLabel(pod.metadata.labels?.[Labels.pool]);
    agentPods.on({
      add: (pod) => poolsOf(pod).forEach(enqueueBatched),
      update: (pod, old) => podChangeMatters(pod, old) && poolsOf(pod).forEach(enqueueBatched),
      delete: (pod) => poolsOf(pod).forEach(enqueueBatched),
    });
    const owner = (ds: DaemonSetObject) =>
      ds.metadata.ownerReferences?.find((r) => r.kind === 'ThinPool' && r.controller)?.name;
    daemonSets.on({
      add: (ds) => this.enqueue(owner(ds)),
      update: (ds) => this.enqueue(owner(ds)),
      delete: (ds) => this.enqueue(owner(ds)),
    });
  }
}
