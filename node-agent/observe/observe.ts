import type { Host } from '../host/host.js';
import type { AgentSpec } from '../agent-spec.js';
import { fullReportArgv } from '../lvm/commands.js';
import { parseFullReport } from '../lvm/report.js';
import {
  losetupListArgv,
  lsblkArgv,
  parseLosetup,
  parseLsblk,
  parseWipefs,
  wipefsListArgv,
} from './block-devices.js';
import type { Observed, ObservedDevice, ObservedLoopFile } from './observed.js';

/** Reads the VG, PV and LV state: one `lvm fullreport`. */
export async function observeLvm(host: Host, signal?: AbortSignal) {
  const { stdout } = await host.run(fullReportArgv(), { signal });
  return parseFullReport(stdout);
}

/**
 * Takes one snapshot of the node's storage for a spec: one LVM report, `lsblk`, `losetup`, the spec's
 * devices (canonical paths, stat, and `wipefs` signatures of devices not yet in our VG), loop backing
 * files, and the profile file. Read-only.
 */
export async function observe(host: Host, spec: AgentSpec, signal?: AbortSignal): Promise<Observed> {
  const [lvm, lsblk, losetup, profileContent] = await Promise.all([
    observeLvm(host, signal),
    host.run(lsblkArgv(), { signal }),
    host.run(losetupListArgv(), { signal }),
    host.readFile(spec.profilePath),
  ]);
  const blockDevices = parseLsblk(lsblk.stdout);
  const loopDevices = parseLosetup(losetup.stdout);
  const ourPvs = new Set(lvm.pvs.filter((p) => p.vgName === spec.vg).map((p) => p.name));

  const devices: ObservedDevice[] = [];
  if (spec.devices.length > 0) {
    const { stdout } = await host.run(['realpath', '--canonicalize-missing', '--', ...spec.devices], {
      signal,
    });
    const resolved = stdout.split('\n').filter((l) => l !== '');
    for (const [i, path] of spec.devices.entries()) {
      const canonical = resolved[i] ?? path;
      const stat = await host.stat(path);
      const device: ObservedDevice = { path, resolved: canonical, stat };
      if (stat.exists && stat.type === 'block-device' && !ourPvs.has(canonical)) {
        device.signatures = parseWipefs((await host.run(wipefsListArgv(canonical), { signal })).stdout);
      }
      devices.push(device);
    }
  }

  let loop: Observed['loop'];
  if (spec.loop) {
    const files: ObservedLoopFile[] = [];
    for (const [role, path] of [
      ['data', spec.loop.dataFile],
      ['metadata', spec.loop.metadataFile],
    ] as const) {
      const attached = loopDevices.find((d) => d.backingFile === path && !d.backingFileDeleted);
      files.push({ role, path, stat: await host.stat(path), device: attached?.name });
    }
    loop = { directory: await host.stat(spec.loop.directory), files };
    for (const file of files) {
      if (file.device && !ourPvs.has(file.device)) {
        file.signatures = parseWipefs((await host.run(wipefsListArgv(file.device), { signal })).stdout);
      }
    }
  }
  return { lvm, blockDevices, loopDevices, devices, loop, profileContent };
}
