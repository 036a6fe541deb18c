/**
 * Every Prometheus metric this project exports, in one place: the agent and the operator register
 * exactly these, and the chart's alert rules and Grafana dashboard are checked against this list.
 * Base units only (bytes, seconds, ratios 0..1).
 */
export interface MetricDefinition {
  name: string;
  type: 'gauge' | 'counter' | 'histogram';
  help: string;
  labels: readonly string[];
}

/**
 * The prom-client options of a catalog metric: its name, help and label names, registered in `registers`
 * (`new Gauge(metricOptions(def, registers))`), so a metric's labels are written once, here.
 */
export function metricOptions<L extends string, R>(
  def: { name: string; help: string; labels: readonly L[] },
  registers: R[],
): { name: string; help: string; labelNames: L[]; registers: R[] } {
  return { name: def.name, help: def.help, labelNames: [...def.labels], registers };
}

/** Labels every per-pool agent metric carries. */
export const POOL_LABELS = ['thinpool', 'node', 'vg', 'lv'] as const;

/** Metrics of the node agent (`thinpool-agent run`), served on its `/metrics`. */
export const AGENT_METRICS = {
  dataSize: {
    name: 'thinpool_data_size_bytes',
    type: 'gauge',
    help: 'Size of the thin pool data LV in bytes.',
    labels: POOL_LABELS,
  },
  dataUsed: {
    name: 'thinpool_data_used_bytes',
    type: 'gauge',
    help: 'Bytes of the thin pool data LV in use.',
    labels: POOL_LABELS,
  },
  metadataSize: {
    name: 'thinpool_metadata_size_bytes',
    type: 'gauge',
    help: 'Size of the thin pool metadata LV in bytes.',
    labels: POOL_LABELS,
  },
  metadataUsed: {
    name: 'thinpool_metadata_used_bytes',
    type: 'gauge',
    help: 'Bytes of the thin pool metadata LV in use.',
    labels: POOL_LABELS,
  },
  vgSize: {
    name: 'thinpool_volume_group_size_bytes',
    type: 'gauge',
    help: 'Size of the volume group in bytes.',
    labels: POOL_LABELS,
  },
  vgFree: {
    name: 'thinpool_volume_group_free_bytes',
    type: 'gauge',
    help: 'Unallocated bytes in the volume group.',
    labels: POOL_LABELS,
  },
  autoextendThreshold: {
    name: 'thinpool_autoextend_threshold_ratio',
    type: 'gauge',
    help: 'Usage ratio at which the pool is extended (autoExtend.thresholdPercent / 100).',
    labels: POOL_LABELS,
  },
  active: {
    name: 'thinpool_active',
    type: 'gauge',
    help: '1 when the thin pool LV is active.',
    labels: POOL_LABELS,
  },
  monitored: {
    name: 'thinpool_monitored',
    type: 'gauge',
    help: '1 when dmeventd monitors the thin pool (seg_monitor=monitored).',
    labels: POOL_LABELS,
  },
  dataSecondsToFull: {
    name: 'thinpool_data_seconds_to_full',
    type: 'gauge',
    help: 'Predicted seconds until data is full at the recent fill rate (+Inf when not filling).',
    labels: POOL_LABELS,
  },
  metadataSecondsToFull: {
    name: 'thinpool_metadata_seconds_to_full',
    type: 'gauge',
    help: 'Predicted seconds until metadata is full at the recent fill rate (+Inf when not filling).',
    labels: POOL_LABELS,
  },
  extensions: {
    name: 'thinpool_extensions_total',
    type: 'counter',
    help: 'Extensions of the pool performed by the agent, by kind (data, metadata) and trigger.',
    labels: [...POOL_LABELS, 'kind', 'trigger'],
  },
  runtimeConfigured: {
    name: 'thinpool_runtime_configured',
    type: 'gauge',
    help: '1 when the container runtime was verified to use the pool (1 also when runtime.type is none).',
    labels: POOL_LABELS,
  },
  runtimeAwaitingRollout: {
    name: 'thinpool_runtime_awaiting_rollout',
    type: 'gauge',
    help: "1 while the runtime switch waits for the operator's rollout to allow this node (RuntimeConfigured reason AwaitingRollout).",
    labels: POOL_LABELS,
  },
  reconcileErrors: {
    name: 'thinpool_agent_reconcile_errors_total',
    type: 'counter',
    help: 'Agent reconciles that ended in an error.',
    labels: ['thinpool', 'node'],
  },
  lastReconcile: {
    name: 'thinpool_agent_last_reconcile_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time of the last completed agent reconcile.',
    labels: ['thinpool', 'node'],
  },
} as const satisfies Record<string, MetricDefinition>;

/** Metrics of the operator (`thinpool-operator`), served on its `/metrics`. */
export const OPERATOR_METRICS = {
  reconciles: {
    name: 'thinpool_operator_reconcile_total',
    type: 'counter',
    help: 'ThinPool reconciles by result (success, error, requeue).',
    labels: ['result'],
  },
  reconcileErrors: {
    name: 'thinpool_operator_reconcile_errors_total',
    type: 'counter',
    help: 'ThinPool reconciles that failed.',
    labels: [],
  },
  reconcileDuration: {
    name: 'thinpool_operator_reconcile_duration_seconds',
    type: 'histogram',
    help: 'Duration of ThinPool reconciles.',
    labels: [],
  },
  queueDepth: {
    name: 'thinpool_operator_workqueue_depth',
    type: 'gauge',
    help: 'Keys waiting in the work queue.',
    labels: [],
  },
  queueLatency: {
    name: 'thinpool_operator_workqueue_latency_seconds',
    type: 'histogram',
    help: 'Time a key waited in the work queue before it was reconciled.',
    labels: [],
  },
  leader: {
    name: 'thinpool_operator_leader',
    type: 'gauge',
    help: '1 while this replica holds the leader Lease.',
    labels: [],
  },
  poolNodes: {
    name: 'thinpool_operator_pool_nodes',
    type: 'gauge',
    help: 'Nodes of a ThinPool by state (desired, ready, failed).',
    labels: ['thinpool', 'state'],
  },
  poolCapacity: {
    name: 'thinpool_operator_pool_capacity_bytes',
    type: 'gauge',
    help: 'Summed capacity of a ThinPool over its nodes, by kind (data_size, data_used, metadata_size, metadata_used).',
    labels: ['thinpool', 'kind'],
  },
  runtimeRollout: {
    name: 'thinpool_operator_runtime_rollout',
    type: 'gauge',
    help: 'Where the runtime rollout of a ThinPool stands: 1 for the reason of its RuntimeRollout condition (RollingOut, Complete, Halted, ...), 0 for the others.',
    labels: ['thinpool', 'reason'],
  },
  evictions: {
    name: 'thinpool_operator_evictions_total',
    type: 'counter',
    help: 'Evictions a runtime rollout asked for while draining nodes, by result (evicted, deferred: a PodDisruptionBudget refused it for now).',
    labels: ['thinpool', 'result'],
  },
} as const satisfies Record<string, MetricDefinition>;
