import type { ThinPoolSpec } from '../api/v1alpha1/types.js';
import { quantityToNumber } from '../api/quantity.js';

/** Where the agent keeps LVM profiles (LVM's default `config/profile_dir`). */
export const PROFILE_DIR = '/etc/lvm/profile';

/** The spec as the engine uses it: names checked, quantities in bytes, derived names and paths. */
export interface AgentSpec {
  /** Name of the ThinPool (for messages and the profile comment). */
  thinPool: string;
  vg: string;
  pool: string;
  /** Name of the metadata LV before conversion (`<pool>meta`, as in the Docker docs). */
  metadataLv: string;
  /** `<vg>-<pool>`: the LVM profile name. */
  profileName: string;
  profilePath: string;
  mode: 'direct' | 'loop';
  devices: string[];
  loop?: {
    directory: string;
    dataFile: string;
    metadataFile: string;
    dataBytes: number;
    metadataBytes: number;
  };
  wipeSignatures: boolean;
  dataPercent: number;
  metadataPercent: number;
  chunkBytes: number;
  zeroing: boolean;
  autoExtend: { thresholdPercent: number; extendPercent: number; maxDataBytes?: number; metadata: boolean };
  deletionPolicy: 'Retain' | 'Delete';
  planOnly: boolean;
  paused: boolean;
}

