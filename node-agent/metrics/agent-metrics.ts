import { Counter, Gauge, Registry } from 'prom-client';
import { AWAITING_ROLLOUT, ThinPoolNodeConditions, type Condition } from '../../api/v1alpha1/types.js';
import { findCondition } from '../../common/conditions.js';
import { AGENT_METRICS, POOL_LABELS, metricOptions } from '../../common/metric-catalog.js';
import type { AgentSpec } from '../agent-spec.js';
import type { EngineMemory, ExecutedAction } from '../engine.js';
import { poolNumbers, poolView, type Observed } from '../observe/observed.js';
import { estimateTimeToFull } from '../time-to-full.js';

/** Label values of every per-pool series: `thinpool`, `node`, `vg`, `lv`. */
export type PoolLabels = Record<(typeof POOL_LABELS)[number], string>;

/** Extension kinds and triggers the counter is initialised with, so `rate()` sees a zero before the first. */
const KNOWN_EXTENSIONS: ReadonlyArray<{ kind: string; trigger: string }> = [
  { kind: 'data', trigger: 'threshold' },
  { kind: 'metadata', trigger: 'threshold' },
  { kind: 'data', trigger: 'spec-size' },
  { kind: 'metadata', trigger: 'spec-size' },
];

/** The gauge values of one observation; `undefined` fields are not exported (the object does not exist). */
export interface PoolGauges {
  volumeGroup?: { sizeBytes: number; freeBytes: number };
  pool?: {
    dataSizeBytes: number;
    dataUsedBytes: number;
    metadataSizeBytes: number;
    metadataUsedBytes: number;
    active: boolean;
    monitored: boolean;
    /** Seconds until full at the recent rate; `Infinity` when not filling. */
    dataSecondsToFull: number;
    metadataSecondsToFull: number;
  };
  /** `autoExtend.thresholdPercent` as a ratio 0..1. */
  autoextendThresholdRatio: number;
}

/**
 * The gauge values of one observation (pure): VG size and free space, the pool's sizes and use, whether it
 * is active and monitored, and the time to full from the engine's recent samples.
 */
export function poolGauges(spec: AgentSpec, observed: Observed, memory?: EngineMemory): PoolGauges {
  const view = poolView(observed.lvm, spec.vg, spec.pool, spec.metadataLv);
  const gauges: PoolGauges = { autoextendThresholdRatio: spec.autoExtend.thresholdPercent / 100 };
  if (view.vg) gauges.volumeGroup = { sizeBytes: view.vg.sizeBytes, freeBytes: view.vg.freeBytes };
  if (view.poolLv?.segtype === 'thin-pool') {
    const n = poolNumbers(view.poolLv);
    const ttf =
      memory && memory.samples.length > 1
        ? estimateTimeToFull(memory.samples)
        : { data: Infinity, metadata: Infinity };
    gauges.pool = {
      dataSizeBytes: n.dataSizeBytes,
      dataUsedBytes: n.dataUsedBytes,
      metadataSizeBytes: n.metadataSizeBytes,
      metadataUsedBytes: n.metadataUsedBytes,
      active: n.active,
      monitored: n.monitored,
      dataSecondsToFull: ttf.data,
      metadataSecondsToFull: ttf.metadata,
    };
  }
  return gauges;
}

/**
 * Whether a node's runtime switch waits for the operator's rollout (pure): `RuntimeConfigured` False with
 * reason `AwaitingRollout`, a node queued in a rollout rather than a failed one.
 */
export function isAwaitingRollout(conditions: readonly Condition[] | undefined): boolean {
  const condition = findCondition(conditions, ThinPoolNodeConditions.RuntimeConfigured);
  return condition?.status === 'False' && condition.reason === AWAITING_ROLLOUT;
}

type PoolGauge = Gauge<(typeof POOL_LABELS)[number]>;

