import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ThinPoolSpec } from '../../../api/v1alpha1/types.js';
import { toAgentSpec, type AgentSpec } from '../../../node-agent/agent-spec.js';
import type { FileStat } from '../../../node-agent/host/host.js';
import { parseFullReport } from '../../../node-agent/lvm/report.js';
import { parseLosetup, parseLsblk, parseWipefs } from '../../../node-agent/observe/block-devices.js';
import type { Observed, ObservedDevice } from '../../../node-agent/observe/observed.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/lvm');

/** Text of a fixture recorded from real LVM in the VM (see test/fixtures/lvm/README.md). */
export function fixture(name: string): string {
  return readFileSync(path.join(FIXTURES, name), 'utf8');
}

/** A defaulted ThinPool spec (the API's defaults), with overrides. */
export function thinPoolSpec(overrides: Partial<ThinPoolSpec> = {}): ThinPoolSpec {
  return {
    volumeGroup: 'docker',
    thinPoolName: 'thinpool',
    devices: [{ path: '/dev/vda' }],
    wipeSignatures: false,
    dataPercent: 95,
    metadataPercent: 1,
    chunkSize: '512Ki',
    zeroing: false,
    autoExtend: { thresholdPercent: 80, extendPercent: 20, metadata: true },
    runtime: { type: 'none', drain: { enabled: false, maxUnavailable: 1 } },
    mode: 'Apply',
    deletionPolicy: 'Retain',
    paused: false,
    ...overrides,
  };
}

/** The agent spec of {@link thinPoolSpec}. */
export function agentSpec(overrides: Partial<ThinPoolSpec> = {}): AgentSpec {
  return toAgentSpec('docker', thinPoolSpec(overrides));
}

export const BLOCK_DEVICE: FileStat = {
  exists: true,
  type: 'block-device',
  sizeBytes: 0,
  mode: 0o660,
  mtimeMs: 0,
};
export const MISSING: FileStat = { exists: false };

/** Builds an observation from recorded outputs: `lvm fullreport`, `lsblk`, `losetup`, and per-device wipefs. */
export function observedFrom(parts: {
  report: string;
  lsblk: string;
  losetup?: string;
  devices?: { path: string; resolved?: string; stat?: FileStat; wipefs?: string }[];
  profileContent?: string;
  loop?: Observed['loop'];
}): Observed {
  const devices: ObservedDevice[] = (parts.devices ?? []).map((d) => ({
    path: d.path,
    resolved: d.resolved ?? d.path,
    stat: d.stat ?? BLOCK_DEVICE,
    signatures: d.wipefs ? parseWipefs(fixture(d.wipefs)) : undefined,
  }));
  return {
    lvm: parseFullReport(fixture(parts.report)),
    blockDevices: parseLsblk(fixture(parts.lsblk)),
    loopDevices: parseLosetup(fixture(parts.losetup ?? 'losetup-none.json')),
    devices,
    loop: parts.loop,
    profileContent: parts.profileContent,
  };
}
