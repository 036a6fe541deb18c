import { isDeepStrictEqual } from 'node:util';
import type { ThinPool, ThinPoolNodeStatus } from '../../api/v1alpha1/types.js';
import { ThinPoolNodeConditions } from '../../api/v1alpha1/types.js';
import { findCondition, setCondition, type ConditionInput } from '../../common/conditions.js';
import type { AgentSpec } from '../agent-spec.js';
import type { EngineMemory, RunReport } from '../engine.js';
import { poolNumbers, poolView } from '../observe/observed.js';
import { planDestroy } from '../plan/destroy.js';
import { plan } from '../plan/plan.js';
import { nodeStatus } from '../status.js';

/** What a reconcile does with the pool, from the ThinPool alone. */
export type RunKind =
  /** Bring the pool to the spec. */
  | 'apply'
  /** `mode: Plan`: observe and report the exact commands, change nothing. */
  | 'plan'
  /** `paused: true`: observe and report, change nothing. */
  | 'paused'
  /** The ThinPool is being deleted with `deletionPolicy: Delete`: tear the pool down. */
  | 'destroy'
  /** The ThinPool is being deleted with `deletionPolicy: Retain`: leave the pool, report it. */
  | 'retain';

/** Decides what a reconcile does (pure). Deletion wins over pause and Plan mode. */
export function runKind(thinPool: Pick<ThinPool, 'metadata' | 'spec'>): RunKind {
  if (thinPool.metadata.deletionTimestamp)
    return thinPool.spec.deletionPolicy === 'Delete' ? 'destroy' : 'retain';
  if (thinPool.spec.paused) return 'paused';
  return thinPool.spec.mode === 'Plan' ? 'plan' : 'apply';
}

/** The container runtime's part of a status (from `reconcileRuntime`), or why it could not be reconciled. */
export type RuntimePart =
  | { condition: ConditionInput; status: NonNullable<ThinPoolNodeStatus['runtime']>; planLines: string[] }
  | { error: string; type: NonNullable<ThinPoolNodeStatus['runtime']>['type'] };

/** Inputs of {@link agentStatus}. */
export interface AgentStatusInput {
  kind: RunKind;
  spec: AgentSpec;
  /** The engine's report of this reconcile (`observe`-only runs carry an empty plan). */
  report: RunReport;
  memory?: EngineMemory;
  /** The status computed last time (keeps the conditions' transition times). */
  previous?: ThinPoolNodeStatus;
  /** The ThinPool's `metadata.generation`. */
  generation?: number;
  runtime?: RuntimePart;
  now: Date;
}

/** Rounds a duration to two significant digits, so an estimate that wobbles does not count as a change. */
export function roundSeconds(seconds: number): number {
  if (seconds < 100) return Math.round(seconds);
  const scale = 10 ** (Math.floor(Math.log10(seconds)) - 1);
  return Math.round(seconds / scale) * scale;
}

/**
 * The `ThinPoolNode` status of one reconcile (pure): the engine's {@link nodeStatus} of the last observation,
 * plus what the cluster needs: use in percent (the `Data%` and `Metadata%` columns), `observedGeneration`,
 * the runtime's condition, Plan mode's exact commands, and the deletion phases. `lastHeartbeatTime` is added
 * by the writer.
 */
export function agentStatus(input: AgentStatusInput): ThinPoolNodeStatus {
  const { kind, spec, report, now } = input;
  const observed = report.observed;
  const planned = kind === 'plan';
  const current = planned ? report.plan : plan(spec, observed, { autoExtend: false, retryMonitoring: false });
  const status = nodeStatus({
    spec,
    observed,
    plan: current,
    memory: input.memory,
    failure: report.failure?.message,
    planned,
    previous: input.previous,
    now,
  });
  if (status.pool) {
    const lv = poolView(observed.lvm, spec.vg, spec.pool, spec.metadataLv).poolLv!;
    const numbers = poolNumbers(lv);
    status.pool.dataUsedPercent = numbers.dataPercent;
    status.pool.metadataUsedPercent = numbers.metadataPercent;
  }
  if (status.secondsToFull) {
    const { data, metadata } = status.secondsToFull;
    status.secondsToFull = {};
    if (data !== undefined) status.secondsToFull.data = roundSeconds(data);
    if (metadata !== undefined) status.secondsToFull.metadata = roundSeconds(metadata);
    if (data === undefined && metadata === undefined) delete status.secondsToFull;
  }
  if (input.generation !== undefined) status.observedGeneration = input.generation;
  // The operator shows Ready's message per failing node: give it the actionable one (the refusal, the
  // failed command), not a generic "not ready".
  const ready = findCondition(status.conditions, ThinPoolNodeConditions.Ready);
  const poolReady = findCondition(status.conditions, ThinPoolNodeConditions.PoolReady);
  if (ready?.status === 'False' && poolReady?.status === 'False' && poolReady.message) {
    status.conditions = setCondition(status.conditions, { ...ready, message: poolReady.message }, now);
  }

  const runtime = input.runtime;
  if (runtime && 'error' in runtime) {
    status.runtime = { type: runtime.type, configured: false, message: runtime.error.slice(0, 4096) };
    status.conditions = setCondition(
      status.conditions,
      {
        type: ThinPoolNodeConditions.RuntimeConfigured,
        status: 'False',
        reason: 'RuntimeFailed',
        message: runtime.error,
      },
      now,
    );
  } else if (runtime) {
    status.runtime = {
      ...runtime.status,
      ...(runtime.status.message ? { message: runtime.status.message.slice(0, 4096) } : {}),
    };
    status.conditions = setCondition(status.conditions, runtime.condition, now);
    if (planned && runtime.planLines.length > 0) status.plan = [...(status.plan ?? []), ...runtime.planLines];
  }
  if (status.plan) status.plan = status.plan.slice(0, 256);

  if (kind === 'destroy') return deletionStatus(spec, input, status);
  return status;
}

