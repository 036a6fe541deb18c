/**
 * Pure parsers of LVM's JSON report (`lvm fullreport --reportformat json --units b --nosuffix`): one
 * command returns every VG with its PVs, LVs and segments, plus orphan PVs, so one observation costs one
 * LVM call. Segment fields come from the `seg` sub-report, never from `lvs -a`, whose rows repeat per
 * segment.
 */

/** A physical volume. `vgName` is empty for an orphan PV (created but in no VG). */
export interface PhysicalVolume {
  name: string;
  vgName: string;
  uuid: string;
  sizeBytes: number;
  freeBytes: number;
  devSizeBytes: number;
  missing: boolean;
  tags: string[];
}

/** A volume group. */
export interface VolumeGroup {
  name: string;
  uuid: string;
  sizeBytes: number;
  freeBytes: number;
  extentSizeBytes: number;
  extentCount: number;
  freeExtents: number;
  pvCount: number;
  missingPvCount: number;
  partial: boolean;
  tags: string[];
}

/** A logical volume, hidden ones (`[thinpool_tdata]`) included with `hidden: true` and bare names. */
export interface LogicalVolume {
  name: string;
  vgName: string;
  uuid: string;
  hidden: boolean;
  sizeBytes: number;
  attr: string;
  /** Segment type of the first segment: `thin-pool`, `thin`, `linear`, ... */
  segtype: string;
  poolLv: string;
  dataPercent?: number;
  metadataPercent?: number;
  metadataSizeBytes?: number;
  chunkSizeBytes?: number;
  /** Thin pools: new blocks are zeroed (`z` in the 8th attribute character). */
  zeroing: boolean;
  profile: string;
  /** `monitored`, `not monitored`, or empty (inactive or not monitorable). */
  monitor: string;
  active: boolean;
  open: boolean;
  tags: string[];
  dataLv: string;
  metadataLv: string;
}

/** Everything `lvm fullreport` told. */
export interface LvmReport {
  vgs: VolumeGroup[];
  pvs: PhysicalVolume[];
  lvs: LogicalVolume[];
}

type Row = Record<string, string | undefined>;

interface RawSubReport {
  vg?: Row[];
  pv?: Row[];
  lv?: Row[];
  seg?: Row[];
}

/** Raised when LVM's output is not the JSON report we asked for. */
export class ReportParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportParseError';
  }
}

function int(row: Row, field: string): number {
  const raw = row[field];
  if (raw === undefined || raw === '') return 0;
  const value = Number(raw);
  if (!Number.isFinite(value))
    throw new ReportParseError(`Field ${field} is not a number: ${JSON.stringify(raw)}`);
  return value;
}

function optionalNumber(row: Row, field: string): number | undefined {
  const raw = row[field];
  if (raw === undefined || raw === '') return undefined;
  // LVM prints percentages with the C locale's dot; a comma means a locale leaked in
  const value = Number(raw);
  if (!Number.isFinite(value))
    throw new ReportParseError(`Field ${field} is not a number: ${JSON.stringify(raw)}`);
  return value;
}

function tags(raw: string | undefined): string[] {
  return raw ? raw.split(',').filter((t) => t !== '') : [];
}

function unbracket(name: string): { name: string; hidden: boolean } {
  const hidden = name.startsWith('[') && name.endsWith(']');
  return { name: hidden ? name.slice(1, -1) : name, hidden };
}

/** Parses the JSON of `lvm fullreport --reportformat json --units b --nosuffix`. */
export function parseFullReport(json: string): LvmReport {
  let doc: { report?: RawSubReport[] };
  try {
    doc = JSON.parse(json) as { report?: RawSubReport[] };
  } catch (err) {
    throw new ReportParseError(`LVM report is not JSON: ${(err as Error).message}`);
  }
  if (!doc || !Array.isArray(doc.report)) throw new ReportParseError('LVM report has no "report" array');
  const report: LvmReport = { vgs: [], pvs: [], lvs: [] };
  for (const sub of doc.report) {
    const vgRow = sub.vg?.[0];
    const vgName = vgRow?.vg_name ?? '';
    if (vgRow) {
      const attr = vgRow.vg_attr ?? '';
      report.vgs.push({
        name: vgName,
        uuid: vgRow.vg_uuid ?? '',
        sizeBytes: int(vgRow, 'vg_size'),
        freeBytes: int(vgRow, 'vg_free'),
        extentSizeBytes: int(vgRow, 'vg_extent_size'),
        extentCount: int(vgRow, 'vg_extent_count'),
        freeExtents: int(vgRow, 'vg_free_count'),
        pvCount: int(vgRow, 'pv_count'),
        missingPvCount: int(vgRow, 'vg_missing_pv_count'),
        partial: attr[3] === 'p' || vgRow.vg_partial === 'partial',
        tags: tags(vgRow.vg_tags),
      });
    }
    for (const pv of sub.pv ?? []) {
      report.pvs.push({
        name: pv.pv_name ?? '',
        vgName,
        uuid: pv.pv_uuid ?? '',
        sizeBytes: int(pv, 'pv_size'),
        freeBytes: int(pv, 'pv_free'),
        devSizeBytes: int(pv, 'dev_size'),
        missing: pv.pv_missing === 'missing',
        tags: tags(pv.pv_tags),
      });
    }
    const firstSegment = new Map<string, Row>();
    for (const seg of sub.seg ?? []) {
      const uuid = seg.lv_uuid ?? '';
      if (!firstSegment.has(uuid)) firstSegment.set(uuid, seg);
    }
    const seen = new Set<string>();
    for (const lv of sub.lv ?? []) {
      const uuid = lv.lv_uuid ?? '';
      if (seen.has(uuid)) continue;
      seen.add(uuid);
      const seg = firstSegment.get(uuid) ?? {};
      const { name, hidden } = unbracket(lv.lv_name ?? '');
      const attr = lv.lv_attr ?? '';
      const segtype = seg.segtype ?? '';
      report.lvs.push({
        name,
        vgName,
        uuid,
        hidden,
        sizeBytes: int(lv, 'lv_size'),
        attr,
        segtype,
        poolLv: unbracket(lv.pool_lv ?? '').name,
        dataPercent: optionalNumber(lv, 'data_percent'),
        metadataPercent: optionalNumber(lv, 'metadata_percent'),
        metadataSizeBytes: optionalNumber(lv, 'lv_metadata_size'),
        chunkSizeBytes: segtype === 'thin-pool' ? optionalNumber(seg, 'chunk_size') : undefined,
        zeroing: segtype === 'thin-pool' && attr[7] === 'z',
        profile: lv.lv_profile ?? '',
        monitor: seg.seg_monitor ?? '',
        active: lv.lv_active === 'active' || attr[4] === 'a',
        open: lv.lv_device_open === 'open',
        tags: tags(lv.lv_tags),
        dataLv: unbracket(lv.data_lv ?? '').name,
        metadataLv: unbracket(lv.metadata_lv ?? '').name,
      });
    }
  }
  return report;
}
