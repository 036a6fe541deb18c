import type {
  Capacity,
  Condition,
  FailingNode,
  ThinPool,
  ThinPoolNode,
  ThinPoolStatus,
} from '../../api/v1alpha1/types.js';
import { setCondition, type ConditionInput } from '../../common/conditions.js';
import type { NodeVerdict } from './node-state.js';

/** Longest message kept per failing node. */
const MAX_NODE_MESSAGE = 256;

/** What the status of a ThinPool is computed from. */
export interface StatusInput {
  thinPool: ThinPool;
  /** One verdict per desired node. */
  verdicts: readonly NodeVerdict[];
  /** ThinPoolNodes of the pool by node name (capacity comes from the ready ones). */
  thinPoolNodes: ReadonlyMap<string, ThinPoolNode>;
  /** Why the operator cannot act on the spec, if it cannot. */
  specProblem?: string;
  /** Why the ThinPool is refused in favour of an older one (a pool conflict), if it is. */
  conflict?: string;
  /** The `RuntimeRollout` condition (absent with `runtime.type: none`: then the condition is removed). */
  runtimeRollout?: ConditionInput;
  /** Set while the ThinPool is being deleted: the nodes still tearing their pool down. */
  deletion?: { waitingFor: readonly string[] };
  nowMs: number;
  maxFailingNodes: number;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function listNames(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function percent(used: number, size: number): number {
  return size > 0 ? Math.round((used / size) * 1000) / 10 : 0;
}

/**
 * Sums the pool sizes every desired node reports (a node that is not ready keeps its last report), and
 * takes the highest data and metadata use of any node, in percent with one decimal: autoextend acts on
 * the fullest node, not on the average.
 */
export function sumCapacity(
  verdicts: readonly NodeVerdict[],
  thinPoolNodes: ReadonlyMap<string, ThinPoolNode>,
) {
  const capacity: Capacity = {
    dataSizeBytes: 0,
    dataUsedBytes: 0,
    metadataSizeBytes: 0,
    metadataUsedBytes: 0,
  };
  let dataPercent: number | undefined;
  let metadataPercent: number | undefined;
  for (const verdict of verdicts) {
    const pool = thinPoolNodes.get(verdict.nodeName)?.status?.pool;
    if (!pool) continue;
    capacity.dataSizeBytes += pool.dataSizeBytes;
    capacity.dataUsedBytes += pool.dataUsedBytes;
    capacity.metadataSizeBytes += pool.metadataSizeBytes;
    capacity.metadataUsedBytes += pool.metadataUsedBytes;
    dataPercent = Math.max(dataPercent ?? 0, percent(pool.dataUsedBytes, pool.dataSizeBytes));
    metadataPercent = Math.max(metadataPercent ?? 0, percent(pool.metadataUsedBytes, pool.metadataSizeBytes));
  }
  if (dataPercent !== undefined) capacity.dataUsedPercent = dataPercent;
  if (metadataPercent !== undefined) capacity.metadataUsedPercent = metadataPercent;
  return capacity;
}

/** The bounded list of nodes that are not ready: failed ones first, then by name. */
export function failingNodes(verdicts: readonly NodeVerdict[], max: number): FailingNode[] {
  // Code-unit order, not localeCompare: this runs over every node on each reconcile of a big pool.
  const byName = (a: NodeVerdict, b: NodeVerdict) =>
    a.nodeName < b.nodeName ? -1 : a.nodeName > b.nodeName ? 1 : 0;
  const failed = verdicts.filter((v) => v.state === 'failed').sort(byName);
  const pending = failed.length >= max ? [] : verdicts.filter((v) => v.state === 'pending').sort(byName);
  return [...failed, ...pending]
    .slice(0, max)
    .map((v) => ({ node: v.nodeName, reason: v.reason, message: truncate(v.message, MAX_NODE_MESSAGE) }));
}

/**
 * Computes the whole status of a ThinPool (pure): node counts, capacity summed over the nodes, the
 * failing-node list, and the `Ready`, `Progressing`, `Degraded` (and `RuntimeRollout`) conditions with
 * `observedGeneration`
 * (transition times kept while a condition's status holds).
 */
export function computeStatus(input: StatusInput): ThinPoolStatus {
  const { thinPool, verdicts } = input;
  const generation = thinPool.metadata.generation ?? 0;
  const ready = verdicts.filter((v) => v.state === 'ready');
  const failed = verdicts.filter((v) => v.state === 'failed');
  const pending = verdicts.filter((v) => v.state === 'pending');
  const outdated = verdicts.filter((v) => v.state !== 'failed' && !v.upToDate);
  const desired = verdicts.length;
  const readyText = `${ready.length}/${desired} nodes ready`;

  let readyCondition: ConditionInput;
  let progressing: ConditionInput;
  let degraded: ConditionInput;
  const cond = (
    type: string,
    status: Condition['status'],
    reason: string,
    message: string,
  ): ConditionInput => ({
    type,
    status,
    reason,
    message,
    observedGeneration: generation,
  });

  if (input.deletion) {
    const waiting = input.deletion.waitingFor;
    readyCondition = cond('Ready', 'False', 'Deleting', 'The ThinPool is being deleted');
    progressing = cond(
      'Progressing',
      'True',
      'Deleting',
      waiting.length > 0
        ? `Waiting for ${plural(waiting.length, 'node')} to delete the pool: ${listNames(waiting)}`
        : 'Removing the agents',
    );
  } else if (input.specProblem) {
    readyCondition = cond('Ready', 'False', 'InvalidSpec', input.specProblem);
    progressing = cond('Progressing', 'False', 'InvalidSpec', input.specProblem);
  } else if (input.conflict) {
    readyCondition = cond('Ready', 'False', 'PoolConflict', input.conflict);
    progressing = cond('Progressing', 'False', 'PoolConflict', input.conflict);
  } else {
    if (desired === 0) {
      readyCondition = cond(
        'Ready',
        'False',
        'NoMatchingNodes',
        'No node matches the nodeSelector and tolerations',
      );
    } else if (ready.length === desired) {
      readyCondition = cond('Ready', 'True', 'AllNodesReady', readyText);
    } else {
      readyCondition = cond('Ready', 'False', 'NodesNotReady', readyText);
    }
    if (thinPool.spec.paused) {
      progressing = cond('Progressing', 'False', 'Paused', 'The ThinPool is paused: agents only observe');
    } else if (pending.length > 0) {
      progressing = cond(
        'Progressing',
        'True',
        'Provisioning',
        `${plural(pending.length, 'node')} not ready yet: ${listNames(pending.map((v) => v.nodeName))}`,
      );
    } else if (outdated.length > 0) {
      progressing = cond(
        'Progressing',
        'True',
        'Updating',
        `${plural(outdated.length, 'node')} not yet at generation ${generation}: ${listNames(outdated.map((v) => v.nodeName))}`,
      );
    } else {
      progressing = cond('Progressing', 'False', 'Reconciled', readyText);
    }
  }

  if (input.specProblem) {
    degraded = cond('Degraded', 'True', 'InvalidSpec', input.specProblem);
  } else if (input.conflict) {
    degraded = cond('Degraded', 'True', 'PoolConflict', input.conflict);
  } else if (failed.length > 0) {
    const details = failed
      .slice(0, 3)
      .map((v) => `${v.nodeName}: ${v.reason}: ${truncate(v.message, 120)}`)
      .join('; ');
    const more = failed.length > 3 ? `; and ${failed.length - 3} more` : '';
    degraded = cond(
      'Degraded',
      'True',
      'NodesFailed',
      `${plural(failed.length, 'node')} failed: ${details}${more}`,
    );
  } else {
    degraded = cond('Degraded', 'False', 'AsExpected', 'No node failed');
  }

  const now = new Date(input.nowMs);
  let conditions = thinPool.status?.conditions;
  const rollout = input.runtimeRollout && { ...input.runtimeRollout, observedGeneration: generation };
  for (const c of [readyCondition, progressing, degraded, ...(rollout ? [rollout] : [])])
    conditions = setCondition(conditions, c, now);
  if (!rollout) conditions = conditions?.filter((c) => c.type !== 'RuntimeRollout');
  const order = ['Ready', 'Progressing', 'Degraded', 'RuntimeRollout'];
  conditions = [...(conditions ?? [])].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));

  return {
    observedGeneration: generation,
    conditions,
    nodes: { desired, ready: ready.length, failed: failed.length },
    capacity: sumCapacity(verdicts, input.thinPoolNodes),
    failingNodes: failingNodes(verdicts, input.maxFailingNodes),
  };
}

/** Deep equality of JSON values, ignoring key order and `undefined` members. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const key of keys) {
    if (!jsonEqual(ao[key], bo[key])) return false;
  }
  return true;
}

/**
 * The merge patch that turns `observed` status into `desired`: the desired status, with an explicit `null`
 * for every top-level field the operator no longer sets (a merge patch keeps absent fields).
 */
export function statusPatch(observed: ThinPoolStatus | undefined, desired: ThinPoolStatus) {
  const status: Record<string, unknown> = { ...desired };
  for (const key of Object.keys(observed ?? {})) {
    if (!(key in desired)) status[key] = null;
  }
  return { status };
}
