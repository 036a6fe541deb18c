/**
 * The container-runtime module's interface for the standalone CLI (`node-agent/cli/runtime.ts`) and the
 * in-cluster agent: call {@link reconcileRuntime} once per reconcile, after the pool is ready, and put its report in
 * status (`RuntimeConfigured` condition, `status.runtime`, `thinpool_runtime_configured`, Plan mode lines).
 */
import type { ThinPoolNodeStatus } from '../../api/v1alpha1/types.js';
import type { ConditionInput } from '../../common/conditions.js';
import { createLogger, type Logger } from '../../common/logger.js';
import type { Host } from '../host/host.js';
import {
  applyRuntimeActions,
  describeRuntimeAction,
  waitForSwitch,
  type WaitForSwitchOptions,
} from './apply.js';
import {
  DEFAULT_RUNTIME_HOST_OPTIONS,
  runtimeIntentFromSpec,
  validateHostOptions,
  type RuntimeSpecSource,
} from './intent.js';
import { observeRuntime } from './observe.js';
import { planRuntime } from './plan.js';
import type {
  RuntimeHostOptions,
  RuntimeIntent,
  RuntimeObserved,
  RuntimeOutcome,
  RuntimePlan,
} from './types.js';

export { dmName, dmPoolName } from './dm-name.js';
export { mergeDaemonJson, parseDaemonJson, desiredStorageOptions } from './daemon-json.js';
export { mergeContainerdConfig, parseContainerdConfig } from './containerd-toml.js';
export { DEFAULT_RUNTIME_HOST_OPTIONS, runtimeIntentFromSpec } from './intent.js';
export type { RuntimeSpecInput, RuntimeSpecSource } from './intent.js';
export { planRuntime } from './plan.js';
export { observeRuntime } from './observe.js';
export { describeRuntimeAction, waitForSwitch } from './apply.js';
export type * from './types.js';

/** What status needs from one runtime reconcile. */
export interface RuntimeReport {
  /** Value of `thinpool_runtime_configured` (true also when `runtime.type` is `none`). */
  configured: boolean;
  /** The `RuntimeConfigured` condition (without `lastTransitionTime`: use `setCondition`). */
  condition: ConditionInput;
  /** `ThinPoolNode.status.runtime`. */
  status: NonNullable<ThinPoolNodeStatus['runtime']>;
  /** Plan mode: the exact commands and file writes, one per line. */
  planLines: string[];
}

const CONDITION = 'RuntimeConfigured';

/**
 * The report for a plan. `applied` says whether the plan's actions ran (false in Plan mode, or when the
 * apply failed: then the caller reports the error).
 */
export function runtimeReport(intent: RuntimeIntent, plan: RuntimePlan, applied: boolean): RuntimeReport {
  const o: RuntimeOutcome = plan.outcome;
  const planLines = plan.actions.map(describeRuntimeAction);
  const make = (status: 'True' | 'False', reason: string, message: string): RuntimeReport => ({
    configured: status === 'True',
    condition: { type: CONDITION, status, reason, message },
    status: { type: intent.type, configured: status === 'True', message },
    planLines,
  });
  switch (o.kind) {
    case 'not-requested':
      return make('True', 'NotRequested', 'runtime.type is none: the container runtime is left alone');
    case 'configured':
      return make('True', 'Configured', `Verified: ${o.verified}`);
    case 'refused':
      return make('False', o.reason, o.message);
    case 'switch':
      return applied
        ? make('False', 'Switching', o.message)
        : make('False', 'SwitchPlanned', `${o.message}: not applied (Plan mode or apply failed)`);
    case 'switching':
      return make('False', 'Switching', o.message);
    case 'failed': {
      const reasons = {
        'rolled-back': 'RolledBack',
        'rollback-failed': 'RollbackFailed',
        running: 'SwitchInterrupted',
      };
      return make('False', reasons[o.state as keyof typeof reasons] ?? 'SwitchFailed', o.message);
    }
    case 'not-verified':
      return make('False', o.reason, o.message);
  }
}

/** Options of {@link reconcileRuntime}. */
export interface ReconcileRuntimeOptions {
  /** `Plan` only reports the actions. */
  mode: 'Apply' | 'Plan';
  /** Host paths and binaries; defaults to Debian's ({@link DEFAULT_RUNTIME_HOST_OPTIONS}). */
  hostOptions?: Partial<RuntimeHostOptions>;
  /**
   * Apply mode: wait for a switch this call launched, or one already running on the host, to finish, then
   * observe and plan again (the standalone CLI).
   */
  wait?: boolean | WaitForSwitchOptions;
  logger?: Logger;
}

