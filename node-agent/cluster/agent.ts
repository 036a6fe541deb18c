import {
  API_VERSION,
  AWAITING_ROLLOUT,
  ThinPoolNodeConditions,
  type ThinPool,
  type ThinPoolNode,
  type ThinPoolNodeStatus,
} from '../../api/v1alpha1/types.js';
import { findCondition, setCondition } from '../../common/conditions.js';
import type { Logger } from '../../common/logger.js';
import type { NodeObject } from '../../operator/controller/kube-types.js';
import { matchesNodeSelector } from '../../operator/controller/node-selection.js';
import { Informer, type InformerOptions } from '../../common/kube/informer.js';
import { describeError, isNotFound, type KubeClient } from '../../common/kube/kube-client.js';
import type { KubeObject } from '../../common/kube/kube-object.js';
import { SpecError, toAgentSpec, type AgentSpec } from '../agent-spec.js';
import type { RunReport } from '../engine.js';
import type { Host } from '../host/host.js';
import type { Observed } from '../observe/observed.js';
import { LoggedHost } from '../host/logged-host.js';
import { isAwaitingRollout, poolGauges, type AgentMetrics } from '../metrics/agent-metrics.js';
import { plan } from '../plan/plan.js';
import { reconcileRuntime } from '../runtime/index.js';
import { DmEventWatcher, thinPoolTargetDevice } from './dm-event-watcher.js';
import { BackloggedEventRecorder, isTransient, type EventTarget } from './event-recorder.js';
import { GatedHost } from './gated-host.js';
import { parseThinPoolStatus, PrimedEngine, withKernelUsage } from './kernel-usage.js';
import { NODE_PATH, THINPOOL_PATH, THINPOOLNODE_PATH } from './kube-paths.js';
import {
  agentStatus,
  runKind,
  writeReason,
  type RunKind,
  type RuntimePart,
  type WriteReason,
} from './node-report.js';
import { runEvents, type AgentEvent } from './run-events.js';
import { StatusWriter } from './status-writer.js';

/** `source.component` of the agent's Events. */
export const AGENT_COMPONENT = 'thinpool-agent';

/** Informer tuning (defaults suit production; tests shorten them). */
export type AgentInformerTuning = Partial<
  Pick<InformerOptions<KubeObject>, 'watchTimeoutSeconds' | 'silenceGraceMs' | 'relistPeriodMs' | 'backoff'>
>;

/** Options of a {@link ThinPoolAgent}. */
export interface ThinPoolAgentOptions {
  /** The node's `Host` (nsenter in a pod, local on a plain host, the VM guest in tests). */
  host: Host;
  client: KubeClient;
  nodeName: string;
  thinPoolName: string;
  log: Logger;
  metrics: AgentMetrics;
  /** Reconcile at least this often (default 10 s). */
  intervalMs?: number;
  /** Write the status at least this often, `lastHeartbeatTime` (default 10 min). */
  heartbeatMs?: number;
  /** React to the pool's device-mapper events (default true). */
  dmEvents?: boolean;
  /** `reportingInstance` of the Events (default: the node name). */
  instance?: string;
  informers?: AgentInformerTuning;
  now?: () => Date;
}

/** What one reconcile did (logs, tests, benchmarks). */
export interface ReconcileSummary {
  at: Date;
  /** What woke the agent: `interval`, `thinpool-changed`, `node-changed`, `dm-event`, ... */
  triggers: string[];
  kind?: RunKind;
  outcome?: RunReport['outcome'];
  /** Command lines (and `write-file` lines) that changed the host. */
  executed: string[];
  /** Why the status was written, when it was. */
  wrote?: WriteReason;
  /** Events recorded (before delivery). */
  events: AgentEvent[];
  error?: string;
  durationMs: number;
}

/**
 * The in-cluster node agent of one ThinPool on one node (`thinpool-agent run`): level-based. It watches its
 * ThinPool and its Node, and on every change, every interval and every device-mapper event of the pool
 * observes the node, plans and applies (the engine), then computes the `ThinPoolNode` status once and writes
 * it only when it changed (or for the heartbeat), records Events on the ThinPool and the Node, and updates the
 * metrics. Storage work never waits for the API server: while it is unreachable the agent keeps
 * reconciling, holds the status and the Events, and delivers them when it answers again.
 */
