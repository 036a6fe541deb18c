/**
 * Argument arrays of every LVM and block-device command the agent runs. Pure: the plan embeds them, the
 * dry run prints them, apply runs exactly them.
 */

/** Flags every LVM report is asked with: JSON, sizes in bytes without unit suffix. */
export const REPORT_FLAGS = ['--reportformat', 'json', '--units', 'b', '--nosuffix'] as const;

/** Tag put on the VG and LVs the agent creates, so a half-built pool is recognised as ours. */
export const MANAGED_TAG = 'thinpool.dev/managed';

/**
 * The columns of each sub-report of `lvm fullreport`, named explicitly: they are LVM's defaults
 * (`report/*_cols_full`), so the output does not depend on a command profile (the lvm shell's) or on an
 * lvm.conf that changed the defaults.
 */
export const FULL_REPORT_COLUMNS = [
  ['vg', 'vg_all'],
  ['pv', 'pv_all'],
  ['lv', 'lv_all'],
  ['pvseg', 'pvseg_all,pv_uuid,lv_uuid'],
  ['seg', 'seg_all,lv_uuid'],
] as const;

/** `lvm fullreport --all`: every VG, PV, LV (hidden ones too) and segment in one call. */
export function fullReportArgv(): string[] {
  return [
    'lvm',
    'fullreport',
    '--all',
    ...REPORT_FLAGS,
    ...FULL_REPORT_COLUMNS.flatMap(([report, columns]) => ['--configreport', report, '-o', columns]),
  ];
}

/** Renders a byte count as LVM's exact byte size argument (`<n>b`). */
export function lvmBytes(bytes: number): string {
  return `${bytes}b`;
}

export const argv = {
  wipeSignatures: (device: string) => ['wipefs', '--all', device],
  pvcreate: (device: string) => ['pvcreate', device],
  pvresize: (device: string) => ['pvresize', device],
  vgcreate: (vg: string, devices: readonly string[]) => ['vgcreate', '--addtag', MANAGED_TAG, vg, ...devices],
  vgextend: (vg: string, devices: readonly string[]) => ['vgextend', vg, ...devices],
  createDataLv: (vg: string, lv: string, percentOfVg: number) => [
    'lvcreate',
    '--wipesignatures',
    'y',
    '--addtag',
    MANAGED_TAG,
    '-n',
    lv,
    vg,
    '-l',
    `${percentOfVg}%VG`,
  ],
  convertToThinPool: (vg: string, pool: string, meta: string, chunkBytes: number, zeroing: boolean) => [
    'lvconvert',
    '-y',
    '--zero',
    zeroing ? 'y' : 'n',
    '-c',
    `${chunkBytes / 1024}K`,
    '--thinpool',
    `${vg}/${pool}`,
    '--poolmetadata',
    `${vg}/${meta}`,
  ],
  attachProfile: (vg: string, pool: string, profile: string) => [
    'lvchange',
    '--metadataprofile',
    profile,
    `${vg}/${pool}`,
  ],
  setZeroing: (vg: string, pool: string, zeroing: boolean) => [
    'lvchange',
    '--zero',
    zeroing ? 'y' : 'n',
    `${vg}/${pool}`,
  ],
  activate: (vg: string, pool: string) => ['lvchange', '-ay', `${vg}/${pool}`],
  monitor: (vg: string, pool: string) => ['lvchange', '--monitor', 'y', `${vg}/${pool}`],
  extendDataToExtents: (vg: string, pool: string, extents: number) => [
    'lvextend',
    '-l',
    `${extents}`,
    `${vg}/${pool}`,
  ],
  extendMetadataTo: (vg: string, pool: string, bytes: number) => [
    'lvextend',
    '--poolmetadatasize',
    lvmBytes(bytes),
    `${vg}/${pool}`,
  ],
  removePool: (vg: string, pool: string) => ['lvremove', '-y', `${vg}/${pool}`],
  removeVg: (vg: string) => ['vgremove', '-y', vg],
  removePv: (device: string) => ['pvremove', '-y', device],
  mkdir: (dir: string) => ['mkdir', '-p', '--', dir],
  truncate: (file: string, bytes: number) => ['truncate', '-s', `${bytes}`, '--', file],
  attachLoop: (device: string, file: string) => ['losetup', device, file],
  attachLoopAnywhere: (file: string) => ['losetup', '--find', '--show', file],
  refreshLoop: (device: string) => ['losetup', '-c', device],
  detachLoop: (device: string) => ['losetup', '-d', device],
  removeFile: (file: string) => ['rm', '-f', '--', file],
} as const;