/** A spec the agent cannot act on, with every reason. */
export class SpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid ThinPool spec: ${problems.join('; ')}`);
    this.name = 'SpecError';
  }
}

const LVM_NAME = /^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$/;
const RESERVED_LV_PARTS = [
  '_cdata',
  '_cmeta',
  '_corig',
  '_mimage',
  '_mlog',
  '_pmspare',
  '_rimage',
  '_rmeta',
  '_tdata',
  '_tmeta',
  '_vorigin',
  '_vdata',
];
/** LVM's default extent size. */
const EXTENT = 4 * 1024 * 1024;
const SAFE_PATH = /^\/[A-Za-z0-9._:+@=,/-]+$/;

/** Problems of an LVM VG or LV name (LVM's own rules), empty when it is fine. */
export function lvmNameProblems(what: string, name: string): string[] {
  if (!name) return [`${what} is empty`];
  if (name.length > 127) return [`${what} ${JSON.stringify(name)} is longer than 127 characters`];
  if (!LVM_NAME.test(name) || name === '.' || name === '..') {
    return [`${what} ${JSON.stringify(name)} may only contain A-Z a-z 0-9 + _ . - and must not start with -`];
  }
  if (name.startsWith('snapshot') || name.startsWith('pvmove'))
    return [`${what} ${JSON.stringify(name)} uses a prefix LVM reserves`];
  const reserved = RESERVED_LV_PARTS.find((part) => name.includes(part));
  return reserved ? [`${what} ${JSON.stringify(name)} contains ${reserved}, which LVM reserves`] : [];
}

/** Problems of an absolute host path taken from a spec, empty when it is fine. */
export function hostPathProblems(what: string, path: string, under?: string): string[] {
  if (!SAFE_PATH.test(path))
    return [`${what} ${JSON.stringify(path)} must be an absolute path of safe characters`];
  const parts = path.split('/').slice(1);
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    return [`${what} ${JSON.stringify(path)} must be normalised (no empty, . or .. components)`];
  }
  if (under && !path.startsWith(`${under}/`))
    return [`${what} ${JSON.stringify(path)} must be under ${under}/`];
  return [];
}

/** Checks a defaulted ThinPool spec and derives the {@link AgentSpec}; throws {@link SpecError}. */
export function toAgentSpec(thinPool: string, spec: ThinPoolSpec): AgentSpec {
  const problems: string[] = [];
  problems.push(...lvmNameProblems('volumeGroup', spec.volumeGroup));
  problems.push(...lvmNameProblems('thinPoolName', spec.thinPoolName));
  const devices = spec.devices?.map((d) => d.path) ?? [];
  if (spec.devices && spec.loop) problems.push('devices and loop are mutually exclusive');
  if (!spec.loop && devices.length === 0) problems.push('one of devices (non-empty) and loop is required');
  devices.forEach((d, i) => problems.push(...hostPathProblems(`devices[${i}].path`, d, '/dev')));
  if (new Set(devices).size !== devices.length) problems.push('devices lists a path twice');
  const size = (field: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    try {
      return quantityToNumber(value);
    } catch (err) {
      problems.push(`${field}: ${(err as Error).message}`);
      return undefined;
    }
  };
  let loop: AgentSpec['loop'];
  if (spec.loop) {
    const dir = spec.loop.directory;
    problems.push(...hostPathProblems('loop.directory', dir));
    if (['/dev', '/proc', '/sys', '/run'].some((p) => dir === p || dir.startsWith(`${p}/`)) || dir === '/') {
      problems.push(
        `loop.directory ${JSON.stringify(dir)} must be a directory for files, not a system directory`,
      );
    }
    const dataBytes = size('loop.dataSize', spec.loop.dataSize) ?? 0;
    const metadataBytes = size('loop.metadataSize', spec.loop.metadataSize) ?? 0;
    if (dataBytes < 64 * 1024 * 1024) problems.push('loop.dataSize must be at least 64Mi');
    if (metadataBytes < 8 * 1024 * 1024) problems.push('loop.metadataSize must be at least 8Mi');
    // LVM sizes the metadata LV as metadataPercent of the VG in whole extents (each PV loses about one).
    if ((dataBytes + metadataBytes - 2 * EXTENT) * spec.metadataPercent < 100 * EXTENT) {
      problems.push(
        `loop.dataSize + loop.metadataSize is too small: ${spec.metadataPercent}% of it must hold one 4Mi extent of metadata`,
      );
    }
    const base = `${spec.volumeGroup}-${spec.thinPoolName}`;
    loop = {
      directory: dir,
      dataFile: `${dir}/${base}-data.img`,
      metadataFile: `${dir}/${base}-metadata.img`,
      dataBytes,
      metadataBytes,
    };
  }
  const chunkBytes = size('chunkSize', spec.chunkSize) ?? 0;
  if (chunkBytes < 64 * 1024 || chunkBytes > 1024 ** 3 || chunkBytes % (64 * 1024) !== 0) {
    problems.push(
      `chunkSize ${JSON.stringify(spec.chunkSize)} must be a multiple of 64Ki between 64Ki and 1Gi`,
    );
  }
  const percent = (field: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max)
      problems.push(`${field} must be an integer ${min}..${max}`);
  };
  percent('dataPercent', spec.dataPercent, 1, 99);
  percent('metadataPercent', spec.metadataPercent, 1, 50);
  if (spec.dataPercent + 2 * spec.metadataPercent > 100) {
    problems.push('dataPercent + 2 x metadataPercent (metadata and its spare) must not exceed 100');
  }
  percent('autoExtend.thresholdPercent', spec.autoExtend.thresholdPercent, 50, 100);
  percent('autoExtend.extendPercent', spec.autoExtend.extendPercent, 1, 100);
  const maxDataBytes = size('autoExtend.maxDataSize', spec.autoExtend.maxDataSize);
  if (problems.length > 0) throw new SpecError(problems);
  const profileName = `${spec.volumeGroup}-${spec.thinPoolName}`;
  return {
    thinPool,
    vg: spec.volumeGroup,
    pool: spec.thinPoolName,
    metadataLv: `${spec.thinPoolName}meta`,
    profileName,
    profilePath: `${PROFILE_DIR}/${profileName}.profile`,
    mode: spec.loop ? 'loop' : 'direct',
    devices,
    loop,
    wipeSignatures: spec.wipeSignatures,
    dataPercent: spec.dataPercent,
    metadataPercent: spec.metadataPercent,
    chunkBytes,
    zeroing: spec.zeroing,
    autoExtend: {
      thresholdPercent: spec.autoExtend.thresholdPercent,
      extendPercent: spec.autoExtend.extendPercent,
      maxDataBytes,
      metadata: spec.autoExtend.metadata,
    },
    deletionPolicy: spec.deletionPolicy,
    planOnly: spec.mode === 'Plan',
    paused: spec.paused,
  };
}
