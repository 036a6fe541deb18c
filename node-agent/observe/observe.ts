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

/** Hints for {@link observe} from an earlier observation. */
export interface ObserveHints {
  /** Spec device paths that were PVs of the spec's VG: their signatures are not read ahead. */
  knownPvs?: ReadonlySet<string>;
}

/**
 * Takes one snapshot of the node's storage for a spec: one LVM report, `lsblk`, `losetup` (loop mode), the spec's
 * devices (canonical paths, stat, and `wipefs` signatures of devices not yet in our VG), loop backing
 * files, and the profile file. Read-only.
 */
export async function observe(
  host: Host,
  spec: AgentSpec,
  signal?: AbortSignal,
  hints: ObserveHints = {},
): Promise<Observed> {
  const realpath =
    spec.devices.length > 0 ? ['realpath', '--canonicalize-missing', '--', ...spec.devices] : undefined;
  const probe = async (device: string) =>
    parseWipefs((await host.run(wipefsListArgv(device), { signal })).stdout);
  // Independent reads run together: on a slow host each command costs mostly its start-up. The
  // signatures of the spec's devices are read at the same time, before it is known which need them (not
  // our PVs, block devices), except for devices that were our PVs last time (the steady state).
  const [lvm, lsblk, losetup, profileContent, resolvedOut, stats, probes] = await Promise.all([
    observeLvm(host, signal),
    host.run(lsblkArgv(), { signal }),
    // Only loop mode looks at loop devices (free ones, and the files attached).
    spec.loop ? host.run(losetupListArgv(), { signal }) : undefined,
    host.readFile(spec.profilePath),
    realpath ? host.run(realpath, { signal }) : undefined,
    Promise.all(spec.devices.map((path) => host.stat(path))),
    Promise.all(
      spec.devices.map((path) =>
        hints.knownPvs?.has(path) ? undefined : probe(path).catch((e: unknown) => e),
      ),
    ),
  ]);
  const blockDevices = parseLsblk(lsblk.stdout);
  const loopDevices = losetup ? parseLosetup(losetup.stdout) : [];
  const ourPvs = new Set(lvm.pvs.filter((p) => p.vgName === spec.vg).map((p) => p.name));

  const resolved = (resolvedOut?.stdout ?? '').split('\n').filter((l) => l !== '');
  const devices: ObservedDevice[] = await Promise.all(
    spec.devices.map(async (path, i) => {
      const canonical = resolved[i] ?? path;
      const stat = stats[i]!;
      const device: ObservedDevice = { path, resolved: canonical, stat };
      if (stat.exists && stat.type === 'block-device' && !ourPvs.has(canonical)) {
        const early = probes[i];
        // A failed probe of an existing block device fails the observation, as any read does.
        if (early !== undefined && !Array.isArray(early)) throw early;
        device.signatures = early ?? (await probe(path));
      }
      return device;
    }),
  );

  let loop: Observed['loop'];
  if (spec.loop) {
    const roles = [
      ['data', spec.loop.dataFile],
      ['metadata', spec.loop.metadataFile],
    ] as const;
    const [directory, ...fileStats] = await Promise.all([
      host.stat(spec.loop.directory),
      ...roles.map(([, path]) => host.stat(path)),
    ]);
    const files: ObservedLoopFile[] = await Promise.all(
      roles.map(async ([role, path], i) => {
        const attached = loopDevices.find((d) => d.backingFile === path && !d.backingFileDeleted);
        const file: ObservedLoopFile = { role, path, stat: fileStats[i]!, device: attached?.name };
        if (file.device && !ourPvs.has(file.device)) file.signatures = await probe(file.device);
        return file;
      }),
    );
    loop = { directory: directory!, files };
  }
  return { lvm, blockDevices, loopDevices, devices, loop, profileContent };
}