/**
 * The agent's Prometheus registry: exactly the series of `AGENT_METRICS` (no default process metrics, so
 * `promtool check metrics` passes). Values come from the last observation and the reconciles' outcomes; a
 * scrape only renders them and never runs LVM.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly gauges: Record<
    | 'dataSize'
    | 'dataUsed'
    | 'metadataSize'
    | 'metadataUsed'
    | 'vgSize'
    | 'vgFree'
    | 'autoextendThreshold'
    | 'active'
    | 'monitored'
    | 'dataSecondsToFull'
    | 'metadataSecondsToFull'
    | 'runtimeConfigured'
    | 'runtimeAwaitingRollout',
    PoolGauge
  >;
  private readonly extensions: Counter<(typeof POOL_LABELS)[number] | 'kind' | 'trigger'>;
  private readonly reconcileErrors: Counter<'thinpool' | 'node'>;
  private readonly lastReconcile: Gauge<'thinpool' | 'node'>;
  private labels?: PoolLabels;

  constructor(private readonly agent: { thinpool: string; node: string }) {
    const registers = [this.registry];
    const gauge = (def: { name: string; help: string; labels: typeof POOL_LABELS }): PoolGauge =>
      new Gauge(metricOptions(def, registers));
    const m = AGENT_METRICS;
    this.gauges = {
      dataSize: gauge(m.dataSize),
      dataUsed: gauge(m.dataUsed),
      metadataSize: gauge(m.metadataSize),
      metadataUsed: gauge(m.metadataUsed),
      vgSize: gauge(m.vgSize),
      vgFree: gauge(m.vgFree),
      autoextendThreshold: gauge(m.autoextendThreshold),
      active: gauge(m.active),
      monitored: gauge(m.monitored),
      dataSecondsToFull: gauge(m.dataSecondsToFull),
      metadataSecondsToFull: gauge(m.metadataSecondsToFull),
      runtimeConfigured: gauge(m.runtimeConfigured),
      runtimeAwaitingRollout: gauge(m.runtimeAwaitingRollout),
    };
    this.extensions = new Counter(metricOptions(m.extensions, registers));
    this.reconcileErrors = new Counter(metricOptions(m.reconcileErrors, registers));
    this.lastReconcile = new Gauge(metricOptions(m.lastReconcile, registers));
    this.reconcileErrors.labels(agent).inc(0);
  }

  /** Sets every per-pool gauge from one observation; series of objects that do not exist are removed. */
  recordObservation(spec: AgentSpec, gauges: PoolGauges): void {
    const labels: PoolLabels = {
      thinpool: this.agent.thinpool,
      node: this.agent.node,
      vg: spec.vg,
      lv: spec.pool,
    };
    if (this.labels && (this.labels.vg !== labels.vg || this.labels.lv !== labels.lv))
      this.removePoolSeries();
    if (!this.labels || this.labels.vg !== labels.vg || this.labels.lv !== labels.lv) {
      for (const { kind, trigger } of KNOWN_EXTENSIONS)
        this.extensions.labels({ ...labels, kind, trigger }).inc(0);
    }
    this.labels = labels;
    const g = this.gauges;
    g.autoextendThreshold.labels(labels).set(gauges.autoextendThresholdRatio);
    if (gauges.volumeGroup) {
      g.vgSize.labels(labels).set(gauges.volumeGroup.sizeBytes);
      g.vgFree.labels(labels).set(gauges.volumeGroup.freeBytes);
    } else {
      g.vgSize.remove(labels);
      g.vgFree.remove(labels);
    }
    const pool = gauges.pool;
    const poolSeries = [
      [g.dataSize, pool?.dataSizeBytes],
      [g.dataUsed, pool?.dataUsedBytes],
      [g.metadataSize, pool?.metadataSizeBytes],
      [g.metadataUsed, pool?.metadataUsedBytes],
      [g.active, pool && (pool.active ? 1 : 0)],
      [g.monitored, pool && (pool.monitored ? 1 : 0)],
      [g.dataSecondsToFull, pool?.dataSecondsToFull],
      [g.metadataSecondsToFull, pool?.metadataSecondsToFull],
    ] as const;
    for (const [series, value] of poolSeries) {
      if (value === undefined) series.remove(labels);
      else series.labels(labels).set(value);
    }
  }

  /**
   * Sets `thinpool_runtime_configured` (1 also when `runtime.type` is none) and
   * `thinpool_runtime_awaiting_rollout` (1 while the switch waits for the operator's rollout).
   */
  recordRuntime(configured: boolean, awaitingRollout = false): void {
    if (!this.labels) return;
    this.gauges.runtimeConfigured.labels(this.labels).set(configured ? 1 : 0);
    this.gauges.runtimeAwaitingRollout.labels(this.labels).set(awaitingRollout ? 1 : 0);
  }

  /** Counts the extensions among the actions a reconcile ran. */
  recordExtensions(executed: readonly ExecutedAction[]): void {
    if (!this.labels) return;
    for (const { action } of executed) {
      const ext = action.extension;
      if (ext) this.extensions.labels({ ...this.labels, kind: ext.kind, trigger: ext.trigger }).inc();
    }
  }

  /** Records the end of a reconcile: its time, and whether it failed. */
  recordReconcile(ok: boolean, at: Date): void {
    if (!ok) this.reconcileErrors.labels(this.agent).inc();
    this.lastReconcile.labels(this.agent).set(at.getTime() / 1000);
  }

  /** Drops every per-pool series (the pool was deleted). */
  removePoolSeries(): void {
    if (!this.labels) return;
    for (const series of Object.values(this.gauges)) series.remove(this.labels);
    this.extensions.reset();
    this.labels = undefined;
  }

  /** The exposition text (what `/metrics` serves). */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
