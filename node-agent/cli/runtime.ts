/**
 * The container runtime in `thinpool-agent apply|status`: the docker-storage-setup use case on a plain
 * host. Once the pool is ready, `apply` points the runtime named in `spec.runtime` at it through the
 * runtime module ({@link reconcileRuntime}) and waits for the host-side one-shot's recorded result, with
 * the same verification and rollback as the in-cluster agent. The summary and the exit code are pure.
 */
import type { ThinPoolNodeStatus } from '../../api/v1alpha1/types.js';
import { ThinPoolNodeConditions } from '../../api/v1alpha1/types.js';
import { setCondition, type ConditionInput } from '../../common/conditions.js';
import type { Logger } from '../../common/logger.js';
import type { Host } from '../host/host.js';
import {
  describeRuntimeAction,
  dmPoolName,
  reconcileRuntime,
  type RuntimeAction,
  type RuntimeKind,
  type RuntimeReconcileResult,
  type RuntimeSpecSource,
  type SwitchResult,
} from '../runtime/index.js';

/**
 * Reconciles per apply at most: a switch interrupted earlier is undone first (one round), then retried (a
 * second round); a third round only reports.
 */
const MAX_APPLY_ROUNDS = 3;

/** One runtime step as printed: its explanation, its exact command line or file write, and what a one-shot does. */
export interface RuntimeStep {
  explanation: string;
  command: string;
  /** The steps the host-side one-shot takes (for the launch command). */
  steps?: string[];
}

/** Where the runtime stands after a CLI command. */
export type RuntimeSummaryOutcome =
  | RuntimeReconcileResult['plan']['outcome']['kind']
  /** `apply` did not reach the runtime: the pool is not ready. */
  | 'pool-not-ready'
  /** A runtime step could not run (the error names the command, its exit code and stderr). */
  | 'error';

/** The runtime's part of what the CLI prints, as one JSON-able object. */
export interface RuntimeSummary {
  type: RuntimeKind;
  /** The device-mapper name of the pool the runtime is pointed at (`<vg>-<pool>`, hyphens doubled). */
  pool: string;
  outcome: RuntimeSummaryOutcome;
  /** The runtime uses the pool, as verified (`docker info`, `ctr plugins ls`). */
  configured: boolean;
  /** The `RuntimeConfigured` condition. */
  condition: ConditionInput;
  /** Dry run and status: the steps an apply would run. Apply: the steps that ran. */
  plan: RuntimeStep[];
  /** The steps that ran, one line each (command line or `write-file <path>`). */
  executed: string[];
  /** The last switch's result, as the host-side one-shot recorded it. */
  lastSwitch?: SwitchResult;
}

/** Options of {@link runRuntime}. */
export interface RunRuntimeOptions {
  /** `Apply` changes the runtime and waits for the switch; `Plan` (dry run, status) only observes. */
  mode: 'Apply' | 'Plan';
  logger: Logger;
  signal?: AbortSignal;
}

/** What {@link runRuntime} did: the last reconcile and every action that ran, in order. */
export interface RuntimeRun {
  result: RuntimeReconcileResult;
  applied: RuntimeAction[];
}

/**
 * Reconciles the runtime once, waiting for a switch to finish. When the switch that ran was the undoing of
 * an interrupted one, the runtime is reconciled again, so one `apply` ends configured (or with a reason).
 */
export async function runRuntime(
  host: Host,
  source: RuntimeSpecSource,
  options: RunRuntimeOptions,
): Promise<RuntimeRun> {
  const reconcile = () =>
    reconcileRuntime(host, source, {
      mode: options.mode,
      wait: options.mode === 'Apply' ? (options.signal ? { signal: options.signal } : true) : false,
      logger: options.logger,
    });
  let result = await reconcile();
  const applied = [...result.appliedActions];
  for (
    let round = 1;
    round < MAX_APPLY_ROUNDS &&
    options.mode === 'Apply' &&
    result.appliedActions.length > 0 &&
    result.plan.outcome.kind === 'switch';
    round++
  ) {
    result = await reconcile();
    applied.push(...result.appliedActions);
  }
  return { result, applied };
}

function step(action: RuntimeAction): RuntimeStep {
  return {
    explanation: action.explanation,
    command: describeRuntimeAction(action),
    ...(action.kind === 'run' && action.steps ? { steps: action.steps } : {}),
  };
}

/** Inputs of {@link summarizeRuntime}. */
export interface SummarizeRuntimeInput {
  source: RuntimeSpecSource;
  command: 'apply' | 'status';
  dryRun: boolean;
  /** The runtime run, or what kept it from running. */
  run: RuntimeRun | { poolNotReady: true } | { error: string };
}

