import type { AgentSpec } from '../agent-spec.js';
import { argv } from '../lvm/commands.js';
import type { VolumeGroup } from '../lvm/report.js';
import type { PoolNumbers } from '../observe/observed.js';
import { formatBytes } from '../../api/quantity.js';
import { command, type Action, type Extension } from './action.js';
import type { Finding } from './plan.js';

/** Largest thin-pool metadata LVM supports (15.81 GiB), rounded down to whole MiB. */
export const MAX_METADATA_BYTES = 16_188 * 1024 * 1024;

interface Want {
  kind: 'data' | 'metadata';
  currentBytes: number;
  targetBytes: number;
  trigger: Extension['trigger'];
  reason: string;
}

/**
 * Plans the growth of an active pool from one observation: to its share of the VG (`dataPercent`,
 * `metadataPercent`: the VG grew) and, when use passed `thresholdPercent`, by `extendPercent` of the current
 * size. Data is capped by `maxDataSize`; both by the VG's free extents (metadata counts twice while LVM
 * keeps a spare copy). At most one extension of each kind; metadata first when its use leads. Pure.
 */
export function planExtensions(
  spec: AgentSpec,
  vg: VolumeGroup,
  pool: PoolNumbers,
  spareBytes: number,
  autoExtend: boolean,
): { actions: Action[]; findings: Finding[] } {
  const extent = vg.extentSizeBytes;
  const findings: Finding[] = [];
  const threshold = spec.autoExtend.thresholdPercent;
  const step = (bytes: number) =>
    Math.max(1, Math.ceil((bytes * spec.autoExtend.extendPercent) / 100 / extent)) * extent;
  const share = (percent: number) => Math.floor((vg.extentCount * percent) / 100) * extent;

  const wants: Want[] = [];
  const metadataWant = pickTarget(
    'metadata',
    pool.metadataSizeBytes,
    share(spec.metadataPercent),
    pool.metadataPercent,
  );
  const dataWant = pickTarget('data', pool.dataSizeBytes, share(spec.dataPercent), pool.dataPercent);
  function pickTarget(
    kind: 'data' | 'metadata',
    current: number,
    shareBytes: number,
    percent: number,
  ): Want | undefined {
    const autoAllowed = autoExtend && threshold < 100 && (kind === 'data' || spec.autoExtend.metadata);
    const auto = autoAllowed && percent >= threshold ? current + step(current) : 0;
    if (auto > current && auto >= shareBytes) {
      return {
        kind,
        currentBytes: current,
        targetBytes: auto,
        trigger: 'threshold',
        reason: `${kind} use ${percent.toFixed(2)}% passed ${threshold}%`,
      };
    }
    if (shareBytes > current) {
      const percentOfVg = kind === 'data' ? spec.dataPercent : spec.metadataPercent;
      return {
        kind,
        currentBytes: current,
        targetBytes: shareBytes,
        trigger: 'spec-size',
        reason: `${kind} is below ${percentOfVg}% of volume group ${vg.name}`,
      };
    }
    return undefined;
  }
  const metadataLeads = pool.metadataPercent >= pool.dataPercent;
  for (const want of metadataLeads ? [metadataWant, dataWant] : [dataWant, metadataWant])
    if (want) wants.push(want);

  let freeBytes = vg.freeExtents * extent;
  const actions: Action[] = [];
  for (const want of wants) {
    let target = want.targetBytes;
    if (want.kind === 'data' && spec.autoExtend.maxDataBytes !== undefined) {
      const cap = Math.floor(spec.autoExtend.maxDataBytes / extent) * extent;
      if (target > cap) {
        target = Math.max(cap, want.currentBytes);
        if (target === want.currentBytes) {
          findings.push({
            code: 'MaxDataSizeReached',
            message: `Thin pool ${spec.vg}/${spec.pool} data is at maxDataSize ${formatBytes(cap)} (${want.reason}); not extended`,
            blocking: false,
          });
          continue;
        }
      }
    }
    if (want.kind === 'metadata') target = Math.min(target, MAX_METADATA_BYTES);
    // LVM grows the spare metadata LV along with the metadata, so each metadata extent costs two.
    const costFactor = want.kind === 'metadata' && spareBytes >= want.currentBytes ? 2 : 1;
    const affordable = want.currentBytes + Math.floor(freeBytes / costFactor / extent) * extent;
    if (target > affordable) target = affordable;
    if (target <= want.currentBytes) {
      findings.push({
        code: 'VolumeGroupFull',
        message: `Volume group ${spec.vg} has no free space to extend ${want.kind} of ${spec.vg}/${spec.pool} (${want.reason})`,
        blocking: false,
      });
      continue;
    }
    freeBytes -= (target - want.currentBytes) * costFactor;
    const extension: Extension = {
      kind: want.kind,
      fromBytes: want.currentBytes,
      toBytes: target,
      trigger: want.trigger,
      reason: want.reason,
    };
    const text = `Extend thin pool ${want.kind} ${spec.vg}/${spec.pool} ${formatBytes(want.currentBytes)} -> ${formatBytes(target)} (${want.reason})`;
    actions.push(
      want.kind === 'data'
        ? command(
            'extend-data',
            text,
            argv.extendDataToExtents(spec.vg, spec.pool, target / extent),
            extension,
          )
        : command('extend-metadata', text, argv.extendMetadataTo(spec.vg, spec.pool, target), extension),
    );
  }
  return { actions, findings };
}
