import type { AgentSpec } from '../agent-spec.js';
import type { Signature } from '../observe/block-devices.js';
import type { Observed, ObservedDevice } from '../observe/observed.js';

/** What the agent makes of one device. */
export type DeviceState = 'InUse' | 'Pending' | 'Refused' | 'Missing';

/** A device of the spec after the safety checks, with every reason it is refused. */
export interface DeviceVerdict {
  path: string;
  resolved: string;
  state: DeviceState;
  sizeBytes: number;
  /** Why the device is refused or missing (empty otherwise). */
  reasons: string[];
  /** Condition reason for the first problem (`DeviceHasFilesystem`, `DeviceMounted`, ...). */
  code?: string;
  /** Signatures `wipefs --all` removes before `pvcreate` (only with `wipeSignatures: true`). */
  wipe: Signature[];
  /** Already an orphan PV (created by an interrupted run): no `pvcreate` needed. */
  orphanPv: boolean;
}

const SYSTEM_MOUNTS = ['/', '/boot', '/boot/efi', '/usr', '/var'];

function signatureCode(signature: Signature): string {
  switch (signature.usage) {
    case 'filesystem':
      return 'DeviceHasFilesystem';
    case 'partition table':
      return 'DeviceHasPartitionTable';
    case 'raid':
      return 'DeviceIsRaidMember';
    case 'crypto':
      return 'DeviceIsEncrypted';
    default:
      return 'DeviceHasSignature';
  }
}

/**
 * Checks one device before anything touches it: it exists and is a block device, is not mounted, does not
 * hold a system filesystem, has no holders or partitions, is not a PV of another VG, and has no signature
 * (unless `wipeSignatures`). Pure.
 */
export function checkDevice(spec: AgentSpec, device: ObservedDevice, observed: Observed): DeviceVerdict {
  const verdict: DeviceVerdict = {
    path: device.path,
    resolved: device.resolved,
    state: 'Pending',
    sizeBytes: 0,
    reasons: [],
    wipe: [],
    orphanPv: false,
  };
  const refuse = (code: string, reason: string) => {
    verdict.state = 'Refused';
    verdict.code ??= code;
    verdict.reasons.push(reason);
  };
  if (!device.stat.exists) {
    verdict.state = 'Missing';
    verdict.code = 'DeviceMissing';
    verdict.reasons.push(`${device.path} does not exist`);
    return verdict;
  }
  if (device.stat.type !== 'block-device') {
    refuse('NotABlockDevice', `${device.path} is not a block device (it is a ${device.stat.type})`);
    return verdict;
  }
  const pv = observed.lvm.pvs.find((p) => p.name === device.resolved);
  const block = observed.blockDevices.byPath.get(device.resolved);
  verdict.sizeBytes = block?.sizeBytes ?? pv?.devSizeBytes ?? 0;
  if (pv && pv.vgName === spec.vg) {
    verdict.state = 'InUse';
    return verdict;
  }
  if (pv && pv.vgName !== '') {
    refuse('DeviceInOtherVolumeGroup', `${device.path} is a physical volume of volume group ${pv.vgName}`);
  }
  if (!block) {
    refuse('DeviceUnknown', `${device.path} (${device.resolved}) is not listed by lsblk`);
    return verdict;
  }
  const system = block.mountpointsBelow.filter((m) => SYSTEM_MOUNTS.includes(m));
  if (system.length > 0) {
    refuse('DeviceHoldsSystem', `${device.path} holds the system filesystem mounted at ${system.join(', ')}`);
  } else if (block.mountpointsBelow.length > 0) {
    refuse('DeviceMounted', `${device.path} is mounted at ${block.mountpointsBelow.join(', ')}`);
  }
  if (block.readOnly) refuse('DeviceReadOnly', `${device.path} is read-only`);
  if (block.children.length > 0) {
    refuse('DeviceInUse', `${device.path} has partitions or holders in use: ${block.children.join(', ')}`);
  }
  if (pv && pv.vgName === '') verdict.orphanPv = true;
  for (const signature of device.signatures ?? []) {
    if (signature.usage === 'lvm') {
      if (!pv) {
        refuse(
          'DeviceHasSignature',
          `${device.path} has an ${signature.type} signature that LVM does not report`,
        );
      }
      continue;
    }
    if (spec.wipeSignatures) verdict.wipe.push(signature);
    else {
      const what = signature.usage === 'other' ? 'signature' : `signature (${signature.usage})`;
      refuse(
        signatureCode(signature),
        `${device.path} has an ${signature.type} ${what} at offset ${signature.offset}`,
      );
    }
  }
  if (verdict.state === 'Refused') verdict.wipe = [];
  return verdict;
}