/** Builds the runtime summary of a command (pure). */
export function summarizeRuntime(input: SummarizeRuntimeInput): RuntimeSummary {
  const { source, run } = input;
  const type = source.runtime.type as RuntimeKind;
  const base = { type, pool: dmPoolName(source.volumeGroup, source.thinPoolName), plan: [], executed: [] };
  const condition = (status: 'True' | 'False', reason: string, message: string): ConditionInput => ({
    type: ThinPoolNodeConditions.RuntimeConfigured,
    status,
    reason,
    message,
  });
  if ('poolNotReady' in run) {
    return {
      ...base,
      outcome: 'pool-not-ready',
      configured: false,
      condition: condition('False', 'PoolNotReady', 'The runtime is configured once the thin pool is ready'),
    };
  }
  if ('error' in run) {
    return {
      ...base,
      outcome: 'error',
      configured: false,
      condition: condition('False', 'RuntimeFailed', run.error),
    };
  }
  const { result, applied } = run;
  const outcome = result.plan.outcome;
  let reported = result.report.condition;
  if (input.command === 'status' && outcome.kind === 'switch') {
    reported = condition(
      'False',
      'NotConfigured',
      `${outcome.message} is needed: thinpool-agent apply runs it (apply --dry-run shows its steps)`,
    );
  }
  const lastSwitch = result.observed.lastSwitch?.result;
  return {
    ...base,
    outcome: outcome.kind,
    configured: result.report.configured,
    condition: reported,
    plan: (input.dryRun || input.command === 'status' ? result.plan.actions : applied).map(step),
    executed: applied.map(describeRuntimeAction),
    ...(lastSwitch ? { lastSwitch } : {}),
  };
}

/** Exit code of the runtime part: 0 done, 1 failed (a rolled-back switch included), 3 refused for safety. */
export function runtimeExitCode(summary: RuntimeSummary, dryRun: boolean): 0 | 1 | 3 {
  switch (summary.outcome) {
    case 'configured':
    case 'not-requested':
      return 0;
    case 'switch':
      return dryRun ? 0 : 1;
    case 'refused':
      return 3;
    case 'pool-not-ready':
      return dryRun ? 0 : 1;
    default:
      return 1;
  }
}

/**
 * Combines the pool's and the runtime's exit codes: a failure wins, then a refusal. A runtime that waits for
 * a pool that is not ready adds nothing to the pool's own failure or refusal.
 */
export function combineExitCodes(pool: number, runtime: 0 | 1 | 3, summary: RuntimeSummary): number {
  if (summary.outcome === 'pool-not-ready' && pool !== 0) return pool;
  if (pool === 1 || runtime === 1) return 1;
  if (pool === 3 || runtime === 3) return 3;
  return pool;
}

/** Adds the runtime's condition, `status.runtime` and (dry run) its steps to a node status (pure). */
export function withRuntimeStatus(
  status: ThinPoolNodeStatus,
  summary: RuntimeSummary,
  planned: boolean,
  now: Date,
): ThinPoolNodeStatus {
  const next: ThinPoolNodeStatus = {
    ...status,
    conditions: setCondition(status.conditions, summary.condition, now),
    runtime: { type: summary.type, configured: summary.configured, message: summary.condition.message },
  };
  if (planned && summary.plan.length > 0)
    next.plan = [...(status.plan ?? []), ...summary.plan.map((s) => s.command)];
  return next;
}

const RUNTIME_NAMES: Record<RuntimeKind, string> = { docker: 'Docker', containerd: 'containerd' };

/** The one line that says how the runtime ended, for people. */
export function runtimeOutcomeLine(summary: RuntimeSummary, dryRun: boolean): string {
  const name = RUNTIME_NAMES[summary.type];
  const { reason, message } = summary.condition;
  switch (summary.outcome) {
    case 'not-requested':
      return 'Runtime: not requested.';
    case 'configured':
      return summary.executed.length > 0
        ? `Configured ${name} on pool ${summary.pool}. ${message}.`
        : `${name} already uses pool ${summary.pool}: no changes. ${message}.`;
    case 'refused':
      return `Refused: ${name} was not changed: ${reason}: ${message}`;
    case 'switch':
      return dryRun
        ? `${name} switch planned: ${message}`
        : `Failed: ${name} is not switched yet: ${message}`;
    case 'switching':
      return `Failed: a ${name} switch is still running on the host: ${message}`;
    case 'failed':
      if (summary.lastSwitch?.state === 'rolled-back' || reason === 'RolledBack') {
        return `Failed: the ${name} switch was rolled back; the previous configuration and data are in place again: ${message}`;
      }
      return `Failed: ${reason}: ${message}`;
    case 'not-verified':
      return `Failed: ${reason}: ${message}`;
    case 'pool-not-ready':
      return dryRun
        ? `${name} steps run once the thin pool is ready.`
        : `Failed: ${name} was not configured: the thin pool is not ready.`;
    case 'error':
      return `Failed: ${name} was not configured: ${message}`;
  }
}

/** Renders the runtime part of a run for people. */
export function renderRuntimeTable(
  summary: RuntimeSummary,
  dryRun: boolean,
  command: 'apply' | 'status',
): string {
  const name = RUNTIME_NAMES[summary.type];
  const lines: string[] = [];
  if (summary.plan.length > 0) {
    const what = dryRun || command === 'status' ? 'steps planned' : 'steps run';
    lines.push(`${name} on pool ${summary.pool}: ${summary.plan.length} ${what}`);
    summary.plan.forEach((s, i) => {
      lines.push(`  ${i + 1}. ${s.explanation}`);
      lines.push(`     $ ${s.command}`);
      for (const detail of s.steps ?? []) lines.push(`       - ${detail}`);
    });
  }
  if (command === 'apply') lines.push(runtimeOutcomeLine(summary, dryRun));
  return lines.join('\n');
}
