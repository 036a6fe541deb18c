import { formatArgv } from '../host/host.js';

/** What an action does; one kind per step of the direct-lvm / loop-lvm procedure. */
export type ActionKind =
  | 'create-directory'
  | 'create-loop-file'
  | 'grow-loop-file'
  | 'attach-loop'
  | 'refresh-loop'
  | 'wipe-signatures'
  | 'create-pv'
  | 'resize-pv'
  | 'create-vg'
  | 'extend-vg'
  | 'create-data-lv'
  | 'create-metadata-lv'
  | 'convert-to-thin-pool'
  | 'write-profile'
  | 'attach-profile'
  | 'set-zeroing'
  | 'activate-pool'
  | 'enable-monitoring'
  | 'extend-metadata'
  | 'extend-data'
  | 'remove-pool'
  | 'remove-vg'
  | 'remove-pv'
  | 'detach-loop'
  | 'remove-file';

/** A host command with its argument array. */
export interface CommandStep {
  type: 'command';
  argv: string[];
}

/** An atomic file write. */
export interface WriteFileStep {
  type: 'write-file';
  path: string;
  content: string;
  mode: number;
}

/** The one host operation an action performs. */
export type Step = CommandStep | WriteFileStep;

/** Why and how much the pool grows. */
export interface Extension {
  kind: 'data' | 'metadata';
  fromBytes: number;
  toBytes: number;
  /** `threshold` (use passed autoExtend.thresholdPercent) or `spec-size` (below its share of the VG). */
  trigger: 'threshold' | 'spec-size';
  reason: string;
}

/** One idempotent step of a plan, explained in one line, with the exact operation it runs. */
export interface Action {
  kind: ActionKind;
  explanation: string;
  step: Step;
  extension?: Extension;
}

/** Renders a step as one line: the command line, or `write-file <path>` for a file write. */
export function renderStep(step: Step): string {
  return step.type === 'command' ? formatArgv(step.argv) : `write-file ${step.path}`;
}

/** Builds a command action. */
export function command(
  kind: ActionKind,
  explanation: string,
  argv: string[],
  extension?: Extension,
): Action {
  return { kind, explanation, step: { type: 'command', argv }, ...(extension ? { extension } : {}) };
}