export class ThinPoolAgent {
  private readonly gate: GatedHost;
  private readonly host: Host;
  private readonly thinPools: Informer<ThinPool>;
  private readonly nodes: Informer<NodeObject>;
  private readonly writer: StatusWriter;
  private readonly events: BackloggedEventRecorder;
  private readonly watcher?: DmEventWatcher;
  private readonly now: () => Date;
  private readonly intervalMs: number;
  private readonly heartbeatMs: number;
  private engine?: PrimedEngine;
  /** The last full observation of an apply run, the base of the fast path after a device-mapper event. */
  private lastObserved?: { observed: Observed; atMs: number };
  private dmDevice?: string;
  private engineSpec = '';
  private previous?: ThinPoolNodeStatus;
  private standingKeys = new Set<string>();
  private readonly triggers = new Set<string>();
  private wakeLoop?: () => void;
  private intervalTimer?: NodeJS.Timeout;
  private loop?: Promise<void>;
  private stopping = false;
  private apiDownSinceMs?: number;
  private provisioningWritten = false;
  /** True when the last reconcile ran to completion (`/readyz`); refusals count as completed. */
  ready = false;
  /** Why the agent is not ready. */
  notReadyReason = 'The agent has not reconciled yet';
  /** The last reconcile. */
  lastReconcile?: ReconcileSummary;
  /** Reconciles done. */
  reconciles = 0;

