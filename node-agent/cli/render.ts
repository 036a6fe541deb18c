import type { ThinPoolNodeStatus } from '../../api/v1alpha1/types.js';
import { formatBytes } from '../../api/quantity.js';
import type { RunReport } from '../engine.js';
import { renderStep } from '../plan/action.js';
import type { Finding, Plan } from '../plan/plan.js';
import { renderRuntimeTable, type RuntimeSummary } from './runtime.js';

/** What the CLI prints for apply, dry run and destroy, as one JSON-able object. */
export interface RunSummary {
  thinPool: string;
  node: string;
  command: 'apply' | 'destroy';
  dryRun: boolean;
  outcome: RunReport['outcome'];
  /** The plan of the first observation: exactly the commands an apply runs first. */
  plan: { kind: string; explanation: string; command: string }[];
  /** False when more steps are planned after these (they depend on what the host reports then). */
  planComplete: boolean;
  executed: string[];
  failure?: { command: string; message: string };
  findings: Finding[];
  status: ThinPoolNodeStatus;
  /** The container runtime's part (apply with `runtime.type` docker or containerd). */
  runtime?: RuntimeSummary;
}

/** Builds the summary of a run. */
export function summarize(
  base: { thinPool: string; node: string; command: 'apply' | 'destroy'; dryRun: boolean },
  report: RunReport,
  status: ThinPoolNodeStatus,
  runtime?: RuntimeSummary,
): RunSummary {
  return {
    ...base,
    outcome: report.outcome,
    plan: planLines(report.plan),
    planComplete: report.plan.complete,
    executed: report.executed.map((e) => renderStep(e.action.step)),
    ...(report.failure
      ? { failure: { command: renderStep(report.failure.action.step), message: report.failure.message } }
      : {}),
    findings: report.findings.length > 0 ? report.findings : report.plan.findings,
    status,
    ...(runtime ? { runtime } : {}),
  };
}

function planLines(plan: Plan) {
  return plan.actions.map((a) => ({ kind: a.kind, explanation: a.explanation, command: renderStep(a.step) }));
}

/** Renders a run for people. */
export function renderRunTable(summary: RunSummary): string {
  const lines: string[] = [];
  const what = summary.command === 'destroy' ? 'Teardown' : 'Plan';
  lines.push(
    `${what} for ThinPool ${summary.thinPool} on node ${summary.node}: ${summary.plan.length} step(s)`,
  );
  summary.plan.forEach((step, i) => {
    lines.push(`  ${i + 1}. ${step.explanation}`);
    lines.push(`     $ ${step.command}`);
  });
  if (!summary.planComplete) lines.push('  (more steps follow once the host reports the result of these)');
  for (const finding of summary.findings)
    lines.push(`${finding.blocking ? 'Refused' : 'Note'}: ${finding.code}: ${finding.message}`);
  if (summary.dryRun) lines.push('Dry run: nothing was changed.');
  else if (summary.outcome === 'failed') {
    lines.push(
      `Failed after ${summary.executed.length} step(s): ${summary.failure?.message ?? 'unknown error'}`,
    );
  } else if (summary.outcome === 'no-changes') lines.push('No changes.');
  else if (summary.outcome === 'refused')
    lines.push(`Refused for safety; ran ${summary.executed.length} step(s).`);
  else lines.push(`Ran ${summary.executed.length} step(s).`);
  if (summary.runtime && summary.command === 'apply')
    lines.push('', renderRuntimeTable(summary.runtime, summary.dryRun, summary.command));
  if (summary.command === 'apply')
    lines.push('', renderStatusTable(summary.thinPool, summary.node, summary.status));
  return lines.join('\n');
}

/** Renders a node's pool status for people. */
export function renderStatusTable(thinPool: string, node: string, status: ThinPoolNodeStatus): string {
  const lines = [`ThinPool ${thinPool} on node ${node}: ${status.phase ?? 'Unknown'}`];
  if (status.volumeGroup) {
    lines.push(
      `  volume group   ${formatBytes(status.volumeGroup.sizeBytes)}, ${formatBytes(status.volumeGroup.freeBytes)} free`,
    );
  }
  const pool = status.pool;
  if (pool) {
    const pct = (used: number, size: number) => (size > 0 ? ((used / size) * 100).toFixed(2) : '0.00');
    lines.push(
      `  data           ${formatBytes(pool.dataSizeBytes)}, ${pct(pool.dataUsedBytes, pool.dataSizeBytes)}% used`,
    );
    lines.push(
      `  metadata       ${formatBytes(pool.metadataSizeBytes)}, ${pct(pool.metadataUsedBytes, pool.metadataSizeBytes)}% used`,
    );
    lines.push(`  chunk size     ${formatBytes(pool.chunkSizeBytes)}`);
    lines.push(`  active         ${pool.active ? 'yes' : 'no'}`);
    lines.push(`  monitored      ${pool.monitored ? 'yes' : 'no'}`);
  } else lines.push('  pool           absent');
  for (const d of status.devices ?? [])
    lines.push(`  device         ${d.path} ${d.state} ${formatBytes(d.sizeBytes)}`);
  for (const d of status.excludedDevices ?? []) lines.push(`  excluded       ${d.path}: ${d.reason}`);
  if (status.lastExtension) {
    const e = status.lastExtension;
    lines.push(
      `  last extension ${e.kind} ${formatBytes(e.fromBytes)} -> ${formatBytes(e.toBytes)} (${e.trigger}) at ${e.time}`,
    );
  }
  if (status.runtime) {
    const state = status.runtime.configured ? 'configured' : 'not configured';
    lines.push(`  runtime        ${status.runtime.type}, ${state}`);
  }
  for (const c of status.conditions ?? [])
    lines.push(`  ${c.type.padEnd(14)} ${c.status} ${c.reason}: ${c.message}`);
  return lines.join('\n');
}