function deletionStatus(
  spec: AgentSpec,
  input: AgentStatusInput,
  status: ThinPoolNodeStatus,
): ThinPoolNodeStatus {
  const { report, now } = input;
  const remaining = planDestroy(spec, report.observed);
  const blocking = remaining.findings.find((f) => f.blocking);
  let conditions = status.conditions ?? [];
  const set = (c: ConditionInput) => (conditions = setCondition(conditions, c, now));
  if (!report.failure && !blocking && remaining.actions.length === 0) {
    set({
      type: ThinPoolNodeConditions.Ready,
      status: 'False',
      reason: 'PoolDeleted',
      message: `Thin pool ${spec.vg}/${spec.pool} and its volume group were removed (deletionPolicy Delete)`,
    });
    set({
      type: ThinPoolNodeConditions.PoolReady,
      status: 'False',
      reason: 'PoolDeleted',
      message: `Thin pool ${spec.vg}/${spec.pool} does not exist`,
    });
    const deleted: ThinPoolNodeStatus = { phase: 'Deleted', conditions };
    if (status.observedGeneration !== undefined) deleted.observedGeneration = status.observedGeneration;
    return deleted;
  }
  const reason = report.failure ? 'DeleteFailed' : (blocking?.code ?? 'Deleting');
  const message =
    report.failure?.message ??
    blocking?.message ??
    `Removing thin pool ${spec.vg}/${spec.pool} (deletionPolicy Delete)`;
  set({ type: ThinPoolNodeConditions.Ready, status: 'False', reason, message });
  return { ...status, phase: 'Deleting', conditions };
}

/** Status fields that change with every write to the pool: their changes alone are "usage" changes. */
function withoutUsage(status: ThinPoolNodeStatus): ThinPoolNodeStatus {
  const { lastHeartbeatTime: _heartbeat, secondsToFull: _ttf, ...rest } = status;
  if (!rest.pool) return rest;
  const {
    dataUsedBytes: _d,
    metadataUsedBytes: _m,
    dataUsedPercent: _dp,
    metadataUsedPercent: _mp,
    ...pool
  } = rest.pool;
  return { ...rest, pool: pool as ThinPoolNodeStatus['pool'] };
}

/** Why a status must be written now, or `undefined` when the written one still holds. */
export type WriteReason = 'changed' | 'usage' | 'heartbeat';

/** Inputs of {@link writeReason}. */
export interface WriteDecisionInput {
  /** The status last written (undefined: never written by this agent). */
  written?: ThinPoolNodeStatus;
  next: ThinPoolNodeStatus;
  /** True when the pool's use did not change since the previous observation (the numbers are at rest). */
  usageSettled: boolean;
  now: Date;
  heartbeatMs: number;
  /** A usage change of at least this many percentage points is written at once. Default 1. */
  usageStepPercent?: number;
}

/**
 * Decides whether to write the status (pure). Anything but use is written at once. Use alone is written
 * when it moved by at least `usageStepPercent` points, or when it came to rest (so the written numbers end up
 * exact without a write per reconcile while a pool fills), and the status is written at least every
 * `heartbeatMs` (`lastHeartbeatTime`).
 */
export function writeReason(input: WriteDecisionInput): WriteReason | undefined {
  const { written, next } = input;
  if (!written) return 'changed';
  if (!isDeepStrictEqual(withoutUsage(written), withoutUsage(next))) return 'changed';
  const step = input.usageStepPercent ?? 1;
  const moved = (a?: number, b?: number) => Math.abs((a ?? 0) - (b ?? 0));
  const usageEqual = isDeepStrictEqual(
    { ...written, lastHeartbeatTime: undefined },
    { ...next, lastHeartbeatTime: undefined },
  );
  if (!usageEqual) {
    if (
      moved(written.pool?.dataUsedPercent, next.pool?.dataUsedPercent) >= step ||
      moved(written.pool?.metadataUsedPercent, next.pool?.metadataUsedPercent) >= step ||
      input.usageSettled
    ) {
      return 'usage';
    }
  }
  const beat = written.lastHeartbeatTime ? Date.parse(written.lastHeartbeatTime) : Number.NaN;
  if (Number.isNaN(beat) || input.now.getTime() - beat >= input.heartbeatMs) return 'heartbeat';
  return undefined;
}

/**
 * The JSON merge patch that turns `from` into `to`: `to`'s fields, and `null` for every field (at any object
 * depth) that `to` no longer has, since a merge patch keeps absent fields. Arrays are replaced whole.
 */
export function replacingMergePatch(from: unknown, to: unknown): unknown {
  if (!isPlainObject(to) || !isPlainObject(from)) return to;
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(to)) patch[key] = replacingMergePatch(from[key], value);
  for (const key of Object.keys(from)) if (!(key in to)) patch[key] = null;
  return patch;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