  constructor(private readonly options: ThinPoolAgentOptions) {
    const { client, log, nodeName, thinPoolName } = options;
    this.now = options.now ?? (() => new Date());
    this.intervalMs = options.intervalMs ?? 10_000;
    this.heartbeatMs = options.heartbeatMs ?? 10 * 60_000;
    this.gate = new GatedHost(options.host);
    this.host = new LoggedHost(this.gate, log);
    const tuning = { client, logger: log, ...options.informers };
    this.thinPools = new Informer<ThinPool>({
      ...tuning,
      kind: 'ThinPool',
      path: THINPOOL_PATH,
      fieldSelector: `metadata.name=${thinPoolName}`,
    });
    this.nodes = new Informer<NodeObject>({
      ...tuning,
      kind: 'Node',
      path: NODE_PATH,
      fieldSelector: `metadata.name=${nodeName}`,
      transform: (node) => ({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: node.metadata.name,
          uid: node.metadata.uid,
          resourceVersion: node.metadata.resourceVersion,
          labels: node.metadata.labels,
        },
      }),
    });
    this.thinPools.on({
      add: () => this.trigger('thinpool-added'),
      update: (obj, old) => {
        if (
          obj.metadata.generation !== old.metadata.generation ||
          obj.metadata.deletionTimestamp !== old.metadata.deletionTimestamp
        ) {
          this.trigger('thinpool-changed');
        }
      },
      delete: () => this.trigger('thinpool-deleted'),
    });
    this.nodes.on({
      add: () => this.trigger('node-added'),
      update: (obj, old) => {
        if (JSON.stringify(obj.metadata.labels ?? {}) !== JSON.stringify(old.metadata.labels ?? {}))
          this.trigger('node-changed');
      },
    });
    this.writer = new StatusWriter(client, thinPoolName, nodeName);
    this.events = new BackloggedEventRecorder({
      client,
      component: AGENT_COMPONENT,
      host: nodeName,
      instance: options.instance ?? nodeName,
      log,
      now: this.now,
    });
    if (options.dmEvents ?? true) {
      this.watcher = new DmEventWatcher({
        host: options.host,
        log,
        onEvent: (device) => {
          this.dmDevice = device;
          this.trigger('dm-event');
        },
      });
    }
  }

  /** Events waiting for the API server. */
  get eventBacklog(): number {
    return this.events.backlog;
  }

  /** Starts watching and reconciling (returns at once; the first reconcile follows the ThinPool's list). */
  async start(): Promise<void> {
    const { log } = this.options;
    try {
      this.previous = await this.writer.load();
    } catch (err) {
      log.warn('Failed to read ThinPoolNode status at start', {
        thinPoolNode: this.writer.name,
        err: describeError(err),
      });
      this.noteApi(false);
    }
    this.thinPools.start();
    this.nodes.start();
    // The first reconcile needs both: the spec, and the Node (Event target, whether this node matches).
    this.loop = Promise.all([this.thinPools.waitForSync(), this.nodes.waitForSync()]).then(() => this.run());
  }

  /** Asks for a reconcile now (coalesced with any already pending). */
  trigger(reason: string): void {
    this.triggers.add(reason);
    const wake = this.wakeLoop;
    this.wakeLoop = undefined;
    wake?.();
  }

  /**
   * Stops gracefully: takes no new work, lets a running mutating command finish (it is never killed), then
   * stops watching. Resolves when everything has stopped.
   */
  async stop(): Promise<void> {
    const { log } = this.options;
    this.stopping = true;
    clearTimeout(this.intervalTimer);
    this.trigger('stop');
    await this.watcher?.stop();
    const running = this.gate.mutationsInFlight;
    if (running > 0) log.info('Waiting for running LVM command before stopping thin pool agent', { running });
    await this.gate.close();
    if (running > 0) log.info('Finished running LVM command before stopping thin pool agent', { running });
    await this.loop;
    await Promise.all([this.thinPools.stop(), this.nodes.stop()]);
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      if (this.triggers.size === 0) await new Promise<void>((resolve) => (this.wakeLoop = resolve));
      if (this.stopping) break;
      const triggers = [...this.triggers];
      this.triggers.clear();
      clearTimeout(this.intervalTimer);
      try {
        await this.reconcile(triggers);
      } catch (err) {
        this.options.log.error('Failed thin pool agent loop', { err: describeError(err) });
      }
      if (!this.stopping) {
        this.intervalTimer = setTimeout(() => this.trigger('interval'), this.intervalMs);
        this.intervalTimer.unref();
      }
    }
  }

  private async reconcile(triggers: string[]): Promise<void> {
    const { log, metrics, thinPoolName } = this.options;
    const started = performance.now();
    const summary: ReconcileSummary = { at: this.now(), triggers, executed: [], events: [], durationMs: 0 };
    const thinPool = this.thinPools.get(thinPoolName);
    if (!thinPool) {
      this.ready = false;
      this.notReadyReason = this.thinPools.hasSynced
        ? `ThinPool ${thinPoolName} does not exist`
        : 'The ThinPool has not been read from the API server yet';
      return;
    }
    let spec: AgentSpec;
    try {
      spec = toAgentSpec(thinPoolName, thinPool.spec);
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      await this.reportError(thinPool, 'InvalidSpec', err.message, summary);
      return;
    }
    const engine = this.engineFor(spec);
    const kind = runKind(thinPool);
    summary.kind = kind;
    this.provisioningWritten = false;
    this.gate.beforeMutation = kind === 'apply' ? () => this.markProvisioning(thinPool) : undefined;
    let report: RunReport;
    let runtime: RuntimePart | undefined;
    let primed = false;
    try {
      if (
        kind === 'apply' &&
        triggers.includes('dm-event') &&
        triggers.every((t) => t === 'dm-event' || t === 'interval')
      ) {
        primed = await this.primeFromKernel(engine, spec);
      }
      report = await this.runEngine(kind, engine, spec);
      if (!this.stopping) runtime = await this.reconcileRuntime(kind, thinPool, spec, report);
    } catch (err) {
      if (this.stopping) return;
      await this.reportError(thinPool, 'ReconcileFailed', describeError(err), summary);
      return;
    } finally {
      this.gate.beforeMutation = undefined;
    }
    if (this.stopping) return;
    summary.outcome = report.outcome;
    summary.executed = report.executed.map((e) =>
      e.action.step.type === 'command' ? e.action.step.argv.join(' ') : `write-file ${e.action.step.path}`,
    );
    const now = this.now();
    const status = agentStatus({
      kind,
      spec,
      report,
      memory: engine.memory,
      previous: this.previous,
      generation: thinPool.metadata.generation,
      runtime,
      now,
    });
    this.previous = status;

    const gauges = poolGauges(spec, report.observed, engine.memory);
    if (status.phase === 'Deleted') metrics.removePoolSeries();
    else {
      metrics.recordObservation(spec, gauges);
      metrics.recordExtensions(report.executed);
      if (status.runtime)
        metrics.recordRuntime(status.runtime.configured, isAwaitingRollout(status.conditions));
    }
    metrics.recordReconcile(report.outcome !== 'failed', now);

    const { events, keys } = runEvents({ kind, spec, report, previousKeys: this.standingKeys });
    this.standingKeys = keys;
    summary.events = events;
    for (const event of events) this.events.record(this.targets(thinPool), event);

    summary.wrote = await this.writeStatus(thinPool, status, engine, now);
    await this.deliverEvents();

    this.ready = report.outcome !== 'failed';
    this.notReadyReason = report.failure?.message ?? '';
    // Only a full observation (or one taken after an action) is a base for the fast path, so a pool that
    // raises events all the time is still observed in full at least every other interval.
    if (kind !== 'apply' || report.failure) this.lastObserved = undefined;
    else if (!primed || report.executed.length > 0)
      this.lastObserved = { observed: report.observed, atMs: now.getTime() };
    if (kind === 'apply' || kind === 'paused')
      this.watcher?.watch(thinPoolTargetDevice(spec, report.observed));
    else this.watcher?.watch(undefined);
    summary.durationMs = performance.now() - started;
    this.lastReconcile = summary;
    this.reconciles++;
    if (report.executed.length > 0 || report.failure || summary.wrote === 'changed') {
      log.info('Reconciled thin pool', {
        thinPool: thinPoolName,
        node: this.options.nodeName,
        kind,
        outcome: report.outcome,
        phase: status.phase,
        executed: report.executed.length,
        triggers,
        durationMs: Math.round(summary.durationMs),
      });
    }
  }

  private engineFor(spec: AgentSpec): PrimedEngine {
    const key = JSON.stringify(spec);
    if (this.engine && key === this.engineSpec) return this.engine;
    this.lastObserved = undefined;
    const next = new PrimedEngine({
      host: this.host,
      spec,
      log: this.options.log,
      now: this.now,
      lvmShell: true,
    });
    if (this.engine) Object.assign(next.memory, this.engine.memory);
    else if (this.previous?.lastExtension) next.memory.lastExtension = this.previous.lastExtension;
    this.engine = next;
    this.engineSpec = key;
    return next;
  }

  /**
   * After a device-mapper event, starts the run from the last observation and the kernel's current use of
   * the pool (one `dmsetup status`) instead of a full round of LVM reports, so an extension starts as soon as
   * dmeventd's would. Falls back to a full observation when the last one is old or the status unreadable.
   */
  private async primeFromKernel(engine: PrimedEngine, spec: AgentSpec): Promise<boolean> {
    const last = this.lastObserved;
    const device = this.dmDevice;
    if (!last || !device || this.now().getTime() - last.atMs > 2 * this.intervalMs) return false;
    try {
      const { stdout } = await this.options.host.run(['dmsetup', 'status', device]);
      const status = parseThinPoolStatus(stdout);
      if (!status) return false;
      engine.prime(withKernelUsage(spec, last.observed, status));
      return true;
    } catch (err) {
      this.options.log.debug('Failed to read thin pool status from device-mapper', {
        device,
        err: describeError(err),
      });
      return false;
    }
  }

  private async runEngine(kind: RunKind, engine: PrimedEngine, spec: AgentSpec): Promise<RunReport> {
    switch (kind) {
      case 'apply':
        return engine.apply();
      case 'plan':
        return engine.dryRun();
      case 'destroy':
        return engine.destroy();
      case 'paused':
      case 'retain': {
        const observed = await engine.observe();
        const current = plan(spec, observed, { autoExtend: false, retryMonitoring: false });
        return { outcome: 'no-changes', plan: current, executed: [], observed, findings: current.findings };
      }
    }
  }

  /**
   * The container runtime's reconcile, once the pool is ready (always for `runtime.type: none`). A switch
   * (which restarts the runtime and moves its data aside) waits for the operator's rollout: the agent first
   * plans without applying, and launches the switch only when its ThinPoolNode says
   * `spec.runtimeSwitch: Allowed`; until then it reports `RuntimeConfigured` False, reason `AwaitingRollout`,
   * with what it would do. A node with nothing to switch, or one finishing an interrupted switch (undoing it
   * cannot wait), needs no permission.
   */
  private async reconcileRuntime(
    kind: RunKind,
    thinPool: ThinPool,
    spec: AgentSpec,
    report: RunReport,
  ): Promise<RuntimePart | undefined> {
    if (kind !== 'apply' && kind !== 'plan') return undefined;
    const type = thinPool.spec.runtime?.type ?? 'none';
    const probe = agentStatus({ kind, spec, report, now: this.now() });
    const poolReady = findCondition(probe.conditions, ThinPoolNodeConditions.PoolReady)?.status === 'True';
    if (type !== 'none' && !poolReady) return undefined;
    const logger = this.options.log;
    try {
      if (kind === 'apply' && type !== 'none') {
        const preview = await reconcileRuntime(this.host, thinPool.spec, { mode: 'Plan', logger });
        const recovering = preview.observed.lastSwitch?.result.state === 'running';
        if (preview.plan.actions.length > 0 && !recovering && !(await this.runtimeSwitchAllowed())) {
          const outcome = preview.plan.outcome;
          return awaitingRollout(type, 'message' in outcome ? outcome.message : '', preview.report.planLines);
        }
        if (preview.plan.actions.length === 0) return preview.report;
      }
      const result = await reconcileRuntime(this.host, thinPool.spec, {
        mode: kind === 'plan' ? 'Plan' : 'Apply',
        logger,
      });
      return result.report;
    } catch (err) {
      return { type, error: describeError(err) };
    }
  }

  /** Whether the operator allows this node's runtime switch now (its ThinPoolNode's `spec.runtimeSwitch`). */
  private async runtimeSwitchAllowed(): Promise<boolean> {
    try {
      const tpn = await this.options.client.get<ThinPoolNode>(
        `${THINPOOLNODE_PATH}/${encodeURIComponent(this.writer.name)}`,
      );
      return tpn.spec.runtimeSwitch === 'Allowed';
    } catch (err) {
      if (!isNotFound(err)) {
        this.options.log.warn('Failed to read runtime switch permission from ThinPoolNode', {
          thinPoolNode: this.writer.name,
          err: describeError(err),
        });
      }
      return false;
    }
  }

  private targets(thinPool: ThinPool): EventTarget[] {
    const node = this.nodes.get(this.options.nodeName);
    return [
      {
        apiVersion: API_VERSION,
        kind: 'ThinPool',
        name: this.options.thinPoolName,
        uid: thinPool.metadata.uid,
      },
      { apiVersion: 'v1', kind: 'Node', name: this.options.nodeName, uid: node?.metadata.uid },
    ];
  }

  /** Whether the agent may create its ThinPoolNode (the operator normally does): only for a live, matching pool. */
  private mayCreate(thinPool: ThinPool): ThinPool | undefined {
    if (thinPool.metadata.deletionTimestamp) return undefined;
    const node = this.nodes.get(this.options.nodeName);
    if (!node || !matchesNodeSelector(node.metadata.labels, thinPool.spec.nodeSelector)) return undefined;
    return thinPool;
  }

  private async writeStatus(
    thinPool: ThinPool,
    status: ThinPoolNodeStatus,
    engine: PrimedEngine | undefined,
    now: Date,
  ): Promise<WriteReason | undefined> {
    const samples = engine?.memory.samples ?? [];
    const [before, last] = samples.slice(-2);
    const usageSettled =
      !!before &&
      !!last &&
      before.dataUsedBytes === last.dataUsedBytes &&
      before.metadataUsedBytes === last.metadataUsedBytes;
    const reason = writeReason({
      written: this.writer.written,
      next: status,
      usageSettled,
      now,
      heartbeatMs: this.heartbeatMs,
    });
    if (!reason) return undefined;
    const next = { ...status, lastHeartbeatTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z') };
    try {
      await this.writer.write(next, this.mayCreate(thinPool));
      this.noteApi(true);
      return reason;
    } catch (err) {
      this.options.log.warn('Failed to write ThinPoolNode status', {
        thinPoolNode: this.writer.name,
        err: describeError(err),
      });
      if (isTransient(err)) this.noteApi(false);
      return undefined;
    }
  }

  /** Writes the `Provisioning` phase before the first change to a pool that is not ready (best effort, bounded). */
  private async markProvisioning(thinPool: ThinPool): Promise<void> {
    if (this.provisioningWritten || this.previous?.phase === 'Ready' || this.apiDownSinceMs !== undefined)
      return;
    this.provisioningWritten = true;
    const status: ThinPoolNodeStatus = {
      ...(this.writer.written ?? {}),
      phase: 'Provisioning',
      observedGeneration: thinPool.metadata.generation,
      lastHeartbeatTime: this.now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
    };
    const write = this.writer.write(status, this.mayCreate(thinPool)).then(
      () => true,
      () => false,
    );
    const bounded = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000).unref());
    await Promise.race([write, bounded]);
  }

  private async deliverEvents(): Promise<void> {
    if (this.events.backlog === 0) return;
    const result = await this.events.flush();
    this.noteApi(result.error === undefined);
  }

  /** Tracks API reachability; on the first success after a failure, reports what was held meanwhile. */
  private noteApi(ok: boolean): void {
    const { log } = this.options;
    const nowMs = this.now().getTime();
    if (!ok) {
      if (this.apiDownSinceMs === undefined) {
        this.apiDownSinceMs = nowMs;
        log.warn('Lost contact with the API server; holding ThinPoolNode status and Events', {
          thinPool: this.options.thinPoolName,
        });
      }
      return;
    }
    if (this.apiDownSinceMs === undefined) return;
    const seconds = Math.round((nowMs - this.apiDownSinceMs) / 1000);
    this.apiDownSinceMs = undefined;
    const backlog = this.events.backlog;
    log.info('Reconnected to the API server; delivering held ThinPoolNode status and Events', {
      thinPool: this.options.thinPoolName,
      unreachableSeconds: seconds,
      events: backlog,
      droppedEvents: this.events.dropped,
    });
    const thinPool = this.thinPools.get(this.options.thinPoolName);
    if (thinPool) {
      this.events.record(this.targets(thinPool), {
        type: 'Normal',
        reason: 'Reconnected',
        message: `The API server was unreachable for ${seconds} s; the agent kept reconciling and delivered ${backlog} held Event${backlog === 1 ? '' : 's'} and the current status`,
      });
    }
  }

  /** A reconcile that could not run the engine: Ready False with the reason, an Event, not ready. */
  private async reportError(
    thinPool: ThinPool,
    reason: string,
    message: string,
    summary: ReconcileSummary,
  ): Promise<void> {
    const { log, metrics } = this.options;
    const now = this.now();
    log.error('Failed to reconcile thin pool', { thinPool: this.options.thinPoolName, reason, err: message });
    this.ready = false;
    this.notReadyReason = message;
    metrics.recordReconcile(false, now);
    const conditions = setCondition(
      this.previous?.conditions,
      { type: ThinPoolNodeConditions.Ready, status: 'False', reason, message },
      now,
    );
    const status: ThinPoolNodeStatus = {
      ...(this.previous ?? {}),
      phase: 'Failed',
      conditions,
      observedGeneration: thinPool.metadata.generation,
    };
    this.previous = status;
    const key = `error:${reason}:${message}`;
    const event: AgentEvent = { type: 'Warning', reason, message };
    if (!this.standingKeys.has(key)) {
      this.events.record(this.targets(thinPool), event);
      summary.events = [event];
    }
    this.standingKeys = new Set([key]);
    summary.error = message;
    summary.wrote = await this.writeStatus(thinPool, status, this.engine, now);
    await this.deliverEvents();
    this.lastReconcile = summary;
    this.reconciles++;
  }
}

/**
 * The runtime part of a node that would switch its runtime but waits for the operator's rollout (pure):
 * `RuntimeConfigured` False, reason `AwaitingRollout`, saying what the switch would do.
 */
export function awaitingRollout(
  type: NonNullable<ThinPoolNodeStatus['runtime']>['type'],
  switchMessage: string,
  planLines: readonly string[],
): RuntimePart {
  const what = switchMessage || 'The runtime switch';
  const steps = planLines.length > 0 ? ` Would run: ${planLines.join('; ')}` : '';
  const message = `${what} waits for the operator's rollout to allow this node (ThinPoolNode spec.runtimeSwitch Allowed).${steps}`;
  return {
    condition: {
      type: ThinPoolNodeConditions.RuntimeConfigured,
      status: 'False',
      reason: AWAITING_ROLLOUT,
      message,
    },
    status: { type, configured: false, message: message.slice(0, 4096) },
    planLines: [...planLines],
  };
}
