import type {
  Condition,
  DeviceStatus,
  ThinPoolNodePhase,
  ThinPoolNodeStatus,
} from '../api/v1alpha1/types.js';
import { ThinPoolNodeConditions } from '../api/v1alpha1/types.js';
import { setCondition } from '../common/conditions.js';
import type { AgentSpec } from './agent-spec.js';
import type { EngineMemory } from './engine.js';
import { poolNumbers, poolView, type Observed } from './observe/observed.js';
import { renderStep } from './plan/action.js';
import type { Plan } from './plan/plan.js';
import { estimateTimeToFull } from './time-to-full.js';

/** Inputs of {@link nodeStatus}. The phase is never `Provisioning` here: the run loop sets it while applying. */
export interface StatusInput {
  spec: AgentSpec;
  observed: Observed;
  /** The plan of the last observation: its devices and findings (and steps, in Plan mode). */
  plan: Plan;
  memory?: EngineMemory;
  /** The failure of the last run, if it failed. */
  failure?: string;
  /** Plan mode: list the steps instead of applying them. */
  planned?: boolean;
  previous?: ThinPoolNodeStatus;
  now: Date;
}

/**
 * Computes a node's pool status (the `ThinPoolNode` status, also printed by `thinpool-agent status`) from
 * one observation and its plan. Pure: the conditions keep their transition times from `previous`.
 */
export function nodeStatus(input: StatusInput): ThinPoolNodeStatus {
  const { spec, observed, plan, now } = input;
  const view = poolView(observed.lvm, spec.vg, spec.pool, spec.metadataLv);
  const poolLv = view.poolLv?.segtype === 'thin-pool' ? view.poolLv : undefined;
  const numbers = poolLv ? poolNumbers(poolLv) : undefined;
  const devices: DeviceStatus[] = plan.devices.map((d) => ({
    path: d.path,
    sizeBytes: d.sizeBytes,
    state: d.state,
  }));
  const excluded = plan.devices
    .filter((d) => d.reasons.length > 0)
    .map((d) => ({ path: d.path, reason: d.reasons.join('; ') }));
  const blocking = plan.findings.filter((f) => f.blocking);
  let conditions: Condition[] = input.previous?.conditions ?? [];
  const set = (type: string, ok: boolean, reason: string, message: string) => {
    conditions = setCondition(conditions, { type, status: ok ? 'True' : 'False', reason, message }, now);
  };
  const deviceProblem = blocking.find((f) => f.code.startsWith('Device'));
  const pendingDevices = devices.filter((d) => d.state === 'Pending');
  if (deviceProblem)
    set(ThinPoolNodeConditions.DevicesReady, false, deviceProblem.code, deviceProblem.message);
  else if (pendingDevices.length > 0) {
    set(
      ThinPoolNodeConditions.DevicesReady,
      false,
      'DevicesPending',
      `${pendingDevices.map((d) => d.path).join(', ')} not yet in volume group ${spec.vg}`,
    );
  } else {
    set(
      ThinPoolNodeConditions.DevicesReady,
      true,
      'DevicesInUse',
      `${view.pvs.length} physical volume(s) in volume group ${spec.vg}`,
    );
  }
  const poolReady = !!numbers?.active && !input.failure && blocking.length === 0;
  const poolReason = input.failure
    ? 'ApplyFailed'
    : (blocking[0]?.code ?? (!poolLv ? 'PoolMissing' : numbers!.active ? 'PoolActive' : 'PoolInactive'));
  set(
    ThinPoolNodeConditions.PoolReady,
    poolReady,
    poolReason,
    input.failure ??
      blocking[0]?.message ??
      (poolLv
        ? `Thin pool ${spec.vg}/${spec.pool} is ${numbers!.active ? 'active' : 'inactive'}`
        : `Thin pool ${spec.vg}/${spec.pool} does not exist`),
  );
  const monitoringOff = plan.findings.find((f) => f.code === 'MonitoringOff');
  set(
    ThinPoolNodeConditions.Monitored,
    !!numbers?.monitored,
    numbers?.monitored ? 'Monitored' : 'MonitoringOff',
    numbers?.monitored
      ? `dmeventd monitors ${spec.vg}/${spec.pool}`
      : (monitoringOff?.message ?? `dmeventd does not monitor ${spec.vg}/${spec.pool}`),
  );
  set(
    ThinPoolNodeConditions.Ready,
    poolReady,
    poolReady ? 'PoolReady' : poolReason,
    poolReady ? `Thin pool ${spec.vg}/${spec.pool} is ready` : 'The thin pool is not ready',
  );

  let phase: ThinPoolNodePhase;
  if (input.failure || blocking.length > 0) phase = 'Failed';
  else if (input.planned && plan.actions.length > 0) phase = 'Planned';
  else if (poolReady) phase = 'Ready';
  else phase = 'Pending';

  const status: ThinPoolNodeStatus = { phase, conditions, devices };
  if (excluded.length > 0) status.excludedDevices = excluded;
  if (view.vg) status.volumeGroup = { sizeBytes: view.vg.sizeBytes, freeBytes: view.vg.freeBytes };
  if (numbers) {
    status.pool = {
      dataSizeBytes: numbers.dataSizeBytes,
      dataUsedBytes: numbers.dataUsedBytes,
      metadataSizeBytes: numbers.metadataSizeBytes,
      metadataUsedBytes: numbers.metadataUsedBytes,
      chunkSizeBytes: numbers.chunkSizeBytes,
      active: numbers.active,
      monitored: numbers.monitored,
    };
  }
  if (input.memory?.lastExtension) status.lastExtension = input.memory.lastExtension;
  if (input.memory && input.memory.samples.length > 1) {
    const ttf = estimateTimeToFull(input.memory.samples);
    status.secondsToFull = {};
    if (Number.isFinite(ttf.data)) status.secondsToFull.data = Math.round(ttf.data);
    if (Number.isFinite(ttf.metadata)) status.secondsToFull.metadata = Math.round(ttf.metadata);
  }
  if (input.planned) status.plan = plan.actions.map((a) => renderStep(a.step));
  return status;
}
