import type { AgentSpec } from '../agent-spec.js';
import { ThinPoolEngine } from '../engine.js';
import type { Observed } from '../observe/observed.js';

/** A `thin-pool` target's status line (`dmsetup status <device>`), the kernel's own count of used blocks. */
export interface ThinPoolTargetStatus {
  usedMetadataBlocks: number;
  totalMetadataBlocks: number;
  usedDataBlocks: number;
  totalDataBlocks: number;
  /** `rw`, `ro` or `out_of_data_space`. */
  mode: string;
}

/**
 * Parses `dmsetup status` of a thin-pool target:
 * `0 <len> thin-pool <transaction> <used>/<total meta> <used>/<total data> <held root> <mode> ...`.
 * Returns `undefined` for anything else (a failed pool prints `Fail`, another target another line).
 */
export function parseThinPoolStatus(stdout: string): ThinPoolTargetStatus | undefined {
  const fields = stdout.trim().split(/\s+/);
  if (fields[2] !== 'thin-pool' || fields.length < 8) return undefined;
  const fraction = (text: string | undefined) => {
    const match = /^(\d+)\/(\d+)$/.exec(text ?? '');
    return match ? [Number(match[1]), Number(match[2])] : undefined;
  };
  const metadata = fraction(fields[4]);
  const data = fraction(fields[5]);
  if (!metadata || !data || metadata[1] === 0 || data[1] === 0) return undefined;
  return {
    usedMetadataBlocks: metadata[0]!,
    totalMetadataBlocks: metadata[1]!,
    usedDataBlocks: data[0]!,
    totalDataBlocks: data[1]!,
    mode: fields[7]!,
  };
}

/**
 * The last observation with the pool's data and metadata use replaced by the kernel's current numbers
 * (pure). Everything else a fill does not change (VG, PVs, devices, profile) stays as observed.
 */
export function withKernelUsage(spec: AgentSpec, observed: Observed, status: ThinPoolTargetStatus): Observed {
  const lvs = observed.lvm.lvs.map((lv) =>
    lv.vgName === spec.vg && lv.name === spec.pool && lv.segtype === 'thin-pool'
      ? {
          ...lv,
          dataPercent: (status.usedDataBlocks / status.totalDataBlocks) * 100,
          metadataPercent: (status.usedMetadataBlocks / status.totalMetadataBlocks) * 100,
        }
      : lv,
  );
  return { ...observed, lvm: { ...observed.lvm, lvs } };
}

/**
 * The engine, able to start one run from an observation the caller already has: after a device-mapper
 * event the agent primes it with its last observation and the kernel's current use, so the extension starts
 * after one `dmsetup status` instead of a full round of LVM reports (the extension itself, and everything
 * after it, is observed for real as usual). Belongs in the engine as an `apply(signal, { observed })` option.
 */
export class PrimedEngine extends ThinPoolEngine {
  private primed?: Observed;

  /** The next {@link observe} returns `observed` instead of observing. */
  prime(observed: Observed): void {
    this.primed = observed;
  }

  override async observe(signal?: AbortSignal): Promise<Observed> {
    const primed = this.primed;
    this.primed = undefined;
    return primed ?? super.observe(signal);
  }
}