/** Result of {@link reconcileRuntime}. */
export interface RuntimeReconcileResult {
  /** The plan whose outcome the report describes (after waiting, the plan of the final observation). */
  plan: RuntimePlan;
  /** The actions that ran (empty in Plan mode or when there was nothing to do). */
  appliedActions: RuntimePlan['actions'];
  observed: RuntimeObserved;
  report: RuntimeReport;
}

/**
 * One level-based reconcile of the container runtime: observe, plan, apply (unless Plan mode), and
 * report. With `wait`, a launched switch is awaited and the runtime observed and planned again, so the
 * report shows the verified (or rolled-back) end state. Throws when an action fails; the error carries the
 * command line, exit code and stderr.
 */
export async function reconcileRuntime(
  host: Host,
  spec: RuntimeSpecSource,
  options: ReconcileRuntimeOptions,
): Promise<RuntimeReconcileResult> {
  const logger = options.logger ?? createLogger('runtime');
  const hostOptions: RuntimeHostOptions = { ...DEFAULT_RUNTIME_HOST_OPTIONS, ...options.hostOptions };
  const problems = validateHostOptions(hostOptions);
  if (problems.length) throw new Error(`Invalid runtime host options: ${problems.join('; ')}`);
  const intent = runtimeIntentFromSpec(spec);
  if (intent.type === 'none') {
    const plan: RuntimePlan = { outcome: { kind: 'not-requested' }, actions: [] };
    const observed = emptyObservation();
    return { plan, appliedActions: [], observed, report: runtimeReport(intent, plan, false) };
  }
  const waitOptions = typeof options.wait === 'object' ? options.wait : {};
  let observed = await observeRuntime(host, intent, hostOptions);
  let plan = planRuntime(intent, observed, hostOptions);
  const running = observed.lastSwitch?.result;
  if (options.mode === 'Apply' && options.wait && plan.outcome.kind === 'switching' && running) {
    // A switch launched earlier (by the in-cluster agent, or a CLI that was stopped) is still running.
    logger.info('Waiting for running container runtime switch', {
      runtime: intent.type,
      switchId: running.id,
    });
    await waitForSwitch(host, intent.type, running.id, running.attempt, hostOptions, waitOptions);
    observed = await observeRuntime(host, intent, hostOptions);
    plan = planRuntime(intent, observed, hostOptions);
  }
  if (options.mode === 'Plan' || plan.actions.length === 0) {
    return { plan, appliedActions: [], observed, report: runtimeReport(intent, plan, false) };
  }
  await applyRuntimeActions(host, plan.actions, logger);
  const appliedActions = plan.actions;
  if (plan.outcome.kind === 'switch') {
    logger.info('Started container runtime switch', {
      runtime: intent.type,
      switchId: plan.outcome.switchId,
    });
  }
  if (options.wait && plan.outcome.kind === 'switch') {
    const result = await waitForSwitch(
      host,
      intent.type,
      plan.outcome.switchId,
      plan.outcome.attempt,
      hostOptions,
      waitOptions,
    );
    logger.log(result.state === 'succeeded' ? 'info' : 'warn', 'Finished container runtime switch', {
      runtime: intent.type,
      switchId: result.id,
      state: result.state,
      message: result.message,
    });
    observed = await observeRuntime(host, intent, hostOptions);
    plan = planRuntime(intent, observed, hostOptions);
    return { plan, appliedActions, observed, report: runtimeReport(intent, plan, false) };
  }
  return { plan, appliedActions, observed, report: runtimeReport(intent, plan, true) };
}

function emptyObservation(): RuntimeObserved {
  const none = { reachable: false as const, error: 'not observed' };
  return {
    docker: {
      installed: false,
      config: { exists: false },
      info: none,
      dataRoot: '/var/lib/docker',
      dataRootExists: false,
      dataRootIsMountPoint: false,
      dataRootBackupExists: false,
    },
    containerd: { installed: false, config: { exists: false }, plugins: none },
    init: { systemd: false, dockerInitScript: false, containerdInitScript: false },
  };
}
