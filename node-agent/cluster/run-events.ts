import { formatBytes } from '../../api/quantity.js';
import type { AgentSpec } from '../agent-spec.js';
import type { RunReport } from '../engine.js';
import { poolView } from '../observe/observed.js';
import type { ActionKind } from '../plan/action.js';
import type { RunKind } from './node-report.js';

/** One Event the agent records on its ThinPool and its Node. */
export interface AgentEvent {
  type: 'Normal' | 'Warning';
  /** CamelCase, what happened (`ExtendedThinPool`, `DeviceHasFilesystem`). */
  reason: string;
  message: string;
}

/** The Event reason of each mutating action. */
const ACTION_REASONS: Record<ActionKind, string> = {
  'create-directory': 'CreatedLoopDirectory',
  'create-loop-file': 'CreatedLoopFile',
  'grow-loop-file': 'GrewLoopFile',
  'attach-loop': 'AttachedLoopDevice',
  'refresh-loop': 'RefreshedLoopDevice',
  'wipe-signatures': 'WipedSignatures',
  'create-pv': 'CreatedPhysicalVolume',
  'resize-pv': 'ResizedPhysicalVolume',
  'create-vg': 'CreatedVolumeGroup',
  'extend-vg': 'ExtendedVolumeGroup',
  'create-data-lv': 'CreatedDataVolume',
  'create-metadata-lv': 'CreatedMetadataVolume',
  'convert-to-thin-pool': 'CreatedThinPool',
  'write-profile': 'WroteProfile',
  'attach-profile': 'AttachedProfile',
  'set-zeroing': 'ChangedZeroing',
  'activate-pool': 'ActivatedThinPool',
  'enable-monitoring': 'EnabledMonitoring',
  'extend-metadata': 'ExtendedThinPool',
  'extend-data': 'ExtendedThinPool',
  'remove-pool': 'RemovedThinPool',
  'remove-vg': 'RemovedVolumeGroup',
  'remove-pv': 'RemovedPhysicalVolume',
  'detach-loop': 'DetachedLoopDevice',
  'remove-file': 'RemovedLoopFile',
};

const PAST_TENSE: Record<string, string> = {
  Activate: 'Activated',
  Add: 'Added',
  Attach: 'Attached',
  Convert: 'Converted',
  Create: 'Created',
  Detach: 'Detached',
  Enable: 'Enabled',
  Extend: 'Extended',
  Grow: 'Grew',
  Make: 'Made',
  Remove: 'Removed',
  Turn: 'Turned',
  Wipe: 'Wiped',
  Write: 'Wrote',
};

/** Turns an action's imperative explanation ("Create a physical volume on ...") into past tense. Pure. */
export function pastTense(explanation: string): string {
  const [first, ...rest] = explanation.split(' ');
  const past = PAST_TENSE[first ?? ''];
  return past ? [past, ...rest].join(' ') : explanation;
}

/** Inputs of {@link runEvents}. */
export interface RunEventsInput {
  kind: RunKind;
  spec: AgentSpec;
  report: RunReport;
  /** Keys of the standing conditions reported by the previous reconcile (see the result's `keys`). */
  previousKeys: ReadonlySet<string>;
}

/**
 * The Events of one reconcile (pure): one per mutating action that ran (sizes for the pool's creation and
 * extensions), and one when a standing condition appears: a refusal or another finding, a failure, a pause,
 * a new plan. A condition that holds is not repeated each reconcile; `keys` lists the standing conditions for
 * the next call.
 */
export function runEvents(input: RunEventsInput): { events: AgentEvent[]; keys: Set<string> } {
  const { spec, report } = input;
  const events: AgentEvent[] = [];
  for (const { action } of report.executed) {
    const reason = ACTION_REASONS[action.kind];
    let message = pastTense(action.explanation);
    if (action.kind === 'convert-to-thin-pool') {
      const pool = poolView(report.observed.lvm, spec.vg, spec.pool, spec.metadataLv).poolLv;
      message = `Created thin pool ${spec.vg}/${spec.pool}${pool ? ` (${formatBytes(pool.sizeBytes)})` : ''}`;
    } else if (action.extension) {
      const ext = action.extension;
      message = `Extended thin pool ${ext.kind} ${spec.vg}/${spec.pool} ${formatBytes(ext.fromBytes)} -> ${formatBytes(ext.toBytes)} (${ext.reason})`;
    }
    events.push({ type: 'Normal', reason, message });
  }
  const standing: Array<{ key: string; event: AgentEvent }> = [];
  if (report.failure) {
    const reason = input.kind === 'destroy' ? 'DeleteFailed' : 'ApplyFailed';
    standing.push({
      key: `failure:${report.failure.message}`,
      event: {
        type: 'Warning',
        reason,
        message: `Failed to ${report.failure.action.explanation.replace(/^./, (c) => c.toLowerCase())}: ${report.failure.message}`,
      },
    });
  }
  for (const finding of report.findings) {
    standing.push({
      key: `finding:${finding.code}:${finding.message}`,
      event: { type: 'Warning', reason: finding.code, message: finding.message },
    });
  }
  if (input.kind === 'paused') {
    standing.push({
      key: 'paused',
      event: {
        type: 'Normal',
        reason: 'Paused',
        message: `ThinPool ${spec.thinPool} is paused: the agent observes the pool and changes nothing`,
      },
    });
  }
  if (input.kind === 'plan') {
    const lines = report.plan.actions.length;
    standing.push({
      key: `plan:${report.plan.actions.map((a) => a.explanation).join('\n')}`,
      event: {
        type: 'Normal',
        reason: 'Planned',
        message:
          lines === 0
            ? `Plan mode: the pool matches the spec, nothing to do`
            : `Plan mode: ${lines} step${lines === 1 ? '' : 's'} planned and not applied; see the ThinPoolNode's status.plan`,
      },
    });
  }
  const keys = new Set<string>();
  for (const { key, event } of standing) {
    keys.add(key);
    if (!input.previousKeys.has(key)) events.push(event);
  }
  return { events, keys };
}
