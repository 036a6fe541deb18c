import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Capacity, Condition, NodeCounts } from '../api/v1alpha1/types.js';
import { OPERATOR_METRICS, metricOptions } from '../common/metric-catalog.js';

/**
 * Reasons of the `RuntimeRollout` condition (operator/controller/rollout.ts), each exported as a series of
 * `thinpool_operator_runtime_rollout` so that a graph shows every state and an alert sees 0 before 1.
 */
export const RUNTIME_ROLLOUT_REASONS = [
  'RollingOut',
  'Complete',
  'Halted',
  'Paused',
  'PlanMode',
  'Blocked',
  'Deleting',
] as const;

/** Results of `thinpool_operator_evictions_total`. */
const EVICTION_RESULTS = ['evicted', 'deferred'] as const;

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The operator's Prometheus metrics: exactly the names of `OPERATOR_METRICS` in the catalog, in a registry
 * of their own (no default process metrics, so `promtool check metrics` passes on `/metrics`).
 */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<'result'>;
  readonly reconcileErrors: Counter;
  readonly reconcileDuration: Histogram;
  readonly queueDepth: Gauge;
  readonly queueLatency: Histogram;
  readonly leader: Gauge;
  readonly poolNodes: Gauge<'thinpool' | 'state'>;
  readonly poolCapacity: Gauge<'thinpool' | 'kind'>;
  readonly runtimeRollout: Gauge<'thinpool' | 'reason'>;
  readonly evictions: Counter<'thinpool' | 'result'>;
  /** Reasons exported per ThinPool beyond {@link RUNTIME_ROLLOUT_REASONS} (a reason added later), to remove. */
  private readonly otherRolloutReasons = new Map<string, Set<string>>();

  constructor() {
    const registers = [this.registry];
    const m = OPERATOR_METRICS;
    this.reconciles = new Counter(metricOptions(m.reconciles, registers));
    this.reconcileErrors = new Counter({
      name: m.reconcileErrors.name,
      help: m.reconcileErrors.help,
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: m.reconcileDuration.name,
      help: m.reconcileDuration.help,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.queueDepth = new Gauge({ name: m.queueDepth.name, help: m.queueDepth.help, registers });
    this.queueLatency = new Histogram({
      name: m.queueLatency.name,
      help: m.queueLatency.help,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.leader = new Gauge({ name: m.leader.name, help: m.leader.help, registers });
    this.poolNodes = new Gauge(metricOptions(m.poolNodes, registers));
    this.poolCapacity = new Gauge(metricOptions(m.poolCapacity, registers));
    this.runtimeRollout = new Gauge(metricOptions(m.runtimeRollout, registers));
    this.evictions = new Counter(metricOptions(m.evictions, registers));
    for (const result of ['success', 'error', 'requeue']) this.reconciles.inc({ result }, 0);
    this.leader.set(0);
    this.queueDepth.set(0);
  }

  /** Records one reconcile outcome. */
  observeReconcile(result: 'success' | 'error' | 'requeue', seconds: number): void {
    this.reconciles.inc({ result });
    if (result === 'error') this.reconcileErrors.inc();
    this.reconcileDuration.observe(seconds);
  }

  /** Sets the per-pool gauges from a freshly computed status. */
  setPool(thinPool: string, nodes: NodeCounts, capacity: Capacity): void {
    this.poolNodes.set({ thinpool: thinPool, state: 'desired' }, nodes.desired);
    this.poolNodes.set({ thinpool: thinPool, state: 'ready' }, nodes.ready);
    this.poolNodes.set({ thinpool: thinPool, state: 'failed' }, nodes.failed);
    this.poolCapacity.set({ thinpool: thinPool, kind: 'data_size' }, capacity.dataSizeBytes);
    this.poolCapacity.set({ thinpool: thinPool, kind: 'data_used' }, capacity.dataUsedBytes);
    this.poolCapacity.set({ thinpool: thinPool, kind: 'metadata_size' }, capacity.metadataSizeBytes);
    this.poolCapacity.set({ thinpool: thinPool, kind: 'metadata_used' }, capacity.metadataUsedBytes);
  }

  /**
   * Sets `thinpool_operator_runtime_rollout` from the ThinPool's `RuntimeRollout` condition: 1 for its
   * reason, 0 for the others; no series without the condition (`runtime.type: none`). The ThinPool's
   * eviction counters start at 0 with it, so that `rate()` sees the first deferral.
   */
  setRuntimeRollout(thinPool: string, condition: Pick<Condition, 'reason'> | undefined): void {
    if (!condition) {
      this.removeRuntimeRollout(thinPool);
      return;
    }
    for (const result of EVICTION_RESULTS) this.evictions.inc({ thinpool: thinPool, result }, 0);
    const reasons = new Set<string>(RUNTIME_ROLLOUT_REASONS);
    const others = this.otherRolloutReasons.get(thinPool) ?? new Set<string>();
    if (!reasons.has(condition.reason)) others.add(condition.reason);
    if (others.size > 0) this.otherRolloutReasons.set(thinPool, others);
    for (const reason of [...reasons, ...others]) {
      this.runtimeRollout.set({ thinpool: thinPool, reason }, reason === condition.reason ? 1 : 0);
    }
  }

  /** Counts one eviction a rollout's drain asked for: done, or deferred by a PodDisruptionBudget. */
  countEviction(thinPool: string, result: (typeof EVICTION_RESULTS)[number]): void {
    this.evictions.inc({ thinpool: thinPool, result });
  }

  private removeRuntimeRollout(thinPool: string): void {
    for (const result of EVICTION_RESULTS) this.evictions.remove({ thinpool: thinPool, result });
    const others = this.otherRolloutReasons.get(thinPool) ?? [];
    for (const reason of [...RUNTIME_ROLLOUT_REASONS, ...others])
      this.runtimeRollout.remove({ thinpool: thinPool, reason });
    this.otherRolloutReasons.delete(thinPool);
  }

  /** Drops the per-pool series of a ThinPool that is gone. */
  removePool(thinPool: string): void {
    this.removeRuntimeRollout(thinPool);
    for (const state of ['desired', 'ready', 'failed']) this.poolNodes.remove({ thinpool: thinPool, state });
    for (const kind of ['data_size', 'data_used', 'metadata_size', 'metadata_used']) {
      this.poolCapacity.remove({ thinpool: thinPool, kind });
    }
  }
}
