import type { FileStat } from '../host/host.js';
import type { LogicalVolume, LvmReport, PhysicalVolume, VolumeGroup } from '../lvm/report.js';
import type { BlockDeviceTable, LoopDevice, Signature } from './block-devices.js';

/** One device named in the spec, as found on the host. */
export interface ObservedDevice {
  /** The path from the spec. */
  path: string;
  /** Its canonical path (symlinks resolved), e.g. `/dev/vdb` for `/dev/disk/by-id/virtio-b`. */
  resolved: string;
  stat: FileStat;
  /** Signatures found by `wipefs`; `undefined` when not probed (already a PV of our VG, or not a device). */
  signatures?: Signature[];
}

/** A loop-lvm backing file and the loop device it is attached to. */
export interface ObservedLoopFile {
  role: 'data' | 'metadata';
  path: string;
  stat: FileStat;
  /** The loop device the file is attached to, if any. */
  device?: string;
  /** Signatures on the attached loop device; `undefined` when not probed (already a PV of our VG). */
  signatures?: Signature[];
}

/** One typed snapshot of the node's storage: everything `plan` needs, nothing else. */
export interface Observed {
  lvm: LvmReport;
  blockDevices: BlockDeviceTable;
  /** Attached loop devices; read in loop mode only (direct mode never uses them), empty otherwise. */
  loopDevices: LoopDevice[];
  devices: ObservedDevice[];
  loop?: { directory: FileStat; files: ObservedLoopFile[] };
  /** Content of the pool's LVM profile file; `undefined` when it does not exist. */
  profileContent?: string;
}

/** The pool-related objects of one VG, looked up once. */
export interface PoolView {
  vg?: VolumeGroup;
  pvs: PhysicalVolume[];
  /** The LV named like the pool (a thin pool, or a half-built linear data LV). */
  poolLv?: LogicalVolume;
  /** The not yet converted metadata LV (`<pool>meta`). */
  metadataLv?: LogicalVolume;
  /** The pool's spare metadata LV (`lvol0_pmspare`), whose size LVM grows with the metadata. */
  spareLv?: LogicalVolume;
  /** Thin LVs in the pool. */
  thinLvs: LogicalVolume[];
  /** LVs of the VG that are neither the pool, its parts nor its thin LVs. */
  otherLvs: LogicalVolume[];
}

/** Looks up the VG, the pool and its parts in a report. */
export function poolView(report: LvmReport, vgName: string, pool: string, metadataLv: string): PoolView {
  const vg = report.vgs.find((v) => v.name === vgName);
  const lvs = report.lvs.filter((l) => l.vgName === vgName);
  const poolLv = lvs.find((l) => l.name === pool && !l.hidden);
  const meta = lvs.find((l) => l.name === metadataLv && !l.hidden);
  const parts = new Set([`${pool}_tdata`, `${pool}_tmeta`]);
  const spareLv = lvs.find((l) => l.hidden && /^lvol\d+_pmspare$/.test(l.name));
  const thinLvs = lvs.filter((l) => l.segtype === 'thin' && l.poolLv === pool);
  const otherLvs = lvs.filter(
    (l) => l !== poolLv && l !== meta && l !== spareLv && !parts.has(l.name) && !thinLvs.includes(l),
  );
  return {
    vg,
    pvs: report.pvs.filter((p) => p.vgName === vgName),
    poolLv,
    metadataLv: meta,
    spareLv,
    thinLvs,
    otherLvs,
  };
}

/** The pool's numbers when the pool LV is a thin pool. */
export interface PoolNumbers {
  dataSizeBytes: number;
  dataUsedBytes: number;
  dataPercent: number;
  metadataSizeBytes: number;
  metadataUsedBytes: number;
  metadataPercent: number;
  chunkSizeBytes: number;
  zeroing: boolean;
  profile: string;
  active: boolean;
  monitored: boolean;
  monitor: string;
}

/** Sizes and use of a thin pool LV (used bytes from LVM's two-decimal percentages). */
export function poolNumbers(lv: LogicalVolume): PoolNumbers {
  const dataPercent = lv.dataPercent ?? 0;
  const metadataPercent = lv.metadataPercent ?? 0;
  const metadataSizeBytes = lv.metadataSizeBytes ?? 0;
  return {
    dataSizeBytes: lv.sizeBytes,
    dataUsedBytes: Math.round((lv.sizeBytes * dataPercent) / 100),
    dataPercent,
    metadataSizeBytes,
    metadataUsedBytes: Math.round((metadataSizeBytes * metadataPercent) / 100),
    metadataPercent,
    chunkSizeBytes: lv.chunkSizeBytes ?? 0,
    zeroing: lv.zeroing,
    profile: lv.profile,
    active: lv.active,
    monitored: lv.monitor === 'monitored',
    monitor: lv.monitor,
  };
}
