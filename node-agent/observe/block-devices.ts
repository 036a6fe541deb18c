/**
 * Pure parsers of util-linux JSON: `lsblk` (block devices, their holders, partitions and mounts),
 * `losetup --list --json` (loop devices and backing files) and `wipefs --json` (signatures).
 */

/** One block device with the relations the safety checks need. */
export interface BlockDevice {
  /** Path as lsblk prints it with `--paths` (`/dev/vda`, `/dev/mapper/docker-thinpool`). */
  name: string;
  /** Kernel name path (`/dev/vda`, `/dev/dm-3`). */
  kname: string;
  type: string;
  sizeBytes: number;
  readOnly: boolean;
  mountpoints: string[];
  /** Devices stacked directly on this one (partitions, device-mapper holders). */
  children: string[];
  /** Mountpoints of this device and everything stacked on it. */
  mountpointsBelow: string[];
}

/** The block devices of the host, by `name` and by kernel name. */
export interface BlockDeviceTable {
  devices: BlockDevice[];
  byPath: Map<string, BlockDevice>;
}

interface LsblkNode {
  name?: string;
  kname?: string;
  type?: string;
  size?: number | string | null;
  ro?: boolean | string;
  mountpoints?: (string | null)[];
  mountpoint?: string | null;
  children?: LsblkNode[];
}

/** Columns the agent asks lsblk for. */
export const LSBLK_COLUMNS = 'NAME,KNAME,TYPE,SIZE,RO,MOUNTPOINTS,FSTYPE,PKNAME,MAJ:MIN';

/** `lsblk` argv: all devices (empty loop devices too), sizes in bytes, full paths, as a tree. */
export function lsblkArgv(): string[] {
  return ['lsblk', '--json', '--bytes', '--paths', '--all', '-o', LSBLK_COLUMNS];
}

/** Parses `lsblk --json --bytes --paths --all` output into a flat table. */
export function parseLsblk(json: string): BlockDeviceTable {
  const doc = JSON.parse(json) as { blockdevices?: LsblkNode[] };
  const byPath = new Map<string, BlockDevice>();
  const devices: BlockDevice[] = [];
  const visit = (node: LsblkNode): string[] => {
    const mountpoints = [...(node.mountpoints ?? []), node.mountpoint ?? null].filter(
      (m): m is string => typeof m === 'string' && m !== '',
    );
    const below = [...mountpoints];
    const children: string[] = [];
    for (const child of node.children ?? []) {
      below.push(...visit(child));
      if (child.name) children.push(child.name);
    }
    const name = node.name ?? '';
    if (name && !byPath.has(name)) {
      const device: BlockDevice = {
        name,
        kname: node.kname ?? name,
        type: node.type ?? '',
        sizeBytes: Number(node.size ?? 0),
        readOnly: node.ro === true || node.ro === '1',
        mountpoints,
        children,
        mountpointsBelow: [...new Set(below)],
      };
      devices.push(device);
      byPath.set(name, device);
      if (device.kname !== name) byPath.set(device.kname, device);
    }
    return below;
  };
  for (const node of doc.blockdevices ?? []) visit(node);
  return { devices, byPath };
}

/** An attached loop device. */
export interface LoopDevice {
  name: string;
  backingFile: string;
  /** The backing file was deleted after attaching (losetup appends " (deleted)"). */
  backingFileDeleted: boolean;
}

/** `losetup` argv listing attached loop devices as JSON. */
export function losetupListArgv(): string[] {
  return ['losetup', '--list', '--json'];
}

/** Parses `losetup --list --json` (empty output means no loop device is attached). */
export function parseLosetup(json: string): LoopDevice[] {
  if (json.trim() === '') return [];
  const doc = JSON.parse(json) as { loopdevices?: { name?: string; 'back-file'?: string | null }[] };
  return (doc.loopdevices ?? []).map((d) => {
    const raw = d['back-file'] ?? '';
    const deleted = raw.endsWith(' (deleted)');
    return {
      name: d.name ?? '',
      backingFile: deleted ? raw.slice(0, -' (deleted)'.length) : raw,
      backingFileDeleted: deleted,
    };
  });
}

/** What a signature is, for messages an admin can act on. */
export type SignatureUsage = 'filesystem' | 'partition table' | 'raid' | 'crypto' | 'lvm' | 'other';

/** One signature `wipefs` found. */
export interface Signature {
  type: string;
  offset: string;
  usage: SignatureUsage;
}

const PARTITION_TABLES = new Set(['dos', 'gpt', 'PMBR', 'sun', 'sgi', 'bsd', 'mac', 'atari', 'aix']);
const FILESYSTEMS = new Set([
  'ext2',
  'ext3',
  'ext4',
  'xfs',
  'btrfs',
  'vfat',
  'exfat',
  'ntfs',
  'f2fs',
  'swap',
  'iso9660',
  'udf',
  'zfs_member',
  'bcache',
  'squashfs',
  'jfs',
  'reiserfs',
  'nilfs2',
]);

/** Classifies a blkid/wipefs signature type. */
export function signatureUsage(type: string): SignatureUsage {
  if (type === 'LVM2_member' || type === 'LVM1_member') return 'lvm';
  if (PARTITION_TABLES.has(type)) return 'partition table';
  if (type.endsWith('_raid_member') || type === 'linux_raid_member' || type === 'ddf_raid_member')
    return 'raid';
  if (type === 'crypto_LUKS' || type === 'BitLocker') return 'crypto';
  if (FILESYSTEMS.has(type)) return 'filesystem';
  return 'other';
}

/** `wipefs` argv that only lists the signatures of a device. */
export function wipefsListArgv(device: string): string[] {
  return ['wipefs', '--json', device];
}

/** Parses `wipefs --json` (empty output means no signature). */
export function parseWipefs(json: string): Signature[] {
  if (json.trim() === '') return [];
  const doc = JSON.parse(json) as { signatures?: { type?: string; offset?: string }[] };
  return (doc.signatures ?? []).map((s) => ({
    type: s.type ?? 'unknown',
    offset: s.offset ?? '',
    usage: signatureUsage(s.type ?? ''),
  }));
}
